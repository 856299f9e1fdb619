/*
 * test_inputs.c - the input generators: determinism, independence of
 * streams, and each distribution's defining property.
 */
#include "check.h"
#include "inputs.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 8, DIM = 4096 };

static float *gen(const char *name, unsigned long long seed, size_t rows, size_t dim)
{
    const ln_dist *d = ln_dist_find(name);
    if (!d) {
        fprintf(stderr, "no distribution %s\n", name);
        exit(1);
    }
    float *x = malloc(rows * dim * sizeof *x);
    if (!x)
        exit(1);
    ln_generate(d, seed, rows, dim, x, dim);
    return x;
}

static uint32_t bits_of(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static void row_stats(const float *x, size_t n, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n;
    for (size_t i = 0; i < n; i++)
        s2 += ((double)x[i] - m) * ((double)x[i] - m);
    *mean = m;
    *sd = sqrt(s2 / (double)n);
}

static void test_table(void)
{
    static const char *names[] = { "normal", "uniform", "offset1e3", "offset1e4",
                                   "constant", "tiny_var", "huge", "subnormal",
                                   "outlier", "outlier_first", "offset40000", "scale1e9",
                                   "fp16_big",
                                   "small_var", "const1234", "near1449" };
    enum { N = sizeof names / sizeof names[0] };
    CHECK(ln_dist_count == N, "ln_dist_count = %zu", ln_dist_count);
    for (size_t i = 0; i < N && i < ln_dist_count; i++) {
        CHECK(strcmp(ln_dists[i].name, names[i]) == 0, "entry %zu is %s", i,
              ln_dists[i].name);
        CHECK(ln_dist_find(names[i]) == &ln_dists[i], "find %s", names[i]);
        CHECK(ln_dists[i].description && ln_dists[i].description[0], "description");
    }
    CHECK(ln_dist_find("Normal") == NULL, "names are case-sensitive");
    CHECK(ln_dist_find("nope") == NULL, "unknown name");
    CHECK(ln_dist_find(NULL) == NULL, "NULL name");
}

static void test_rng(void)
{
    ln_rng a, b;
    ln_rng_seed(&a, 1);
    ln_rng_seed(&b, 1);
    for (int i = 0; i < 100; i++)
        CHECK(ln_rng_next(&a) == ln_rng_next(&b), "same seed, draw %d", i);
    ln_rng_seed(&b, 2);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += ln_rng_next(&a) == ln_rng_next(&b);
    CHECK(same == 0, "seeds 1 and 2 share %d draws", same);

    /* uniform in [0,1) with 53-bit resolution: the low bits are used. */
    ln_rng_seed(&a, 7);
    int low_bit = 0;
    double lo = 1, hi = 0;
    for (int i = 0; i < 10000; i++) {
        double u = ln_rng_uniform(&a);
        CHECK(u >= 0.0 && u < 1.0, "u = %g", u);
        if (u < lo) lo = u;
        if (u > hi) hi = u;
        low_bit |= fmod(u * 0x1p53, 2.0) != 0.0;
    }
    CHECK(lo < 0.001 && hi > 0.999, "range [%g, %g]", lo, hi);
    CHECK(low_bit, "bit 2^-53 never set");

    /* Pinned values: the generator is part of the results' identity, so a
     * change to it must be deliberate (and change this test). */
    ln_rng_seed(&a, 42);
    CHECK(ln_rng_next(&a) == 0x15780b2e0c2ec716ull, "first draw of seed 42");
}

static void test_determinism(void)
{
    for (size_t k = 0; k < ln_dist_count; k++) {
        const char *name = ln_dists[k].name;
        float *a = gen(name, 42, ROWS, DIM);
        float *b = gen(name, 42, ROWS, DIM);
        CHECK(memcmp(a, b, (size_t)ROWS * DIM * 4) == 0, "%s: same seed differs", name);
        if (strcmp(name, "constant") != 0 && strcmp(name, "const1234") != 0) {
            float *c = gen(name, 43, ROWS, DIM);
            size_t diff = 0;
            for (size_t i = 0; i < (size_t)ROWS * DIM; i++)
                diff += bits_of(a[i]) != bits_of(c[i]);
            CHECK(diff > (size_t)ROWS * DIM / 2, "%s: seeds 42/43 differ in only %zu",
                  name, diff);
            free(c);
        }
        /* Fewer rows are a prefix; a row stride does not change values. */
        float *p = gen(name, 42, 3, DIM);
        CHECK(memcmp(a, p, 3 * DIM * 4) == 0, "%s: 3 rows not a prefix of 8", name);
        free(p);
        float *s = malloc(ROWS * (DIM + 5) * sizeof *s);
        ln_generate(&ln_dists[k], 42, ROWS, DIM, s, DIM + 5);
        for (size_t r = 0; r < ROWS; r++)
            CHECK(memcmp(a + r * DIM, s + r * (DIM + 5), DIM * 4) == 0,
                  "%s: strided row %zu differs", name, r);
        free(s);
        free(a);
        free(b);
    }

    /* Independence from generation order: the stream of (normal, 768) is
     * the same whether or not other shapes/dists were generated first. */
    float *first = gen("normal", 5, 4, 768);
    free(gen("uniform", 5, 4, 768));
    free(gen("normal", 5, 4, 1024));
    float *again = gen("normal", 5, 4, 768);
    CHECK(memcmp(first, again, 4 * 768 * 4) == 0, "order dependence");
    /* ...and different dims / dists get different streams, not prefixes. */
    float *other_dim = gen("normal", 5, 4, 769);
    CHECK(memcmp(first, other_dim, 768 * 4) != 0, "dim 768 and 769 share a stream");
    float *off = gen("offset1e3", 5, 1, 768);
    int same_dev = 0;
    for (int i = 0; i < 768; i++)
        same_dev += fabs(((double)off[i] - 1000.0) - first[i]) < 1e-3;
    CHECK(same_dev < 10, "offset1e3 reuses normal's stream (%d equal)", same_dev);
    free(first);
    free(again);
    free(other_dim);
    free(off);

    /* Pinned bits (libm-free generators only): catches an accidental change
     * of the PRNG, the seeding or the stream derivation. */
    float *u = gen("uniform", 42, 1, 4096);
    float *sn = gen("subnormal", 42, 1, 4096);
    CHECK(bits_of(u[0]) == 0xbf272f59u, "uniform[0] bits %08x", (unsigned)bits_of(u[0]));
    CHECK(bits_of(sn[0]) == 0x804ae6aeu, "subnormal[0] bits %08x", (unsigned)bits_of(sn[0]));
    free(u);
    free(sn);
}

static void test_properties(void)
{
    size_t dims[] = { 1, 3, DIM };
    for (size_t di = 0; di < 3; di++) {
        size_t dim = dims[di];
        for (size_t k = 0; k < ln_dist_count; k++) {
            float *x = gen(ln_dists[k].name, 1, ROWS, dim);
            for (size_t i = 0; i < ROWS * dim; i++)
                CHECK(isfinite(x[i]), "%s: non-finite input", ln_dists[k].name);
            free(x);
        }
        float *o = gen("outlier", 9, ROWS, dim);
        for (size_t r = 0; r < ROWS; r++) {
            int big = 0;
            for (size_t j = 0; j < dim; j++)
                if (fabsf(o[r * dim + j]) >= 1e3f) {
                    big++;
                    CHECK(fabsf(o[r * dim + j]) == 1e4f, "outlier value %g",
                          o[r * dim + j]);
                }
            CHECK(big == 1, "outlier dim %zu row %zu: %d big elements", dim, r, big);
        }
        free(o);
        /* outlier_first: the big element is each row's first. */
        o = gen("outlier_first", 9, ROWS, dim);
        for (size_t r = 0; r < ROWS; r++) {
            CHECK(fabsf(o[r * dim]) == 1e4f, "outlier_first row %zu starts %g", r, o[r * dim]);
            for (size_t j = 1; j < dim; j++)
                CHECK(fabsf(o[r * dim + j]) < 1e3f, "outlier_first row %zu: big element %zu", r,
                      j);
        }
        free(o);
    }

    float *x = gen("constant", 3, ROWS, DIM);
    for (size_t i = 0; i < ROWS * DIM; i++)
        CHECK(x[i] == 3.3f, "constant[%zu] = %a", i, x[i]);
    free(x);

    x = gen("subnormal", 3, ROWS, DIM);
    int neg = 0, pos = 0;
    float mx = 0;
    for (size_t i = 0; i < ROWS * DIM; i++) {
        CHECK(fpclassify(x[i]) == FP_SUBNORMAL, "subnormal[%zu] = %a", i, x[i]);
        neg += x[i] < 0;
        pos += x[i] > 0;
        if (fabsf(x[i]) > mx)
            mx = fabsf(x[i]);
    }
    CHECK(neg > 1000 && pos > 1000, "signs %d/%d", neg, pos);
    CHECK(mx > FLT_MIN / 2, "subnormals only small: max %a", mx);
    free(x);

    x = gen("huge", 3, ROWS, DIM);
    float lo = INFINITY, hi = 0;
    int overflows = 0;
    neg = 0;
    for (size_t i = 0; i < ROWS * DIM; i++) {
        float a = fabsf(x[i]);
        CHECK(a >= 1e19f && a <= 1e30f, "huge[%zu] = %g", i, x[i]);
        /* x^2 overflows binary32 once |x| > sqrt(FLT_MAX) = 1.8447e19;
         * log-uniform from 1e19 puts ~2.4% of the values below that. */
        volatile float sq = x[i] * x[i];
        overflows += isinf(sq) != 0;
        if (a < lo) lo = a;
        if (a > hi) hi = a;
        neg += x[i] < 0;
    }
    CHECK(overflows > ROWS * DIM * 95 / 100, "only %d of %d squares overflow",
          overflows, ROWS * DIM);
    CHECK(lo < 1e20f && hi > 1e29f, "huge spans only [%g, %g]", lo, hi);
    CHECK(neg > ROWS * DIM / 4 && neg < ROWS * DIM * 3 / 4, "huge negatives %d", neg);
    free(x);

    static const struct { const char *name; double mean, mean_tol, sd, sd_tol; } st[] = {
        { "offset1e4", 1e4, 0.2, 1.0, 0.1 },
        { "offset1e3", 1e3, 0.2, 1.0, 0.1 },
        { "normal", 0.0, 0.1, 1.0, 0.1 },
        { "uniform", 0.0, 0.1, 0.57735, 0.05 },
    };
    for (size_t t = 0; t < sizeof st / sizeof st[0]; t++) {
        x = gen(st[t].name, 11, ROWS, DIM);
        for (size_t r = 0; r < ROWS; r++) {
            double m, sd;
            row_stats(x + r * DIM, DIM, &m, &sd);
            CHECK(fabs(m - st[t].mean) <= st[t].mean_tol, "%s row %zu mean %.6g",
                  st[t].name, r, m);
            CHECK(fabs(sd - st[t].sd) <= st[t].sd_tol, "%s row %zu sd %.6g",
                  st[t].name, r, sd);
        }
        free(x);
    }
    x = gen("uniform", 12, ROWS, DIM);
    for (size_t i = 0; i < ROWS * DIM; i++)
        CHECK(x[i] >= -1.0f && x[i] <= 1.0f, "uniform[%zu] = %g", i, x[i]);
    free(x);

    x = gen("tiny_var", 13, ROWS, DIM);
    for (size_t r = 0; r < ROWS; r++) {
        double m, sd;
        row_stats(x + r * DIM, DIM, &m, &sd);
        CHECK(fabs(m - 1.0) < 1e-6, "tiny_var row %zu mean %.9g", r, m);
        CHECK(sd > 0.5e-6 && sd < 2e-6, "tiny_var row %zu sd %.3g", r, sd);
    }
    free(x);
}

/* The formats of bfloat16 and fp16, as reference/accuracy.c passes them. */
static const ln_format bf16 = {8, -126, 127}, f16 = {11, -14, 15};

static float *gen_fmt(const char *name, unsigned long long seed, size_t rows, size_t dim,
                      const ln_format *f)
{
    float *x = malloc(rows * dim * sizeof *x);
    if (!x)
        exit(1);
    ln_generate_fmt(ln_dist_find(name), seed, rows, dim, x, dim, f);
    return x;
}

/* The distributions of the reported bugs, and how each fits the narrow
 * formats: refused where its values exceed the largest finite value,
 * generated for the format where it is tied to the format's range. */
static void test_bug_dists(void)
{
    const ln_format *fmts[3] = {&ln_format_binary32, &bf16, &f16};
    /* Every |x| within max_abs (the refusal rests on it), in every format. */
    for (size_t k = 0; k < ln_dist_count; k++)
        for (int f = 0; f < 3; f++) {
            float *x = gen_fmt(ln_dists[k].name, 2, ROWS, 33, fmts[f]);
            double mx = 0;
            for (size_t i = 0; i < ROWS * 33; i++)
                mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
            CHECK(mx <= ln_dists[k].max_abs * (1 + 1e-6) || ln_dists[k].max_abs == 0,
                  "%s: |x| up to %g beyond its max_abs %g", ln_dists[k].name, mx,
                  ln_dists[k].max_abs);
            free(x);
        }
    CHECK(ln_dist_refuses(ln_dist_find("huge"), &f16) != NULL, "huge accepted for fp16");
    CHECK(ln_dist_refuses(ln_dist_find("scale1e9"), &f16) != NULL, "scale1e9 accepted for fp16");
    CHECK(ln_dist_refuses(ln_dist_find("huge"), &bf16) == NULL, "huge refused for bf16");
    CHECK(ln_dist_refuses(ln_dist_find("fp16_big"), &f16) == NULL, "fp16_big refused for fp16");
    CHECK(ln_dist_refuses(ln_dist_find("offset40000"), &f16) == NULL, "offset40000 refused");

    /* offset40000: binary32 is onnxruntime's row, four values 1 apart; fp16
     * four values 32 apart from 40000; bfloat16 256 apart from 39936. */
    static const struct { const ln_format *f; double base, step; } off[] = {
        {&ln_format_binary32, 40000, 1}, {&f16, 40000, 32}, {&bf16, 39936, 256}};
    for (size_t t = 0; t < 3; t++) {
        float *x = gen_fmt("offset40000", 4, 1, 4096, off[t].f);
        int seen[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < 4096; i++) {
            double k = ((double)x[i] - off[t].base) / off[t].step;
            CHECK(k == 0 || k == 1 || k == 2 || k == 3, "offset40000[%zu] = %.9g (p %d)", i,
                  x[i], off[t].f->p);
            if (k == 0 || k == 1 || k == 2 || k == 3)
                seen[(int)k] = 1;
        }
        CHECK(seen[0] && seen[1] && seen[2] && seen[3], "offset40000 misses a value (p %d)",
              off[t].f->p);
        free(x);
    }
    /* subnormal: the format's own subnormals (fp16: below 2^-14, on the
     * 2^-24 grid once rounded, mostly nonzero). */
    float *x = gen_fmt("subnormal", 5, ROWS, DIM, &f16);
    size_t zero = 0;
    for (size_t i = 0; i < ROWS * DIM; i++) {
        CHECK(fabsf(x[i]) < 0x1p-14f, "fp16 subnormal[%zu] = %a", i, x[i]);
        zero += fabsf(x[i]) < 0x1p-25f;
    }
    CHECK(zero < ROWS * DIM / 100, "%zu of the fp16 subnormals round to 0", zero);
    free(x);
    /* fp16_big: within [7600, 60000], so in fp16 every square overflows. */
    x = gen_fmt("fp16_big", 6, ROWS, DIM, &f16);
    for (size_t i = 0; i < ROWS * DIM; i++)
        CHECK(fabsf(x[i]) >= 7600 && fabsf(x[i]) <= 60000, "fp16_big[%zu] = %g", i, x[i]);
    free(x);
    /* const1234: the reported row; small_var: variance below 1e-6;
     * scale1e9: |x| around 1e9; near1449 centred on 1449. */
    x = gen("const1234", 7, 2, 31);
    for (size_t i = 0; i < 2 * 31; i++)
        CHECK(x[i] == 1234.0f, "const1234[%zu] = %g", i, x[i]);
    free(x);
    static const struct { const char *name; double mean, mean_tol, sd, sd_tol; } st[] = {
        { "small_var", 0.0, 1e-5, 1e-4, 1e-5 },
        { "scale1e9", 0.0, 1e8, 1e9, 1e8 },
        { "near1449", 1449.0, 0.1, 0.5, 0.05 },
    };
    for (size_t t = 0; t < sizeof st / sizeof st[0]; t++) {
        x = gen(st[t].name, 11, ROWS, DIM);
        for (size_t r = 0; r < ROWS; r++) {
            double m, sd;
            row_stats(x + r * DIM, DIM, &m, &sd);
            CHECK(fabs(m - st[t].mean) <= st[t].mean_tol, "%s row %zu mean %.6g",
                  st[t].name, r, m);
            CHECK(fabs(sd - st[t].sd) <= st[t].sd_tol, "%s row %zu sd %.6g",
                  st[t].name, r, sd);
            if (!strcmp(st[t].name, "small_var"))
                CHECK(sd * sd < 1e-6, "small_var row %zu variance %g", r, sd * sd);
        }
        free(x);
    }
    /* The binary32 values of the older distributions are unchanged by the
     * format argument (except subnormal, which follows the format). */
    float *a = gen("outlier", 8, 2, 64), *b = gen_fmt("outlier", 8, 2, 64, &f16);
    CHECK(memcmp(a, b, 2 * 64 * 4) == 0, "outlier depends on the format");
    free(a);
    free(b);
}

static void test_affine(void)
{
    float g[DIM], b[DIM], g2[DIM], b2[DIM], g3[DIM];
    ln_generate_affine(5, DIM, g, b);
    ln_generate_affine(5, DIM, g2, NULL);
    ln_generate_affine(5, DIM, NULL, b2);
    CHECK(memcmp(g, g2, sizeof g) == 0, "gamma depends on whether beta is asked for");
    CHECK(memcmp(b, b2, sizeof b) == 0, "beta depends on whether gamma is asked for");
    ln_generate_affine(6, DIM, g3, NULL);
    CHECK(memcmp(g, g3, sizeof g) != 0, "seed does not change gamma");
    ln_generate_affine(5, DIM - 1, g3, NULL);
    CHECK(memcmp(g, g3, (DIM - 1) * 4) != 0, "dim does not change gamma");
    double m, sd;
    row_stats(g, DIM, &m, &sd);
    CHECK(fabs(m - 1.0) < 0.01 && fabs(sd - 0.1) < 0.01, "gamma mean %g sd %g", m, sd);
    row_stats(b, DIM, &m, &sd);
    CHECK(fabs(m) < 0.01 && fabs(sd - 0.1) < 0.01, "beta mean %g sd %g", m, sd);
    /* gamma and beta are not the same stream shifted by 1. */
    int same = 0;
    for (int i = 0; i < DIM; i++)
        same += fabsf((g[i] - 1.0f) - b[i]) < 1e-6f;
    CHECK(same < 10, "gamma and beta share a stream (%d)", same);
    ln_generate_affine(5, DIM, NULL, NULL); /* must not crash */
}

int main(void)
{
    test_table();
    test_rng();
    test_determinism();
    test_properties();
    test_affine();
    test_bug_dists();
    return CHECK_DONE("test_inputs");
}
