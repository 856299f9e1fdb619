/*
 * npy.c - NumPy .npy files of binary32.
 *
 * Format (numpy.lib.format, NEP 1): the magic "\x93NUMPY", a major and minor
 * version byte, a little-endian header length (2 bytes in version 1, 4 in
 * versions 2 and 3), then an ASCII Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (4, 768), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple
 * of 64 bytes, then the raw data.  We write version 1.0; we read 1, 2 and 3.
 * Data bytes are converted explicitly from/to little-endian, so the code is
 * right on any host.
 */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

static const char npy_magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

/* Largest header we accept when reading: numpy itself refuses headers over
 * 10000 bytes by default; a binary32 array's header is under 200. */
#define NPY_MAX_HEADER 65536

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int ln_npy_write(FILE *f, const float *data, size_t rows, size_t dim,
                 size_t stride, int ndim)
{
    char dict[160];
    int n;
    if (ndim == 1)
        n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }",
                     dim);
    else
        n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                     rows, dim);
    if (n < 0 || (size_t)n >= sizeof dict) {
        errno = EINVAL;
        return -1;
    }
    /* 10 bytes of preamble + dict + padding + '\n' = multiple of 64. */
    size_t total = 10 + (size_t)n + 1;
    size_t hlen = (size_t)n + 1 + (64 - total % 64) % 64;
    unsigned char pre[10];
    memcpy(pre, npy_magic, 6);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)hlen;
    pre[9] = (unsigned char)(hlen >> 8);
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n)
        return -1;
    for (size_t i = (size_t)n; i + 1 < hlen; i++)
        if (fputc(' ', f) == EOF)
            return -1;
    if (fputc('\n', f) == EOF)
        return -1;

    size_t nrows = ndim == 1 ? 1 : rows;
    unsigned char buf[4096];
    size_t fill = 0;
    for (size_t i = 0; i < nrows; i++) {
        const float *row = data + i * stride;
        for (size_t j = 0; j < dim; j++) {
            uint32_t bits;
            memcpy(&bits, &row[j], 4);
            put_le32(buf + fill, bits);
            fill += 4;
            if (fill == sizeof buf) {
                if (fwrite(buf, 1, fill, f) != fill)
                    return -1;
                fill = 0;
            }
        }
    }
    if (fill && fwrite(buf, 1, fill, f) != fill)
        return -1;
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Reading: a small parser for the header's Python dict literal.            */
/* ------------------------------------------------------------------------ */

typedef struct hdr_parser {
    const char *p, *end;
} hdr_parser;

static void skip_ws(hdr_parser *h)
{
    while (h->p < h->end &&
           (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int accept(hdr_parser *h, char c)
{
    skip_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "..."), no escapes (none occur in a dtype or a
 * key).  Copies up to cap-1 bytes into out. */
static int parse_str(hdr_parser *h, char *out, size_t cap)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return -1;
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\')
            return -1;
        if (n + 1 < cap)
            out[n++] = *h->p;
        h->p++;
    }
    if (h->p >= h->end)
        return -1;
    h->p++;
    out[n] = '\0';
    return 0;
}

static int parse_word(hdr_parser *h, const char *w)
{
    skip_ws(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) >= n && memcmp(h->p, w, n) == 0) {
        h->p += n;
        return 0;
    }
    return -1;
}

/* A nonnegative integer (Python 2 files may write "3L"); 1 on overflow. */
static int parse_dim(hdr_parser *h, uint64_t *v, int *overflow)
{
    skip_ws(h);
    if (h->p >= h->end || *h->p < '0' || *h->p > '9')
        return -1;
    uint64_t x = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        unsigned d = (unsigned)(*h->p - '0');
        if (x > (UINT64_MAX - d) / 10)
            *overflow = 1;
        else
            x = x * 10 + d;
        h->p++;
    }
    if (h->p < h->end && *h->p == 'L')
        h->p++;
    *v = x;
    return 0;
}

static int err_out(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A human name for common dtypes users are likely to hand us by mistake. */
static const char *dtype_name(const char *d)
{
    static const struct { const char *code, *name; } names[] = {
        { "<f8", "float64" }, { "<f2", "float16" }, { ">f4", "big-endian float32" },
        { ">f8", "big-endian float64" }, { "<i4", "int32" }, { "<i8", "int64" },
        { "|u1", "uint8" }, { "|i1", "int8" }, { "<u2", "uint16" },
        { "|b1", "bool" }, { "<c8", "complex64" }, { "<f16", "float128" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(d, names[i].code) == 0)
            return names[i].name;
    return NULL;
}

/* The element types ln_npy_read_typed takes: the descr, its size, what
 * the values are, and how to make such a file. */
static const struct {
    const char *descr;
    size_t size;
    const char *what, *hint;
} npy_types[] = {
    [LN_NPY_F32] = {"<f4", 4, "binary32", "x.astype('<f4')"},
    [LN_NPY_F16] = {"<f2", 2, "fp16", "x.astype('<f2')"},
    [LN_NPY_BF16_BITS] = {"<u2", 2, "bfloat16 bit patterns",
                          "x.view(numpy.uint16) of an ml_dtypes.bfloat16 array"},
};

/* binary16 bits -> binary32, exactly (subnormals included). */
static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    float f;
    if (exp == 0x1f)
        u = sign | 0x7f800000u | (man << 13);
    else if (exp == 0) {
        f = (float)man * 0x1p-24f; /* man 2^-24: exact */
        return sign ? -f : f;
    } else
        u = sign | ((exp + 112u) << 23) | (man << 13);
    memcpy(&f, &u, 4);
    return f;
}

/* fopen(path, "rb") that cannot hang: O_NONBLOCK makes opening a FIFO
 * return at once (a plain open waits for a writer), then anything but a
 * regular file is refused before the first read. */
static FILE *open_regular(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        err_out(err, errlen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err_out(err, errlen, "not a regular file");
        close(fd);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        err_out(err, errlen, "cannot open: %s", strerror(errno));
        close(fd);
    }
    return f;
}

int ln_npy_read(const char *path, float **data, size_t *rows, size_t *dim,
                int *ndim, char *err, size_t errlen)
{
    return ln_npy_read_typed(path, LN_NPY_F32, data, rows, dim, ndim, err, errlen);
}

int ln_npy_read_typed(const char *path, ln_npy_type type, float **data, size_t *rows,
                      size_t *dim, int *ndim, char *err, size_t errlen)
{
    *data = NULL;
    FILE *f = open_regular(path, err, errlen);
    if (!f)
        return -1;

    char *hdr = NULL;
    float *out = NULL;
    int rc = -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        err_out(err, errlen, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        err_out(err, errlen, "not a regular file");
        goto done;
    }

    unsigned char pre[12];
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, npy_magic, 6) != 0) {
        err_out(err, errlen, "not a .npy file (no \\x93NUMPY magic)");
        goto done;
    }
    int major = pre[6], minor = pre[7];
    size_t prelen, hlen;
    if (major == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) {
            err_out(err, errlen, "bad .npy header: file ends inside the preamble");
            goto done;
        }
        prelen = 10;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 8, 1, 4, f) != 4) {
            err_out(err, errlen, "bad .npy header: file ends inside the preamble");
            goto done;
        }
        prelen = 12;
        hlen = get_le32(pre + 8);
    } else {
        err_out(err, errlen, "unsupported .npy format version %d.%d (know 1, 2, 3)",
                major, minor);
        goto done;
    }
    if (hlen > NPY_MAX_HEADER || (uint64_t)(prelen + hlen) > (uint64_t)st.st_size) {
        err_out(err, errlen, "bad .npy header: header length %zu does not fit the file",
                hlen);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        err_out(err, errlen, "out of memory");
        goto done;
    }
    if (fread(hdr, 1, hlen, f) != hlen) {
        err_out(err, errlen, "bad .npy header: cannot read it");
        goto done;
    }
    hdr[hlen] = '\0';

    /* Parse {'descr': ..., 'fortran_order': ..., 'shape': (...), } in any
     * key order; every key exactly once, no others (numpy is as strict). */
    hdr_parser h = { hdr, hdr + hlen };
    char descr[32] = "", key[32];
    int have_descr = 0, have_fo = 0, have_shape = 0, fortran = 0;
    int nd = 0, overflow = 0;
    uint64_t shape[3] = { 0, 0, 0 };
    if (!accept(&h, '{')) {
        err_out(err, errlen, "bad .npy header: not a dict");
        goto done;
    }
    while (!accept(&h, '}')) {
        if (parse_str(&h, key, sizeof key) != 0 || !accept(&h, ':')) {
            err_out(err, errlen, "bad .npy header: cannot parse the dict");
            goto done;
        }
        if (strcmp(key, "descr") == 0 && !have_descr) {
            have_descr = 1;
            skip_ws(&h);
            if (h.p < h.end && *h.p == '[') {
                err_out(err, errlen, "dtype is a structured type, need '%s' (%s)",
                        npy_types[type].descr, npy_types[type].what);
                goto done;
            }
            if (parse_str(&h, descr, sizeof descr) != 0) {
                err_out(err, errlen, "bad .npy header: cannot parse 'descr'");
                goto done;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
            have_fo = 1;
            if (parse_word(&h, "True") == 0)
                fortran = 1;
            else if (parse_word(&h, "False") != 0) {
                err_out(err, errlen, "bad .npy header: cannot parse 'fortran_order'");
                goto done;
            }
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            have_shape = 1;
            if (!accept(&h, '(')) {
                err_out(err, errlen, "bad .npy header: cannot parse 'shape'");
                goto done;
            }
            while (!accept(&h, ')')) {
                uint64_t v;
                if (parse_dim(&h, &v, &overflow) != 0) {
                    err_out(err, errlen, "bad .npy header: cannot parse 'shape'");
                    goto done;
                }
                if (nd < 3)
                    shape[nd] = v;
                nd++;
                if (!accept(&h, ',')) {
                    if (!accept(&h, ')')) {
                        err_out(err, errlen, "bad .npy header: cannot parse 'shape'");
                        goto done;
                    }
                    break;
                }
            }
        } else {
            err_out(err, errlen, "bad .npy header: unexpected or repeated key '%s'", key);
            goto done;
        }
        if (!accept(&h, ',')) {
            if (!accept(&h, '}')) {
                err_out(err, errlen, "bad .npy header: cannot parse the dict");
                goto done;
            }
            break;
        }
    }
    skip_ws(&h);
    if (h.p != h.end) {
        err_out(err, errlen, "bad .npy header: junk after the dict");
        goto done;
    }
    if (!have_descr || !have_fo || !have_shape) {
        err_out(err, errlen, "bad .npy header: missing '%s'",
                !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
        goto done;
    }
    if (strcmp(descr, npy_types[type].descr) != 0) {
        const char *nm = dtype_name(descr);
        err_out(err, errlen, "dtype is '%s'%s%s%s, need '%s' (%s, e.g. %s)", descr,
                nm ? " (" : "", nm ? nm : "", nm ? ")" : "", npy_types[type].descr,
                npy_types[type].what, npy_types[type].hint);
        goto done;
    }
    if (fortran) {
        err_out(err, errlen, "Fortran order is not supported (save a C-order "
                "array, e.g. numpy.ascontiguousarray(x))");
        goto done;
    }
    if (nd < 1 || nd > 2) {
        err_out(err, errlen, "array is %d-d, need 1 (dim) or 2 (rows x dim) dimensions",
                nd);
        goto done;
    }
    uint64_t r = nd == 2 ? shape[0] : 1, c = nd == 2 ? shape[1] : shape[0];
    if (overflow || (c != 0 && r > UINT64_MAX / c) ||
        r * c > (uint64_t)SIZE_MAX / 4 || r * c > UINT64_MAX / 4) {
        err_out(err, errlen, "bad .npy header: shape overflows");
        goto done;
    }
    if (r == 0 || c == 0) {
        err_out(err, errlen, "array is empty (shape has a 0)");
        goto done;
    }
    size_t es = npy_types[type].size;
    uint64_t want = r * c * es;
    uint64_t have = (uint64_t)st.st_size - prelen - hlen;
    if (have < want) {
        err_out(err, errlen, "file is truncated: header promises %llu bytes of "
                "data, file has %llu", (unsigned long long)want,
                (unsigned long long)have);
        goto done;
    }
    if (have > want) {
        err_out(err, errlen, "file has %llu bytes after the data the header "
                "describes", (unsigned long long)(have - want));
        goto done;
    }
    out = malloc((size_t)(r * c) * sizeof *out); /* >= want: es <= 4 */
    if (!out) {
        err_out(err, errlen, "out of memory for %llu bytes", (unsigned long long)want);
        goto done;
    }
    if (fread(out, 1, (size_t)want, f) != (size_t)want) {
        err_out(err, errlen, "read error: %s", ferror(f) ? strerror(errno) : "short read");
        goto done;
    }
    /* Bytes are little-endian in the file; convert in place (2-byte
     * elements from the end, so each is read before it is overwritten). */
    unsigned char *b = (unsigned char *)out;
    if (es == 4) {
        for (size_t i = 0; i < (size_t)(r * c); i++) {
            uint32_t bits = get_le32(b + 4 * i);
            memcpy(&out[i], &bits, 4);
        }
    } else {
        for (size_t i = (size_t)(r * c); i-- > 0;) {
            uint16_t e16 = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            if (type == LN_NPY_F16)
                out[i] = f16_to_f32(e16);
            else {
                uint32_t bits = (uint32_t)e16 << 16; /* bfloat16: binary32's top half */
                memcpy(&out[i], &bits, 4);
            }
        }
    }
    *data = out;
    out = NULL;
    *rows = (size_t)r;
    *dim = (size_t)c;
    *ndim = nd;
    rc = 0;
done:
    free(out);
    free(hdr);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The shape alone, from the header (callers check memory before reading).  */
/* ------------------------------------------------------------------------ */

/* Skips one value of the header dict: a string, a word or a tuple. */
static int skip_value(hdr_parser *h)
{
    char tmp[64];
    skip_ws(h);
    if (h->p < h->end && (*h->p == '\'' || *h->p == '"'))
        return parse_str(h, tmp, sizeof tmp);
    int depth = 0;
    while (h->p < h->end) {
        char c = *h->p;
        if ((c == ',' || c == '}') && depth == 0)
            return 0;
        if (c == '(' || c == '[')
            depth++;
        else if (c == ')' || c == ']')
            depth--;
        h->p++;
    }
    return -1;
}

int ln_npy_peek_shape(const char *path, uint64_t *rows, uint64_t *dim, int *ndim, char *err,
                      size_t errlen)
{
    FILE *f = open_regular(path, err, errlen);
    if (!f)
        return -1;
    int rc = -1;
    char *hdr = NULL;
    unsigned char pre[12];
    size_t hlen = 0;
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, npy_magic, 6) != 0) {
        err_out(err, errlen, "not a .npy file (no \\x93NUMPY magic)");
        goto done;
    }
    if (pre[6] == 1 && fread(pre + 8, 1, 2, f) == 2)
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    else if ((pre[6] == 2 || pre[6] == 3) && fread(pre + 8, 1, 4, f) == 4)
        hlen = get_le32(pre + 8);
    if (hlen == 0 || hlen > NPY_MAX_HEADER || !(hdr = malloc(hlen)) ||
        fread(hdr, 1, hlen, f) != hlen) {
        err_out(err, errlen, "bad .npy header");
        goto done;
    }
    hdr_parser h = { hdr, hdr + hlen };
    char key[32];
    int overflow = 0;
    uint64_t shape[2] = { 0, 0 };
    *ndim = -1;
    if (!accept(&h, '{'))
        goto bad;
    while (!accept(&h, '}')) {
        if (parse_str(&h, key, sizeof key) != 0 || !accept(&h, ':'))
            goto bad;
        if (strcmp(key, "shape") == 0) {
            if (!accept(&h, '('))
                goto bad;
            int nd = 0;
            while (!accept(&h, ')')) {
                uint64_t v;
                if (parse_dim(&h, &v, &overflow) != 0)
                    goto bad;
                if (nd < 2)
                    shape[nd] = v;
                nd++;
                if (!accept(&h, ',')) {
                    if (!accept(&h, ')'))
                        goto bad;
                    break;
                }
            }
            *ndim = nd;
        } else if (skip_value(&h) != 0) {
            goto bad;
        }
        if (!accept(&h, ',')) {
            if (!accept(&h, '}'))
                goto bad;
            break;
        }
    }
    if (*ndim < 0 || overflow)
        goto bad;
    *rows = *ndim == 2 ? shape[0] : 1;
    *dim = *ndim == 2 ? shape[1] : shape[0];
    rc = 0;
    goto done;
bad:
    err_out(err, errlen, "bad .npy header: cannot read its shape");
done:
    free(hdr);
    fclose(f);
    return rc;
}
