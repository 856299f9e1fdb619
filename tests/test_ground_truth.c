/*
 * test_ground_truth.c - the MPFR ground truth against hand-checked rows and
 * against an independent, plain evaluation of the formula at 2000 bits.
 *
 * The plain evaluation (mean, deviations, variance, square root, divide,
 * gamma, beta, each rounded at 2000 bits) shares no code with the exact
 * algebra of ground_truth.c; its error is ~2^-1990 relative, so wherever the
 * exact value is not within 2^-60 ulp of a rounding boundary its
 * mpfr_get_flt is the correctly rounded value.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "check.h"
#include "ground_truth.h"
#include "inputs.h"
#include "ulp_error.h"

#define PLAIN_PREC 2000

/* y = (x - mean) / sqrt(var + eps) * gamma + beta at PLAIN_PREC bits,
 * written to y[0..n-1] (initialised by the caller). */
static void plain_eval(const float *x, size_t n, const float *gamma,
                       const float *beta, float eps, mpfr_t *y)
{
    mpfr_t mean, var, t, den;
    size_t i;

    mpfr_inits2(PLAIN_PREC, mean, var, t, den, (mpfr_ptr)0);
    mpfr_set_zero(mean, 1);
    for (i = 0; i < n; i++)
        mpfr_add_d(mean, mean, x[i], MPFR_RNDN);
    mpfr_div_ui(mean, mean, (unsigned long)n, MPFR_RNDN);
    mpfr_set_zero(var, 1);
    for (i = 0; i < n; i++) {
        mpfr_set_d(t, x[i], MPFR_RNDN);
        mpfr_sub(t, t, mean, MPFR_RNDN);
        mpfr_sqr(t, t, MPFR_RNDN);
        mpfr_add(var, var, t, MPFR_RNDN);
    }
    mpfr_div_ui(var, var, (unsigned long)n, MPFR_RNDN);
    mpfr_add_d(var, var, eps, MPFR_RNDN);
    mpfr_sqrt(den, var, MPFR_RNDN);
    for (i = 0; i < n; i++) {
        mpfr_set_d(y[i], x[i], MPFR_RNDN);
        mpfr_sub(y[i], y[i], mean, MPFR_RNDN);
        mpfr_div(y[i], y[i], den, MPFR_RNDN);
        if (gamma != NULL)
            mpfr_mul_d(y[i], y[i], gamma[i], MPFR_RNDN);
        if (beta != NULL)
            mpfr_add_d(y[i], y[i], beta[i], MPFR_RNDN);
    }
    mpfr_clears(mean, var, t, den, (mpfr_ptr)0);
}

/* Is v within 2^-60 ulp of a binary32 rounding boundary (a midpoint)? */
static int near_midpoint(mpfr_t v)
{
    mpfr_t d;
    float r = mpfr_get_flt(v, MPFR_RNDN);
    double hi = mpfr_get_d(v, MPFR_RNDN), u;
    int near;

    if (isinf(r))
        return 0;
    mpfr_init2(d, PLAIN_PREC + 200);
    mpfr_sub_d(d, v, hi, MPFR_RNDN);
    u = ln_ulp(hi, mpfr_get_d(d, MPFR_RNDN));
    /* d = | |v - r| - u/2 | */
    mpfr_sub_d(d, v, r, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_sub_d(d, d, u / 2, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    near = mpfr_cmp_d(d, u * 0x1p-60) < 0;
    mpfr_clear(d);
    return near;
}

/* Same float bits (so -0 != +0 and NaN == NaN). */
static int same_float(float a, float b)
{
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    return ua == ub || (isnan(a) && isnan(b));
}

/* Run the ground truth on one row set and compare every element with the
 * plain evaluation: the rounded value must equal mpfr_get_flt of it (away
 * from midpoints) and hi + lo must agree with it to 2^-104 relative.
 * Returns the number of elements skipped as near a midpoint. */
static int check_hilo = 1; /* off while ln_ground_truth_tune lowers them */

static size_t check_against_plain(const char *what, const float *x,
                                  size_t rows, size_t dim, const float *gamma,
                                  const float *beta, float eps)
{
    float *r = malloc(rows * dim * sizeof *r);
    double *hi = malloc(rows * dim * sizeof *hi);
    double *lo = malloc(rows * dim * sizeof *lo);
    mpfr_t *y = malloc(dim * sizeof *y), e;
    char err[256];
    size_t i, j, skipped = 0, bad = 0;

    if (r == NULL || hi == NULL || lo == NULL || y == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (ln_ground_truth(x, rows, dim, dim, gamma, beta, eps, r, hi, lo, dim,
                        2, err, sizeof err) != 0) {
        CHECK_FAIL("%s: ground truth failed: %s", what, err);
        goto out;
    }
    for (j = 0; j < dim; j++)
        mpfr_init2(y[j], PLAIN_PREC);
    mpfr_init2(e, PLAIN_PREC);
    for (i = 0; i < rows; i++) {
        plain_eval(x + i * dim, dim, gamma, beta, eps, y);
        for (j = 0; j < dim; j++) {
            size_t o = i * dim + j;
            float want = mpfr_get_flt(y[j], MPFR_RNDN);
            if (near_midpoint(y[j])) {
                skipped++;
                continue;
            }
            /* |hi + lo - y| <= 2^-104 |y| (or both tiny) */
            mpfr_set_d(e, hi[o], MPFR_RNDN);
            mpfr_add_d(e, e, lo[o], MPFR_RNDN);
            mpfr_sub(e, e, y[j], MPFR_RNDN);
            mpfr_abs(e, e, MPFR_RNDN);
            mpfr_mul_2si(e, e, 104, MPFR_RNDN);
            if (!same_float(r[o], want) || (check_hilo &&
                ((!mpfr_zero_p(y[j]) && mpfr_cmpabs(e, y[j]) > 0) ||
                (mpfr_zero_p(y[j]) && (hi[o] != 0 || lo[o] != 0))))) {
                if (bad++ < 5)
                    fprintf(stderr,
                            "%s: row %zu col %zu: x=%a got %a (hi %a lo %a), "
                            "want %a (%.20g)\n",
                            what, i, j, x[o], r[o], hi[o], lo[o], want,
                            mpfr_get_d(y[j], MPFR_RNDN));
            }
        }
    }
    for (j = 0; j < dim; j++)
        mpfr_clear(y[j]);
    mpfr_clear(e);
    if (bad) {
        CHECK_FAIL("%s: %zu element(s) wrong", what, bad);
    }
out:
    free(r);
    free(hi);
    free(lo);
    free(y);
    return skipped;
}

/* The seed's example row, hand-checked: mean 4, var 30, so
 * y = (x - 4) / sqrt(30 + eps) with eps = (float)1e-5. */
static void test_seed_row(void)
{
    const float x[4] = { 2, 10, -4, 8 };
    const float dev[4] = { -2, 6, -8, 4 };
    float r[4];
    double hi[4], lo[4];
    char err[256];
    int i;

    CHECK(ln_ground_truth(x, 1, 4, 4, NULL, NULL, 1e-5f, r, hi, lo, 4, 1,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    for (i = 0; i < 4; i++) {
        /* long double (64 bits here) is independent and, away from a
         * midpoint, accurate enough for the binary32 rounding; hi is
         * checked against it to its own precision. */
        long double den = sqrtl(30.0L + (long double)1e-5f);
        long double yl = (long double)dev[i] / den;
        CHECK(r[i] == (float)yl, "y[%d] = %a, want %a", i, r[i], (float)yl);
        CHECK(fabsl(((long double)hi[i] + lo[i]) - yl) <= 0x1p-60L * fabsl(yl),
              "y[%d]: hi + lo = %a + %a", i, hi[i], lo[i]);
        CHECK(fabs(lo[i]) <= 0x1p-53 * fabs(hi[i]), "y[%d]: lo %a, hi %a", i,
              lo[i], hi[i]);
    }
    /* y[1] = 6/sqrt(30.00001) = 1.0954449...; a sanity anchor */
    CHECK(fabs(hi[1] - 1.0954449) < 1e-6, "hi[1] = %.9g", hi[1]);
    check_against_plain("seed row", x, 1, 4, NULL, NULL, 1e-5f);
}

/* A constant non-dyadic row: every deviation is exactly zero, so the output
 * is exactly beta (0 without beta), hi = beta, lo = 0. */
static void test_constant_row(void)
{
    enum { N = 4097 };
    float *x = malloc(N * sizeof *x), *beta = malloc(N * sizeof *beta);
    float *gamma = malloc(N * sizeof *gamma), *r = malloc(N * sizeof *r);
    double *hi = malloc(N * sizeof *hi), *lo = malloc(N * sizeof *lo);
    char err[256];
    int i, bad = 0;

    if (!x || !beta || !gamma || !r || !hi || !lo)
        exit(2);
    for (i = 0; i < N; i++)
        x[i] = 3.3f;
    ln_generate_affine(7, N, gamma, beta);
    CHECK(ln_ground_truth(x, 1, N, N, gamma, beta, 1e-5f, r, hi, lo, N, 0,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    for (i = 0; i < N; i++)
        if (!same_float(r[i], beta[i]) || hi[i] != beta[i] || lo[i] != 0)
            bad++;
    CHECK(bad == 0, "%d outputs differ from beta (0 without)", bad);
    CHECK(ln_ground_truth(x, 1, N, N, NULL, NULL, 1e-5f, r, hi, lo, N, 0,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    for (i = 0, bad = 0; i < N; i++)
        if (!same_float(r[i], 0.0f) || hi[i] != 0 || lo[i] != 0)
            bad++;
    CHECK(bad == 0, "%d outputs differ from beta (0 without)", bad);
    /* eps = 0: 0/0, no real value -> NaN */
    CHECK(ln_ground_truth(x, 1, N, N, NULL, NULL, 0.0f, r, hi, lo, N, 0,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    CHECK(isnan(r[0]) && isnan(r[N - 1]) && isnan(hi[5]) && isnan(lo[5]),
          "eps 0: want NaN");
    free(x);
    free(beta);
    free(gamma);
    free(r);
    free(hi);
    free(lo);
}

/* Rows whose exact outputs are representable, or exact rational values
 * reached through an exact square root: the exact cases of the Ziv loop. */
static void test_exact_rows(void)
{
    const float x[4] = { 0, 0, 4, 4 };
    const float g[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
    const float b[4] = { 0.25f, 0.25f, 0.25f, 0.25f };
    float r[4];
    double hi[4], lo[4];
    char err[256];
    int i;

    /* mean 2, var 4, eps 0: y = +-1 exactly */
    CHECK(ln_ground_truth(x, 1, 4, 4, NULL, NULL, 0.0f, r, hi, lo, 4, 1,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    for (i = 0; i < 4; i++) {
        float want = i < 2 ? -1.0f : 1.0f;
        CHECK(r[i] == want && hi[i] == want && lo[i] == 0,
              "y[%d] %a, want %a", i, r[i], want);
    }
    /* gamma 0.5, beta 0.25: -0.25 and 0.75 */
    CHECK(ln_ground_truth(x, 1, 4, 4, g, b, 0.0f, r, hi, lo, 4, 1,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    for (i = 0; i < 4; i++) {
        float want = i < 2 ? -0.25f : 0.75f;
        CHECK(r[i] == want && hi[i] == want && lo[i] == 0,
              "y[%d] %a, want %a", i, r[i], want);
    }

    /* Exact midpoints (ties to even): gamma = 1 + 2^-23, beta = 2^-24
     * gives t = 1 + 2^-23 + 2^-24 (-> 1 + 2^-22) and -(1 + 2^-24) (-> -1).
     * Without the exact path the Ziv loop would never decide these. */
    {
        const float g2[4] = { 1 + 0x1p-23f, 1 + 0x1p-23f, 1 + 0x1p-23f,
                              1 + 0x1p-23f };
        const float b2[4] = { 0x1p-24f, 0x1p-24f, 0x1p-24f, 0x1p-24f };
        CHECK(ln_ground_truth(x, 1, 4, 4, g2, b2, 0.0f, r, hi, lo, 4, 1,
                              err, sizeof err) == 0,
              "ground truth: %s", err);
        CHECK(r[0] == -1.0f && r[1] == -1.0f, "ties: %a %a", r[0], r[1]);
        CHECK(r[2] == 1 + 0x1p-22f && r[3] == 1 + 0x1p-22f,
              "ties: %a %a", r[2], r[3]);
        CHECK(hi[0] == -(1 + 0x1p-24) && lo[0] == 0,
              "hi %a lo %a", hi[0], lo[0]);
        CHECK(hi[3] == 1 + 0x1p-23 + 0x1p-24 && lo[3] == 0,
              "hi %a lo %a", hi[3], lo[3]);
    }

    /* An exact square root with non-dyadic outputs: [-6, -5, -5, -2],
     * eps 0: n W = 576, s = 24, y = -1, -1/3, -1/3, 5/3. */
    {
        const float x3[4] = { -6, -5, -5, -2 };
        CHECK(ln_ground_truth(x3, 1, 4, 4, NULL, NULL, 0.0f, r, hi, lo, 4, 1,
                              err, sizeof err) == 0,
              "ground truth: %s", err);
        CHECK(r[0] == -1.0f && hi[0] == -1.0 && lo[0] == 0,
              "y[0] %a hi %a lo %a", r[0], hi[0], lo[0]);
        CHECK(r[1] == (float)(-1.0 / 3) && r[2] == r[1],
              "y[1] %a y[2] %a", r[1], r[2]);
        CHECK(r[3] == (float)(5.0 / 3), "y[3] %a", r[3]);
        CHECK(fabs(hi[1] + lo[1] + 1.0 / 3) < 1e-16,
              "hi %a lo %a", hi[1], lo[1]);
        check_against_plain("exact sqrt", x3, 1, 4, NULL, NULL, 0.0f);
    }

    /* gamma 0 on a column: exactly beta */
    {
        const float g0[4] = { 0.0f, 2.0f, -0.0f, 1.0f };
        const float b0[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
        CHECK(ln_ground_truth(x, 1, 4, 4, g0, b0, 1e-5f, r, hi, lo, 4, 1,
                              err, sizeof err) == 0,
              "ground truth: %s", err);
        CHECK(r[0] == 0.1f && hi[0] == (double)0.1f && lo[0] == 0,
              "gamma 0: y[0] %a", r[0]);
        CHECK(r[2] == 0.3f && hi[2] == (double)0.3f && lo[2] == 0,
              "gamma -0: y[2] %a", r[2]);
    }
}

/* Subnormal inputs and subnormal (or underflowing) outputs. */
static void test_subnormal(void)
{
    enum { N = 64 };
    float x[N], g[N];
    int i;

    for (i = 0; i < N; i++) {
        /* small multiples of 2^-149, both signs */
        x[i] = (float)((i * 37) % 23 - 11) * 0x1p-149f;
        /* gamma from 1 down to 2^-40: the outputs cross from subnormal
         * down through 2^-149 and 2^-150 to values that round to 0 */
        g[i] = ldexpf(1.0f, -(i % 41));
    }
    /* var ~ 2^-296 << eps: y ~ (x - mean) / sqrt(eps), hundreds of 2^-149 */
    check_against_plain("subnormal, no affine", x, 1, N, NULL, NULL, 1e-5f);
    check_against_plain("subnormal, scaled gamma", x, 1, N, g, NULL, 1e-5f);
    /* Same through the row stride and several rows. */
    check_against_plain("subnormal, 2 rows", x, 2, N / 2, g, NULL, 1e-5f);
    {
        /* eps 0: the output is O(1) even though the inputs are subnormal */
        check_against_plain("subnormal, eps 0", x, 1, N, NULL, NULL, 0.0f);
    }
}

/* Results beyond FLT_MAX round to infinity (t = sqrt(3) FLT_MAX here);
 * the error measure counts that as correctly rounded. */
static void test_overflow(void)
{
    const float x[4] = { 0, 0, 0, 1 };
    const float g[4] = { FLT_MAX, FLT_MAX, 0.5f * FLT_MAX, FLT_MAX };
    float r[4];
    double hi[4], lo[4];
    char err[256];
    int i;

    CHECK(ln_ground_truth(x, 1, 4, 4, g, NULL, 0.0f, r, hi, lo, 4, 1,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    CHECK(isinf(r[3]) && r[3] > 0, "y[3] = %g, want +Inf", r[3]);
    CHECK(fabs(hi[3] / (double)FLT_MAX - sqrt(3.0)) < 1e-15,
          "hi[3] = %a", hi[3]);
    for (i = 0; i < 3; i++)
        CHECK(isfinite(r[i]), "y[%d] = %g", i, r[i]);
    for (i = 0; i < 4; i++)
        CHECK(ln_ulp_error(r[i], hi[i], lo[i]) <= 0.5,
              "y[%d] = %g: %g ulp", i, r[i], ln_ulp_error(r[i], hi[i], lo[i]));
    check_against_plain("overflow", x, 1, 4, g, NULL, 0.0f);
}

/* Random rows of every distribution against the plain 2000-bit formula. */
static void test_random_rows(void)
{
    static const size_t dims[] = { 1, 3, 7, 64, 333 };
    size_t di, k, skipped = 0;

    for (k = 0; k < ln_dist_count; k++) {
        for (di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            size_t dim = dims[di], rows = 3;
            float *x = malloc(rows * dim * sizeof *x);
            float *g = malloc(dim * sizeof *g), *b = malloc(dim * sizeof *b);
            char what[96];
            if (!x || !g || !b)
                exit(2);
            ln_generate(&ln_dists[k], 42, rows, dim, x, dim);
            ln_generate_affine(42, dim, g, b);
            snprintf(what, sizeof what, "%s dim %zu", ln_dists[k].name, dim);
            skipped += check_against_plain(what, x, rows, dim, g, b, 1e-5f);
            snprintf(what, sizeof what, "%s dim %zu no affine",
                     ln_dists[k].name, dim);
            skipped += check_against_plain(what, x, rows, dim, NULL, NULL,
                                           1e-5f);
            free(x);
            free(g);
            free(b);
        }
    }
    /* A skip is a once-in-2^59 event for random data; many would mean the
     * midpoint test itself is broken. */
    CHECK(skipped < 4, "%zu elements near a midpoint", skipped);
}

/* The Ziv loop itself: started at 32 bits and asked for no extra bits, an
 * approximation is off by ~2^-5 ulp, so about one element in sixteen is
 * too close to a midpoint to round at the first step; only a sound error
 * bound and rounding test send those to higher precision.  The results
 * must still be correctly rounded everywhere, subnormal outputs included. */
static void test_low_start(void)
{
    static const size_t dims[] = { 7, 333 };
    size_t di, k;
    float x[64], g[64];
    int i;

    CHECK(ln_ground_truth_tune(8, 0) == -1, "a start at 8 bits accepted");
    CHECK(ln_ground_truth_tune(32, 0) == 0, "a start at 32 bits refused");
    check_hilo = 0;
    for (k = 0; k < ln_dist_count; k++) {
        for (di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            size_t dim = dims[di], rows = 4;
            float *xr = malloc(rows * dim * sizeof *xr);
            float *gr = malloc(dim * sizeof *gr);
            float *br = malloc(dim * sizeof *br);
            char what[96];
            if (!xr || !gr || !br)
                exit(2);
            ln_generate(&ln_dists[k], 99, rows, dim, xr, dim);
            ln_generate_affine(99, dim, gr, br);
            snprintf(what, sizeof what, "p0=32: %s dim %zu", ln_dists[k].name,
                     dim);
            check_against_plain(what, xr, rows, dim, gr, br, 1e-5f);
            free(xr);
            free(gr);
            free(br);
        }
    }
    for (i = 0; i < 64; i++) {
        x[i] = (float)((i * 37) % 23 - 11) * 0x1p-149f;
        g[i] = ldexpf(1.0f, -(i % 41));
    }
    check_against_plain("p0=32: subnormal", x, 1, 64, g, NULL, 1e-5f);
    check_hilo = 1;
    CHECK(ln_ground_truth_tune(0, 0) == 0, "reset to the defaults refused");
}

/* The ground truth never rounds the wrong way: against its own >= 106-bit
 * value, every rounded output is within half an ulp.  Also: threads give
 * bit-identical results, and the output stride is honoured. */
static void test_never_wrong_way(void)
{
    static const size_t dims[] = { 1, 7, 768, 4097 };
    size_t di, k, i, j;

    for (k = 0; k < ln_dist_count; k++) {
        for (di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            size_t dim = dims[di], rows = dim > 1000 ? 2 : 4;
            size_t xs = dim + 3, os = dim + 1, bad = 0, diff = 0;
            float *x = malloc(rows * xs * sizeof *x);
            float *g = malloc(dim * sizeof *g), *b = malloc(dim * sizeof *b);
            float *r = malloc(rows * os * sizeof *r);
            float *r1 = malloc(rows * os * sizeof *r1);
            double *hi = malloc(rows * os * sizeof *hi);
            double *lo = malloc(rows * os * sizeof *lo);
            char err[256];
            if (!x || !g || !b || !r || !r1 || !hi || !lo)
                exit(2);
            ln_generate(&ln_dists[k], 1234, rows, dim, x, xs);
            ln_generate_affine(1234, dim, g, b);
            for (i = 0; i < rows * os; i++)
                r[i] = r1[i] = 12345.0f; /* padding must stay untouched */
            CHECK(ln_ground_truth(x, rows, dim, xs, g, b, 1e-5f, r, hi, lo,
                                  os, 2, err, sizeof err) == 0,
                  "ground truth: %s", err);
            CHECK(ln_ground_truth(x, rows, dim, xs, g, b, 1e-5f, r1, NULL,
                                  NULL, os, 1, err, sizeof err) == 0,
                  "ground truth: %s", err);
            for (i = 0; i < rows; i++) {
                for (j = 0; j < dim; j++) {
                    size_t o = i * os + j;
                    double e = ln_ulp_error(r[o], hi[o], lo[o]);
                    if (!(e <= 0.5)) {
                        if (bad++ < 3)
                            fprintf(stderr, "%s dim %zu: row %zu col %zu "
                                    "error %g\n", ln_dists[k].name, dim, i, j,
                                    e);
                    }
                    if (!same_float(r[o], r1[o]))
                        diff++;
                }
                for (j = dim; j < os; j++)
                    if (r[i * os + j] != 12345.0f)
                        diff++;
            }
            CHECK(bad == 0, "%s dim %zu: %zu outputs beyond half an ulp",
                  ln_dists[k].name, dim, bad);
            CHECK(diff == 0, "%s dim %zu: %zu differ between 1 and 2 threads"
                  " or in the padding", ln_dists[k].name, dim, diff);
            free(x);
            free(g);
            free(b);
            free(r);
            free(r1);
            free(hi);
            free(lo);
        }
    }
}

/* NaN and Inf inputs give NaN rows; bad arguments fail with a message. */
static void test_nonfinite_and_errors(void)
{
    float x[8] = { 1, 2, 3, 4, 1, NAN, 3, 4 };
    float r[8];
    double hi[8], lo[8];
    char err[256];
    int i;

    CHECK(ln_ground_truth(x, 2, 4, 4, NULL, NULL, 1e-5f, r, hi, lo, 4, 0,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    CHECK(!isnan(r[0]) && !isnan(r[3]), "a finite row became NaN");
    for (i = 4; i < 8; i++)
        CHECK(isnan(r[i]) && isnan(hi[i]) && isnan(lo[i]),
              "NaN row: y[%d] = %g", i, r[i]);
    x[5] = INFINITY;
    CHECK(ln_ground_truth(x, 2, 4, 4, NULL, NULL, 1e-5f, r, hi, lo, 4, 0,
                          err, sizeof err) == 0,
          "ground truth: %s", err);
    CHECK(isnan(r[4]) && isnan(r[7]) && !isnan(r[1]),
          "Inf row: want NaN, the other row finite");
    err[0] = '\0';
    CHECK(ln_ground_truth(x, 1, 0, 4, NULL, NULL, 1e-5f, r, hi, lo, 4, 0,
                          err, sizeof err) == -1,
          "bad argument accepted");
    CHECK(err[0] != '\0' && strchr(err, '\n') == NULL, "message \"%s\"", err);
    CHECK(ln_ground_truth(x, 1, 4, 3, NULL, NULL, 1e-5f, r, hi, lo, 4, 0,
                          err, sizeof err) == -1,
          "bad argument accepted");
}

/* ------------------------------------------------------------------------ */
/* Operations, dtypes and casts.                                            */
/* ------------------------------------------------------------------------ */

/* v rounded to nearest even onto dt's grid by MPFR's own machinery, a path
 * independent of ground_truth.c's: precision p, the exponent range narrowed
 * to the format's (MPFR's exponent e means |v| in [2^(e-1), 2^e): the least
 * subnormal 2^(emin - p + 1) has e = emin - p + 2, overflow is e > emax + 1),
 * and mpfr_subnormalize for the subnormal grid. */
static float round_dtype(mpfr_srcptr v, ln_dtype dt, mpfr_rnd_t rnd)
{
    static const int p[3] = {24, 8, 11}, emin[3] = {-126, -126, -14},
                     emax[3] = {127, 127, 15};
    mpfr_exp_t old_min = mpfr_get_emin(), old_max = mpfr_get_emax();
    mpfr_t t;
    float f;
    int inex;

    mpfr_init2(t, p[dt]);
    mpfr_set_emin(emin[dt] - p[dt] + 2);
    mpfr_set_emax(emax[dt] + 1);
    inex = mpfr_set(t, v, rnd);
    inex = mpfr_check_range(t, inex, rnd);
    mpfr_subnormalize(t, inex, rnd);
    mpfr_set_emin(old_min);
    mpfr_set_emax(old_max);
    f = mpfr_get_flt(t, MPFR_RNDN); /* exact: t is on a binary32 grid */
    mpfr_clear(t);
    return f;
}

/* Is v within 2^-60 (relative) of a rounding boundary of dt? */
static int near_boundary(mpfr_srcptr v, ln_dtype dt)
{
    mpfr_t a, b;
    int near;
    mpfr_inits2(PLAIN_PREC, a, b, (mpfr_ptr)0);
    mpfr_mul_d(a, v, 1 - 0x1p-60, MPFR_RNDN);
    mpfr_mul_d(b, v, 1 + 0x1p-60, MPFR_RNDN);
    near = !same_float(round_dtype(a, dt, MPFR_RNDN), round_dtype(b, dt, MPFR_RNDN));
    mpfr_clears(a, b, (mpfr_ptr)0);
    return near;
}

/* A random value of dt: m 2^e with a random significand of the format's
 * width and e uniform in [elo, ehi], either sign. */
static float random_dtype(ln_rng *g, ln_dtype dt, int elo, int ehi)
{
    static const int p[3] = {24, 8, 11};
    uint64_t m = (ln_rng_next(g) >> (64 - p[dt])) | (1ull << (p[dt] - 1));
    int e = elo + (int)(ln_rng_uniform(g) * (ehi - elo + 1));
    mpfr_t v;
    float f;
    mpfr_init2(v, 64);
    mpfr_set_ui_2exp(v, (unsigned long)m, e - p[dt] + 1, MPFR_RNDN);
    if (ln_rng_next(g) >> 63)
        mpfr_neg(v, v, MPFR_RNDN);
    f = round_dtype(v, dt, MPFR_RNDN); /* subnormal or overflowing e */
    mpfr_clear(v);
    return f;
}

/* The definition, plainly, at PLAIN_PREC bits, for one row of the RMS forms
 * or LayerNorm of h: y[i] before the last rounding; *skip set when a
 * rounding inside the definition (llama's) is too close to call. */
static void plain_op(const ln_gt_spec *s, const float *h, mpfr_t *y, int *skip)
{
    size_t n = s->dim, i;
    mpfr_t a, den, t;
    if (!ln_op_is_rms(s->op)) {
        plain_eval(h, n, s->gamma, s->beta, s->eps, y);
        return;
    }
    mpfr_inits2(PLAIN_PREC, a, den, t, (mpfr_ptr)0);
    mpfr_set_zero(a, 1);
    for (i = 0; i < n; i++) {
        mpfr_set_flt(t, h[i], MPFR_RNDN);
        mpfr_sqr(t, t, MPFR_RNDN);
        mpfr_add(a, a, t, MPFR_RNDN);
    }
    mpfr_div_ui(a, a, (unsigned long)n, MPFR_RNDN);
    mpfr_add_d(a, a, s->eps, MPFR_RNDN);
    mpfr_sqrt(den, a, MPFR_RNDN);
    for (i = 0; i < n; i++) {
        float w = s->gamma ? s->gamma[i] : 1.0f;
        mpfr_set_flt(y[i], h[i], MPFR_RNDN);
        mpfr_div(y[i], y[i], den, MPFR_RNDN);
        if (s->cast == LN_CAST_LLAMA) {
            if (near_boundary(y[i], s->dtype))
                *skip = 1;
            mpfr_set_flt(y[i], round_dtype(y[i], s->dtype, MPFR_RNDN), MPFR_RNDN);
            mpfr_mul_d(y[i], y[i], w, MPFR_RNDN);
        } else if (s->cast == LN_CAST_GEMMA) {
            float g = 1.0f;
            if (s->gamma) {
                mpfr_set_flt(t, w, MPFR_RNDN);
                mpfr_add_ui(t, t, 1, MPFR_RNDN);
                g = mpfr_get_flt(t, MPFR_RNDN);
            }
            mpfr_mul_d(y[i], y[i], g, MPFR_RNDN);
        } else {
            mpfr_mul_d(y[i], y[i], w, MPFR_RNDN);
        }
    }
    mpfr_clears(a, den, t, (mpfr_ptr)0);
}

/* ln_ground_truth_op on s against plain_op: h bit for bit, every rounded
 * output equal to the independent rounding (away from boundaries), hi + lo
 * within 2^-100 of the plain value. */
static void check_op_against_plain(const char *what, const ln_gt_spec *s)
{
    size_t rows = s->rows, dim = s->dim, i, j, bad = 0, skipped = 0;
    float *r = malloc(rows * dim * sizeof *r), *h = malloc(rows * dim * sizeof *h);
    double *hi = malloc(rows * dim * sizeof *hi), *lo = malloc(rows * dim * sizeof *lo);
    mpfr_t *y = malloc(dim * sizeof *y), e, sum;
    float *hrow = malloc(dim * sizeof *hrow);
    char err[256];
    int add = ln_op_has_residual(s->op);

    if (!r || !h || !hi || !lo || !y || !hrow) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (ln_ground_truth_op(s, r, hi, lo, add ? h : NULL, dim, 2, err, sizeof err) != 0) {
        CHECK_FAIL("%s: ground truth failed: %s", what, err);
        goto out;
    }
    for (j = 0; j < dim; j++)
        mpfr_init2(y[j], PLAIN_PREC);
    mpfr_inits2(PLAIN_PREC, e, sum, (mpfr_ptr)0);
    for (i = 0; i < rows; i++) {
        int skip = 0;
        for (j = 0; j < dim; j++) {
            float xv = s->x[i * s->x_stride + j];
            if (add) {
                mpfr_set_flt(sum, xv, MPFR_RNDN);
                mpfr_add_d(sum, sum, s->residual[i * s->x_stride + j], MPFR_RNDN);
                hrow[j] = round_dtype(sum, s->dtype, MPFR_RNDN);
                if (!same_float(h[i * dim + j], hrow[j]) && bad++ < 5)
                    fprintf(stderr, "%s: h[%zu][%zu] = %a, want %a\n", what, i, j,
                            h[i * dim + j], hrow[j]);
            } else {
                hrow[j] = xv;
            }
        }
        plain_op(s, hrow, y, &skip);
        for (j = 0; j < dim; j++) {
            size_t o = i * dim + j;
            float want = round_dtype(y[j], s->dtype, MPFR_RNDN);
            if (skip || near_boundary(y[j], s->dtype)) {
                skipped++;
                continue;
            }
            mpfr_set_d(e, hi[o], MPFR_RNDN);
            mpfr_add_d(e, e, lo[o], MPFR_RNDN);
            mpfr_sub(e, e, y[j], MPFR_RNDN);
            mpfr_abs(e, e, MPFR_RNDN);
            mpfr_mul_2si(e, e, 100, MPFR_RNDN);
            /* (the sign of an exact 0 is no part of the definition) */
            if (!(same_float(r[o], want) || (r[o] == 0 && want == 0)) ||
                (!mpfr_zero_p(y[j]) && mpfr_cmpabs(e, y[j]) > 0)) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: row %zu col %zu: got %a (hi %a lo %a), want %a (%.17g)\n",
                            what, i, j, r[o], hi[o], lo[o], want, mpfr_get_d(y[j], MPFR_RNDN));
            }
        }
    }
    for (j = 0; j < dim; j++)
        mpfr_clear(y[j]);
    mpfr_clears(e, sum, (mpfr_ptr)0);
    CHECK(bad == 0, "%s: %zu element(s) wrong", what, bad);
    CHECK(skipped * 20 < rows * dim, "%s: %zu of %zu skipped as too close to call", what,
          skipped, rows * dim);
out:
    free(r);
    free(h);
    free(hi);
    free(lo);
    free(y);
    free(hrow);
}

/* Random rows of every operation, dtype and cast against the plain
 * definition, at scales that reach the formats' subnormal outputs and
 * fp16's overflow. */
static void test_ops_random(void)
{
    enum { ROWS = 6, DIM = 13 };
    ln_rng g;
    ln_rng_seed(&g, 20261202);
    static float x[ROWS * DIM], res[ROWS * DIM], gam[DIM], bet[DIM];
    /* (x exponents, gamma exponents): ordinary; tiny gamma for subnormal
     * outputs; big gamma for overflow (fp16 from 65520, bf16/f32 never at
     * these exponents) */
    static const int scales[][4] = {{-3, 3, -2, 2}, {-6, 6, -24, -15}, {-2, 2, 13, 15},
                                    {-2, 2, -140, -126}};
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            for (int c = 0; c < LN_CAST_COUNT; c++)
                for (size_t sc = 0; sc < sizeof scales / sizeof scales[0]; sc++) {
                    char what[128];
                    if (c != LN_CAST_SINGLE && !ln_op_is_rms((ln_op)op))
                        continue;
                    if (sc == 3 && dt == LN_DTYPE_F16)
                        continue; /* below fp16's range: every gamma 0 */
                    for (size_t i = 0; i < ROWS * DIM; i++) {
                        x[i] = random_dtype(&g, (ln_dtype)dt, scales[sc][0], scales[sc][1]);
                        res[i] = random_dtype(&g, (ln_dtype)dt, scales[sc][0], scales[sc][1]);
                    }
                    for (size_t i = 0; i < DIM; i++) {
                        gam[i] = random_dtype(&g, (ln_dtype)dt, scales[sc][2], scales[sc][3]);
                        bet[i] = random_dtype(&g, (ln_dtype)dt, scales[sc][2] - 2,
                                              scales[sc][3] - 2);
                    }
                    ln_gt_spec s = {.op = (ln_op)op, .dtype = (ln_dtype)dt, .cast = (ln_cast)c,
                                    .x = x, .residual = ln_op_has_residual((ln_op)op) ? res : NULL,
                                    .rows = ROWS, .dim = DIM, .x_stride = DIM, .gamma = gam,
                                    .beta = ln_op_is_rms((ln_op)op) ? NULL : bet, .eps = 1e-5f};
                    snprintf(what, sizeof what, "%s %s %s scale %zu", ln_op_name((ln_op)op),
                             ln_dtype_name((ln_dtype)dt), ln_cast_name((ln_cast)c), sc);
                    check_op_against_plain(what, &s);
                }
}

/* One row's ground truth through ln_ground_truth_op, outputs into r. */
static int gt_row1(ln_op op, ln_dtype dt, ln_cast c, const float *x, size_t dim,
                   const float *gamma, const float *beta, float eps, float *r, double *hi)
{
    double lo[16];
    char err[256];
    ln_gt_spec s = {.op = op, .dtype = dt, .cast = c, .x = x, .rows = 1, .dim = dim,
                    .x_stride = dim, .gamma = gamma, .beta = beta, .eps = eps};
    int rc = ln_ground_truth_op(&s, r, hi, lo, NULL, dim, 1, err, sizeof err);
    CHECK(rc == 0, "%s %s %s: %s", ln_op_name(op), ln_dtype_name(dt), ln_cast_name(c), err);
    return rc;
}

/* Hand-computed roundings at the formats' boundaries, on rows whose exact
 * normalised values are known: LayerNorm of {-a, a} with eps 0 is {-1, 1}
 * (t = beta -+ gamma exactly), RMSNorm of {3, 4, 0, 0} with eps 0 is
 * {6/5, 8/5, 0, 0} (rms = 5/2). */
static void test_format_boundaries(void)
{
    const float pair[2] = {-3, 3}, row[4] = {3, 4, 0, 0};
    float r[4];
    double hi[4];

    /* fp16: 65504 + 16 = 65520 is the midpoint to 2^16: ties to even
     * (65504 is odd) go to infinity, the correct answer; -65504 + 16 =
     * -65488 is a midpoint between -65472 (even) and -65504. */
    float g[2] = {65504, 65504}, b[2] = {16, 16};
    if (gt_row1(LN_OP_LAYERNORM, LN_DTYPE_F16, LN_CAST_SINGLE, pair, 2, g, b, 0, r, hi) == 0) {
        CHECK(r[1] == INFINITY && hi[1] == 65520, "fp16 65520: %a (hi %a), want inf", r[1],
              hi[1]);
        CHECK(r[0] == -65472, "fp16 -65488: %a, want -65472", r[0]);
        CHECK(ln_ulp_error_fmt(r[1], hi[1], 0, LN_DTYPE_F16) == 0.5,
              "inf at 65520 measures %g ulp", ln_ulp_error_fmt(r[1], hi[1], 0, LN_DTYPE_F16));
        CHECK(ln_ulp_error_fmt(65504, 65519.9, 0, LN_DTYPE_F16) < 0.5 &&
                  isinf(ln_ulp_error_fmt(INFINITY, 65519.9, 0, LN_DTYPE_F16)),
              "fp16: just below 65520 the answer is 65504, not inf");
    }
    b[0] = b[1] = 8; /* 65512: below the threshold */
    if (gt_row1(LN_OP_LAYERNORM, LN_DTYPE_F16, LN_CAST_SINGLE, pair, 2, g, b, 0, r, hi) == 0)
        CHECK(r[1] == 65504 && r[0] == -65504, "fp16 +-65512 -> %a %a, want +-65504", r[1],
              r[0]);
    /* bf16 ties at 1: 1 + 2^-8 is the midpoint between 1 (even) and
     * 1 + 2^-7; 1 + 3 2^-8 the one between 1 + 2^-7 and 1 + 2^-6 (even). */
    g[0] = g[1] = 1;
    b[0] = b[1] = 0x1p-8f;
    if (gt_row1(LN_OP_LAYERNORM, LN_DTYPE_BF16, LN_CAST_SINGLE, pair, 2, g, b, 0, r, hi) == 0)
        CHECK(r[1] == 1.0f && r[0] == -1.0f + 0x1p-8f, "bf16 ties: %a %a", r[0], r[1]);
    b[0] = b[1] = 0x1.8p-7f;
    if (gt_row1(LN_OP_LAYERNORM, LN_DTYPE_BF16, LN_CAST_SINGLE, pair, 2, g, b, 0, r, hi) == 0)
        CHECK(r[1] == 1.0f + 0x1p-6f && r[0] == -1.0f + 0x1.8p-7f, "bf16 ties: %a %a", r[0],
              r[1]);

    /* Subnormal outputs: 6/5 and 8/5 times w.  fp16, w = 2^-20: 19.2 and
     * 25.6 units of 2^-24 -> 19 and 26.  bf16, w = 2^-130: 9.6 and 12.8
     * units of 2^-133 -> 10 and 13. */
    float w[4] = {0x1p-20f, 0x1p-20f, 1, 1};
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_F16, LN_CAST_SINGLE, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 19 * 0x1p-24f && r[1] == 26 * 0x1p-24f && r[2] == 0 && r[3] == 0,
              "fp16 subnormal outputs: %a %a %a %a", r[0], r[1], r[2], r[3]);
    w[0] = w[1] = 0x1p-130f;
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_BF16, LN_CAST_SINGLE, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 10 * 0x1p-133f && r[1] == 13 * 0x1p-133f,
              "bf16 subnormal outputs: %a %a", r[0], r[1]);
    /* fp16 overflow of an RMSNorm: w = 54400: 65280 (on the grid) and
     * 87040 -> inf. */
    w[0] = w[1] = 54400;
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_F16, LN_CAST_SINGLE, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 65280 && r[1] == INFINITY, "fp16 RMS overflow: %a %a", r[0], r[1]);

    /* llama vs single, bf16, w = 3: RN(1.2) = 1.203125 (1.0011010b), times
     * 3 = 3.609375, a bf16 value; single rounds 3.6 once: 3.59375.
     * RN(1.6) = 1.6015625, times 3 = 4.8046875 -> 4.8125; single: 4.8 ->
     * 4.8125 too. */
    w[0] = w[1] = 3;
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_BF16, LN_CAST_LLAMA, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 3.609375f && hi[0] == 3.609375 && r[1] == 4.8125f,
              "bf16 llama: %a (hi %a) %a", r[0], hi[0], r[1]);
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_BF16, LN_CAST_SINGLE, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 3.59375f && r[1] == 4.8125f, "bf16 single: %a %a", r[0], r[1]);
    /* gemma, f32: w = 1.5 2^-24 gives fl32(1 + w) = 1 + 2^-23 (0.75 ulp
     * rounds up), w = 2^-24 gives 1 (a tie, to even).  6/5 (1 + 2^-23) =
     * 1.2 + 1.2 2^-23: 1.2 is 0x1.333333(33..)p0, so the product rounds to
     * 0x1.333334p0 + one ulp = 0x1.333335p0?  No: 1.2 + 1.2 ulp... the
     * exact value 0x1.3333333..p0 + 0x1.3333p-23 = 0x1.33333599..p0 ->
     * 0x1.333336p0. */
    w[0] = w[1] = 0x1.8p-24f;
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_F32, LN_CAST_GEMMA, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 0x1.333336p0f, "f32 gemma: %a, want 0x1.333336p0", r[0]);
    w[0] = w[1] = 0x1p-24f;
    if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_F32, LN_CAST_GEMMA, row, 4, w, NULL, 0, r, hi) == 0)
        CHECK(r[0] == 0x1.333334p0f && r[1] == 0x1.99999ap0f,
              "f32 gemma, fl32(1 + 2^-24) = 1: %a %a", r[0], r[1]);
    /* Without w every cast scales by 1. */
    for (int c = 0; c < LN_CAST_COUNT; c++)
        if (gt_row1(LN_OP_RMSNORM, LN_DTYPE_BF16, (ln_cast)c, row, 4, NULL, NULL, 0, r, hi) == 0)
            CHECK(r[0] == 1.203125f && r[1] == 1.6015625f, "bf16 %s without w: %a %a",
                  ln_cast_name((ln_cast)c), r[0], r[1]);
}

/* add_: h = RN(x + residual) is written and normalised; fp16 sums that
 * overflow make h infinite and the row NaN; inputs off the dtype's grid
 * and bad combinations are refused. */
static void test_add_and_refusals(void)
{
    const float x[4] = {1, 2049, 60000, -3}, res[4] = {0x1p-11f, 2, 10000, 3};
    float r[4], h[4];
    double hi[4], lo[4];
    char err[256];
    ln_gt_spec s = {.op = LN_OP_ADD_RMSNORM, .dtype = LN_DTYPE_F16, .x = x, .residual = res,
                    .rows = 1, .dim = 2, .x_stride = 4, .eps = 0};
    /* fp16: 1 + 2^-11 and 2047 + 2 are ties -> 1 and 2048 (even); 2049
     * is not fp16 (spacing 2 above 2048) */
    CHECK(ln_ground_truth_op(&s, r, hi, lo, h, 4, 1, err, sizeof err) == -1 &&
              strstr(err, "not a f16 value"),
          "2049 accepted as fp16: %s", err);
    const float x2[4] = {1, 2047, 60000, -3};
    s.x = x2;
    CHECK(ln_ground_truth_op(&s, r, hi, lo, h, 4, 1, err, sizeof err) == 0, "%s", err);
    CHECK(h[0] == 1.0f && h[1] == 2048.0f, "fp16 h: %a %a, want 1 and 2048", h[0], h[1]);
    s.x = x2 + 2;
    s.residual = res + 2; /* 70000 -> inf; -3 + 3 = +0 */
    CHECK(ln_ground_truth_op(&s, r, hi, lo, h, 4, 1, err, sizeof err) == 0, "%s", err);
    CHECK(h[0] == INFINITY && h[1] == 0 && !signbit(h[1]) && isnan(r[0]) && isnan(r[1]),
          "fp16 overflowing h: %a %a -> %a %a", h[0], h[1], r[0], r[1]);
    /* Refusals: llama with LayerNorm, beta with RMSNorm, h missing. */
    s.op = LN_OP_ADD_LAYERNORM;
    s.cast = LN_CAST_LLAMA;
    CHECK(ln_ground_truth_op(&s, r, hi, lo, h, 4, 1, err, sizeof err) == -1,
          "llama LayerNorm accepted");
    s.cast = LN_CAST_SINGLE;
    CHECK(ln_ground_truth_op(&s, r, hi, lo, NULL, 4, 1, err, sizeof err) == -1,
          "add_ without h accepted");
    s.op = LN_OP_RMSNORM;
    s.beta = res;
    s.residual = NULL;
    CHECK(ln_ground_truth_op(&s, r, hi, lo, NULL, 4, 1, err, sizeof err) == -1,
          "RMSNorm with beta accepted");
    /* bf16 x off the grid (24 bits) */
    const float odd[2] = {1.0f + 0x1p-20f, 1};
    ln_gt_spec b = {.op = LN_OP_RMSNORM, .dtype = LN_DTYPE_BF16, .x = odd, .rows = 1, .dim = 2,
                    .x_stride = 2, .eps = 1e-5f};
    CHECK(ln_ground_truth_op(&b, r, hi, lo, NULL, 2, 1, err, sizeof err) == -1,
          "bf16 accepted a 24-bit value");
}

int main(void)
{
    test_seed_row();
    test_constant_row();
    test_exact_rows();
    test_subnormal();
    test_overflow();
    test_random_rows();
    test_low_start();
    test_never_wrong_way();
    test_nonfinite_and_errors();
    test_format_boundaries();
    test_add_and_refusals();
    test_ops_random();
    mpfr_free_cache();
    return CHECK_DONE("test_ground_truth");
}
