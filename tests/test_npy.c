/*
 * test_npy.c - .npy round trips and one clear error per malformed file.
 * Crafted files go to a fresh mkdtemp directory that is removed at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "npy.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char names[64][128];
static int nnames;

static const char *path_for(const char *name)
{
    snprintf(names[nnames], sizeof names[0], "%s/%s", dir, name);
    return names[nnames++];
}

/* Writes a file with a v1 (or v2) preamble, the given header text (padded
 * to a 64-byte boundary with a final '\n' unless raw) and nbytes of data. */
static const char *craft(const char *name, int major, const char *dict,
                         size_t nbytes, int pad)
{
    const char *p = path_for(name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(1);
    }
    size_t pre = major == 1 ? 10 : 12, n = strlen(dict);
    size_t hlen = n;
    if (pad)
        hlen = n + 1 + (64 - (pre + n + 1) % 64) % 64;
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    fputc((int)(hlen & 0xff), f);
    fputc((int)((hlen >> 8) & 0xff), f);
    if (major != 1) {
        fputc(0, f);
        fputc(0, f);
    }
    fwrite(dict, 1, n, f);
    if (pad) {
        for (size_t i = n; i + 1 < hlen; i++)
            fputc(' ', f);
        fputc('\n', f);
    }
    for (size_t i = 0; i < nbytes; i++)
        fputc(0, f);
    fclose(f);
    return p;
}

/* Reads path, expects failure with `needle` in the message. */
static void expect_error(const char *path, const char *needle)
{
    float *d = (float *)1;
    size_t r = 0, c = 0;
    int nd = 0;
    char err[256] = "";
    int rc = ln_npy_read(path, &d, &r, &c, &nd, err, sizeof err);
    CHECK(rc == -1, "%s: read succeeded", path);
    CHECK(d == NULL, "%s: data not NULL on error", path);
    CHECK(strstr(err, needle) != NULL, "%s: error '%s' lacks '%s'", path, err, needle);
    CHECK(strchr(err, '\n') == NULL, "%s: error has a newline", path);
    if (rc == 0)
        free(d);
}

static void test_round_trip(void)
{
    enum { R = 5, D = 7, S = 9 };
    float x[R * S];
    for (int i = 0; i < R * S; i++)
        x[i] = (float)i * 0.37f - 3.0f;
    x[3] = -0.0f;
    x[4] = 1e-45f;           /* subnormal */
    x[5] = INFINITY;         /* files can hold anything; readers keep bits */
    x[6] = 3.4028235e38f;
    const char *p2 = path_for("rt2.npy"), *p1 = path_for("rt1.npy");
    FILE *f = fopen(p2, "wb");
    CHECK(ln_npy_write(f, x, R, D, S, 2) == 0, "write 2-d");
    long size2 = ftell(f);
    fclose(f);
    f = fopen(p1, "wb");
    CHECK(ln_npy_write(f, x + S, 1, D, D, 1) == 0, "write 1-d");
    long size1 = ftell(f);
    fclose(f);
    /* The data start (file size minus data) is a multiple of 64. */
    CHECK((size2 - R * D * 4) % 64 == 0, "2-d header size %ld", size2 - R * D * 4);
    CHECK((size1 - D * 4) % 64 == 0, "1-d header size %ld", size1 - D * 4);

    float *d;
    size_t r, c;
    int nd;
    char err[256];
    CHECK(ln_npy_read(p2, &d, &r, &c, &nd, err, sizeof err) == 0, "read 2-d: %s", err);
    CHECK(r == R && c == D && nd == 2, "shape %zu x %zu nd %d", r, c, nd);
    for (int i = 0; i < R; i++)
        CHECK(memcmp(d + i * D, x + i * S, D * 4) == 0, "row %d differs", i);
    free(d);
    CHECK(ln_npy_read(p1, &d, &r, &c, &nd, err, sizeof err) == 0, "read 1-d: %s", err);
    CHECK(r == 1 && c == D && nd == 1, "shape %zu x %zu nd %d", r, c, nd);
    CHECK(memcmp(d, x + S, D * 4) == 0, "1-d data differs");
    free(d);

    /* Header text as numpy writes it. */
    f = fopen(p2, "rb");
    char hdr[128] = "";
    CHECK(fread(hdr, 1, 127, f) == 127, "short header");
    fclose(f);
    CHECK(memcmp(hdr, "\x93NUMPY\x01\x00", 8) == 0, "magic/version");
    CHECK(strstr(hdr + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 7), }")
          == hdr + 10, "dict text");
    f = fopen(p1, "rb");
    CHECK(fread(hdr, 1, 127, f) == 127, "short header");
    fclose(f);
    CHECK(strstr(hdr + 10, "'shape': (7,)") != NULL, "1-d shape text");

    /* Other spellings numpy accepts: version 2, key order, double quotes,
     * Python-2 long suffix, no trailing comma. */
    const char *v2 = craft("v2.npy", 2,
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                           24, 1);
    CHECK(ln_npy_read(v2, &d, &r, &c, &nd, err, sizeof err) == 0, "v2: %s", err);
    if (d) free(d);
    const char *odd = craft("odd.npy", 1,
                            "{\"shape\": (2L, 3L), 'fortran_order':False,'descr':'<f4'}",
                            24, 1);
    CHECK(ln_npy_read(odd, &d, &r, &c, &nd, err, sizeof err) == 0, "odd: %s", err);
    CHECK(r == 2 && c == 3 && nd == 2, "odd shape");
    if (d) free(d);
}

static void test_errors(void)
{
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    FILE *f;

    /* Not .npy at all / empty file / nonexistent. */
    const char *txt = path_for("text.npy");
    f = fopen(txt, "w");
    fputs("hello, world\n", f);
    fclose(f);
    expect_error(txt, "not a .npy file");
    const char *empty = path_for("empty.npy");
    fclose(fopen(empty, "w"));
    expect_error(empty, "not a .npy file");
    expect_error(path_for("missing.npy"), "cannot open");
    expect_error(dir, "not a regular file");

    expect_error(craft("v9.npy", 9, good, 24, 1), "unsupported .npy format version 9");
    expect_error(craft("f8.npy", 1,
                       "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                       48, 1), "dtype is '<f8' (float64), need '<f4' (binary32");
    expect_error(craft("be.npy", 1,
                       "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                       24, 1), "dtype is '>f4'");
    expect_error(craft("i4.npy", 1,
                       "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
                       24, 1), "binary32");
    expect_error(craft("rec.npy", 1,
                       "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
                       8, 1), "structured");
    expect_error(craft("fo.npy", 1,
                       "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                       24, 1), "Fortran order");
    expect_error(craft("d0.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                       4, 1), "0-d");
    expect_error(craft("d3.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }",
                       96, 1), "3-d");
    expect_error(craft("zero.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }",
                       0, 1), "empty");
    expect_error(craft("trunc.npy", 1, good, 23, 1),
                 "truncated: header promises 24 bytes of data, file has 23");
    expect_error(craft("long.npy", 1, good, 28, 1), "4 bytes after the data");
    expect_error(craft("ovf.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, "
                       "'shape': (4294967296, 4294967296), }", 0, 1), "overflows");
    expect_error(craft("ovf2.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, "
                       "'shape': (99999999999999999999999, 1), }", 0, 1), "overflows");
    expect_error(craft("nodict.npy", 1, "['descr', '<f4']", 24, 1), "bad .npy header");
    expect_error(craft("junk.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x",
                       24, 1), "junk");
    expect_error(craft("noshape.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, }", 24, 1),
                 "missing 'shape'");
    expect_error(craft("extra.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
                       "'x': 1, }", 24, 1), "unexpected or repeated key 'x'");
    expect_error(craft("twice.npy", 1,
                       "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                       "'shape': (2, 3), }", 24, 1), "repeated key 'descr'");
    expect_error(craft("badfo.npy", 1,
                       "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }",
                       24, 1), "fortran_order");
    expect_error(craft("badshape.npy", 1,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
                       24, 1), "shape");
    expect_error(craft("unterminated.npy", 1,
                       "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }",
                       24, 1), "bad .npy header");
    /* A header length that runs past the end of the file. */
    const char *hl = path_for("hlen.npy");
    f = fopen(hl, "wb");
    fwrite("\x93NUMPY\x01\x00\xff\x7f{'descr'", 1, 18, f);
    fclose(f);
    expect_error(hl, "header length");
    const char *pre = path_for("pre.npy");
    f = fopen(pre, "wb");
    fwrite("\x93NUMPY\x01\x00\x40", 1, 9, f);
    fclose(f);
    expect_error(pre, "preamble");
}

/* '<f2' and '<u2' (bfloat16 bits) read as exact binary32 values, each only
 * as its own type: the descr decides, a mismatch is one line. */
static void test_typed(void)
{
    /* fp16: 1, -2, 65504, the least subnormal 2^-24, -0, inf, 0x3555 =
     * 0.333251953125; bfloat16: 1, -2^-133 (least subnormal), 3.140625 */
    static const unsigned char f2[14] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00,
                                         0x00, 0x80, 0x00, 0x7c, 0x55, 0x35};
    static const float f2_want[7] = {1, -2, 65504, 0x1p-24f, -0.0f, INFINITY, 0.333251953125f};
    static const unsigned char u2[6] = {0x80, 0x3f, 0x01, 0x80, 0x49, 0x40};
    static const float u2_want[3] = {1, -0x1p-133f, 3.140625f};
    const char *pf = craft("f2.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (7,), }",
                           0, 1);
    const char *pu = craft("u2.npy", 1,
                           "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 3), }", 0, 1);
    FILE *f = fopen(pf, "ab");
    fwrite(f2, 1, sizeof f2, f);
    fclose(f);
    f = fopen(pu, "ab");
    fwrite(u2, 1, sizeof u2, f);
    fclose(f);
    float *d = NULL;
    size_t r = 0, c = 0;
    int nd = 0;
    char err[256] = "";
    if (ln_npy_read_typed(pf, LN_NPY_F16, &d, &r, &c, &nd, err, sizeof err) == 0) {
        CHECK(r == 1 && c == 7 && nd == 1, "f2 shape %zu x %zu", r, c);
        for (int i = 0; i < 7; i++)
            CHECK(d[i] == f2_want[i] && !signbit(d[i]) == !signbit(f2_want[i]),
                  "f2[%d] = %a, want %a", i, d[i], f2_want[i]);
        free(d);
    } else {
        CHECK_FAIL("f2 read: %s", err);
    }
    if (ln_npy_read_typed(pu, LN_NPY_BF16_BITS, &d, &r, &c, &nd, err, sizeof err) == 0) {
        CHECK(r == 1 && c == 3 && nd == 2, "u2 shape %zu x %zu", r, c);
        for (int i = 0; i < 3; i++)
            CHECK(d[i] == u2_want[i], "u2[%d] = %a, want %a", i, d[i], u2_want[i]);
        free(d);
    } else {
        CHECK_FAIL("u2 read: %s", err);
    }
    CHECK(ln_npy_read_typed(pf, LN_NPY_BF16_BITS, &d, &r, &c, &nd, err, sizeof err) == -1 &&
              strstr(err, "need '<u2'") && d == NULL,
          "f2 read as bfloat16 bits: %s", err);
    CHECK(ln_npy_read_typed(pu, LN_NPY_F16, &d, &r, &c, &nd, err, sizeof err) == -1 &&
              strstr(err, "need '<f2'"),
          "u2 read as fp16: %s", err);
    expect_error(pf, "need '<f4'");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lnbench-npy-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_errors();
    test_typed();
    for (int i = 0; i < nnames; i++)
        unlink(names[i]);
    rmdir(dir);
    return CHECK_DONE("test_npy");
}
