/*
 * test_ulp_error.c - the ulp function and the error summary.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "ulp_error.h"

/* a == b as doubles, both printed exactly on failure */
#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        double a_ = (a), b_ = (b);                                          \
        CHECK(a_ == b_, "%s = %a, expected %a", #a, a_, b_);                \
    } while (0)

static void test_ulp(void)
{
    /* zero and the subnormal range: ulp 2^-149 */
    CHECK_EQ(ln_ulp(0.0, 0.0), 0x1p-149);
    CHECK_EQ(ln_ulp(-0.0, 0.0), 0x1p-149);
    CHECK_EQ(ln_ulp(0x1p-149, 0.0), 0x1p-149);        /* smallest subnormal */
    CHECK_EQ(ln_ulp(-0x1p-149, 0.0), 0x1p-149);
    CHECK_EQ(ln_ulp(0x1.fffffcp-127, 0.0), 0x1p-149); /* largest subnormal */
    CHECK_EQ(ln_ulp(0x1p-200, 0.0), 0x1p-149);            /* below binary32 */
    CHECK_EQ(ln_ulp((double)FLT_MIN, 0.0), 0x1p-149);     /* 2^-126 */
    CHECK_EQ(ln_ulp(0x1p-125, 0.0), 0x1p-148);
    /* FLT_MIN with lo < 0: t just below 2^-126, still ulp 2^-149 */
    CHECK_EQ(ln_ulp((double)FLT_MIN, -0x1p-200), 0x1p-149);
    /* powers of two and their neighbourhood */
    CHECK_EQ(ln_ulp(1.0, 0.0), 0x1p-23);
    CHECK_EQ(ln_ulp(1.0, 0x1p-80), 0x1p-23);
    CHECK_EQ(ln_ulp(1.0, -0x1p-80), 0x1p-24);  /* t < 1: binade below */
    CHECK_EQ(ln_ulp(-1.0, 0x1p-80), 0x1p-24);  /* |t| < 1 */
    CHECK_EQ(ln_ulp(-1.0, -0x1p-80), 0x1p-23);
    CHECK_EQ(ln_ulp(0x1.fffffffffffffp-1, 0.0), 0x1p-24);
    CHECK_EQ(ln_ulp(1.5, -0x1p-80), 0x1p-23); /* not a power of two */
    CHECK_EQ(ln_ulp(1024.0, 0.0), 0x1p-13);
    CHECK_EQ(ln_ulp(-0x1p-100, 0.0), 0x1p-123);
    CHECK_EQ(ln_ulp((double)FLT_MAX, 0.0), 0x1p104);
    CHECK_EQ(ln_ulp(0x1p128, 0.0), 0x1p105);
}

static void test_ulp_error(void)
{
    /* exact and half-ulp cases */
    CHECK_EQ(ln_ulp_error(1.0f, 1.0, 0.0), 0.0);
    CHECK_EQ(ln_ulp_error(1.0f, 1.0 + 0x1p-24, 0.0), 0.5);
    CHECK_EQ(ln_ulp_error(1.0f + 0x1p-23f, 1.0, 0.0), 1.0);
    /* t = 1 - 2^-80 is in the binade below 1: ulp 2^-24, and r = 1 is
     * 2^-80 away, i.e. 2^-56 ulp */
    CHECK_EQ(ln_ulp_error(1.0f, 1.0, -0x1p-80), 0x1p-56);
    /* lo matters: t = 1 + 2^-24 + 2^-70 is just above the midpoint */
    CHECK(ln_ulp_error(1.0f, 1.0 + 0x1p-24, 0x1p-70) > 0.5, "want more than half an ulp");
    CHECK(ln_ulp_error(1.0f + 0x1p-23f, 1.0 + 0x1p-24, 0x1p-70) < 0.5,
          "want less than half an ulp");
    /* subnormals: ulp 2^-149 */
    CHECK_EQ(ln_ulp_error(0x1p-149f, 0.0, 0.0), 1.0);
    CHECK_EQ(ln_ulp_error(0.0f, 0x1p-150, 0.0), 0.5);
    CHECK_EQ(ln_ulp_error(0x1p-148f, 0x1p-149, 0.0), 1.0);
    CHECK_EQ(ln_ulp_error(-0x1p-149f, 0x1p-149, 0.0), 2.0);
    /* large values */
    CHECK_EQ(ln_ulp_error(FLT_MAX, (double)FLT_MAX + 0x1p102, 0.0), 0.25);
    /* nonfinite r against a finite t: infinite error */
    CHECK(isinf(ln_ulp_error(INFINITY, 1.0, 0.0)), "want an infinite error");
    CHECK(isinf(ln_ulp_error(-INFINITY, 1.0, 0.0)), "want an infinite error");
    CHECK(isinf(ln_ulp_error(NAN, 1.0, 0.0)), "want an infinite error");
    CHECK(isinf(ln_ulp_error(NAN, 0.0, 0.0)), "want an infinite error");
    /* infinity of the right sign beyond the overflow threshold is the
     * correct rounding; below it, or of the wrong sign, it is not */
    CHECK(ln_ulp_error(INFINITY, 0x1.ffffffp127, 0.0) <= 0.5, "want a correct rounding");
    CHECK(ln_ulp_error(INFINITY, 0x1p130, 0.0) <= 0.5, "want a correct rounding");
    CHECK(isinf(ln_ulp_error(INFINITY, 0x1.ffffffp127, -0x1p60)), "want an infinite error");
    CHECK(isinf(ln_ulp_error(-INFINITY, 0x1p130, 0.0)), "want an infinite error");
    CHECK(isinf(ln_ulp_error(INFINITY, (double)FLT_MAX, 0.0)), "want an infinite error");
    /* t NaN (no exact value) */
    CHECK_EQ(ln_ulp_error(NAN, NAN, NAN), 0.0);
    CHECK(isinf(ln_ulp_error(1.0f, NAN, NAN)), "want an infinite error");
    CHECK(isinf(ln_ulp_error(INFINITY, NAN, NAN)), "want an infinite error");
}

static void test_measure(void)
{
    /* 2 rows x 4 columns, row stride 5 for r and 6 for t (padding must be
     * ignored).  Truth all 1.0 except t[1][3] = 2; errors chosen: */
    enum { RS = 5, TS = 6 };
    float r[2 * RS];
    double hi[2 * TS], lo[2 * TS];
    ln_error_stats st;
    int i;

    for (i = 0; i < 2 * RS; i++)
        r[i] = -1e30f; /* padding: would dominate if read */
    for (i = 0; i < 2 * TS; i++) {
        hi[i] = 1e30;
        lo[i] = 0.0;
    }
    for (i = 0; i < 4; i++) {
        hi[i] = 1.0;
        hi[TS + i] = 1.0;
    }
    hi[TS + 3] = 2.0;
    r[0] = 1.0f;                      /* 0 ulp */
    r[1] = 1.0f + 0x1p-23f;           /* 1 ulp */
    r[2] = 1.0f - 0x1p-24f;           /* 0.5 ulp (ulp of t = 1 is 2^-23) */
    r[3] = 1.0f + 3 * 0x1p-23f;       /* 3 ulp: the maximum */
    r[RS + 0] = 1.0f;                 /* 0 */
    r[RS + 1] = 1.0f + 2 * 0x1p-23f;  /* 2 ulp */
    r[RS + 2] = 1.0f;                 /* 0 */
    r[RS + 3] = 2.0f;                 /* 0 */
    CHECK(ln_error_measure(r, RS, hi, lo, TS, 2, 4, &st) == 0, "measure failed");
    CHECK(st.count == 8, "count %zu", st.count);
    CHECK_EQ(st.max_ulp, 3.0);
    CHECK(st.max_row == 0 && st.max_col == 3, "max at (%zu, %zu)", st.max_row, st.max_col);
    CHECK_EQ(st.mean_ulp, 6.5 / 8);
    CHECK_EQ(st.p99_ulp, 3.0);   /* nearest rank: ceil(0.99*8) = 8th */
    CHECK_EQ(st.frac_cr, 5.0 / 8);
    CHECK_EQ(st.frac_faithful, 6.0 / 8);
    /* normwise: max|r - t| = 3 * 2^-23, max|t| = 2, in units of 2^-24 */
    CHECK_EQ(st.normwise, 3.0);
    CHECK(st.nonfinite == 0, "nonfinite %zu", st.nonfinite);

    /* a NaN where t is finite: counted, max infinite at that position,
     * mean over the finite ones, normwise infinite */
    r[RS + 2] = NAN;
    CHECK(ln_error_measure(r, RS, hi, lo, TS, 2, 4, &st) == 0, "measure failed");
    CHECK(st.nonfinite == 1, "nonfinite %zu", st.nonfinite);
    CHECK(isinf(st.max_ulp), "max %g", st.max_ulp);
    CHECK(st.max_row == 1 && st.max_col == 2, "max at (%zu, %zu)", st.max_row, st.max_col);
    CHECK_EQ(st.mean_ulp, 6.5 / 7);
    CHECK_EQ(st.frac_cr, 4.0 / 8);
    CHECK_EQ(st.frac_faithful, 5.0 / 8);
    CHECK(isinf(st.normwise), "normwise %g", st.normwise);

    /* NaN rows in the truth matched by NaN outputs are not errors */
    r[RS + 2] = 1.0f;
    for (i = 0; i < 4; i++) {
        hi[TS + i] = NAN;
        lo[TS + i] = NAN;
        r[RS + i] = NAN;
    }
    CHECK(ln_error_measure(r, RS, hi, lo, TS, 2, 4, &st) == 0, "measure failed");
    CHECK(st.nonfinite == 0, "nonfinite %zu", st.nonfinite);
    CHECK_EQ(st.max_ulp, 3.0);
    CHECK_EQ(st.normwise, 3.0 * 2); /* max|t| is now 1 */

    /* all-zero truth: normwise 0 when r is all zero, else infinite */
    for (i = 0; i < 4; i++) {
        hi[i] = 0.0;
        r[i] = 0.0f;
    }
    CHECK(ln_error_measure(r, RS, hi, lo, TS, 1, 4, &st) == 0, "measure failed");
    CHECK_EQ(st.normwise, 0.0);
    CHECK_EQ(st.frac_cr, 1.0);
    r[2] = 0x1p-149f;
    CHECK(ln_error_measure(r, RS, hi, lo, TS, 1, 4, &st) == 0, "measure failed");
    CHECK(isinf(st.normwise), "normwise %g", st.normwise);
    CHECK_EQ(st.max_ulp, 1.0);
}

/* p99 on a larger set where the answer is known: errors k/1000 ulp for
 * k = 1..1000 in shuffled order; nearest rank 990 -> 0.99 ulp. */
static void test_p99(void)
{
    enum { N = 1000 };
    float *r = malloc(N * sizeof *r);
    double *hi = malloc(N * sizeof *hi), *lo = calloc(N, sizeof *lo);
    ln_error_stats st;
    int i;

    if (r == NULL || hi == NULL || lo == NULL) {
        CHECK_FAIL("out of memory");
        return;
    }
    for (i = 0; i < N; i++) {
        int k = (i * 7919) % N + 1; /* a permutation of 1..N */
        /* t = 1 + 2^-10 (ulp 2^-23 exactly representable); r = 1+2^-10 */
        hi[i] = 1.0 + 0x1p-10 + k * 0x1p-23 / 1024;
        r[i] = 1.0f + 0x1p-10f;
    }
    CHECK(ln_error_measure(r, N, hi, lo, N, 1, N, &st) == 0, "measure failed");
    CHECK_EQ(st.p99_ulp, 990.0 / 1024);
    CHECK_EQ(st.max_ulp, 1.0 * 1000 / 1024);
    CHECK(hi[st.max_col] == 1.0 + 0x1p-10 + 1000 * 0x1p-23 / 1024, "max at column %zu", st.max_col);
    free(r);
    free(hi);
    free(lo);
}

int main(void)
{
    test_ulp();
    test_ulp_error();
    test_measure();
    test_p99();
    return CHECK_DONE("test_ulp_error");
}
