/*
 * ulp_error.c - how wrong a binary32 result is against the exact value.
 *
 * The exact value t arrives as an unevaluated double-double hi + lo (from
 * ground_truth.c: |t - (hi + lo)| <= 2^-106 |t|), which is far more than the
 * ulp measure needs; everything here is plain double arithmetic whose
 * rounding errors are argued next to each step.
 */
#include "ulp_error.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The formats: precision p and the normal exponent range [emin, emax]. */
static const struct {
    int p, emin, emax;
} fmts[LN_DTYPE_COUNT] = {
    [LN_DTYPE_F32] = {24, -126, 127},
    [LN_DTYPE_BF16] = {8, -126, 127},
    [LN_DTYPE_F16] = {11, -14, 15},
};

int ln_dtype_precision(ln_dtype dt)
{
    return (unsigned)dt < LN_DTYPE_COUNT ? fmts[dt].p : 24;
}

double ln_ulp(double hi, double lo)
{
    return ln_ulp_fmt(hi, lo, LN_DTYPE_F32);
}

double ln_ulp_error(float r, double hi, double lo)
{
    return ln_ulp_error_fmt(r, hi, lo, LN_DTYPE_F32);
}

double ln_ulp_fmt(double hi, double lo, ln_dtype dt)
{
    int e, p, emin;

    if ((unsigned)dt >= LN_DTYPE_COUNT)
        dt = LN_DTYPE_F32;
    p = fmts[dt].p;
    emin = fmts[dt].emin;

    /* A normalised double-double has hi == 0 only when t == 0, but take lo
     * if a caller hands us (0, lo). */
    if (hi == 0.0) {
        hi = lo;
        lo = 0.0;
    }
    if (hi == 0.0)
        return ldexp(1.0, emin - p + 1);
    /* floor(log2|hi|) */
    e = ilogb(hi);
    /* |lo| <= ulp_53(hi)/2, so t lies in the same binade as hi except when
     * |hi| is an exact power of two and lo points towards zero: then
     * |t| < |hi| and floor(log2|t|) is one less. */
    if (lo != 0.0 && ldexp(1.0, e) == fabs(hi) && (lo < 0) != (hi < 0))
        e--;
    if (e < emin)
        e = emin;
    return ldexp(1.0, e - p + 1);
}

double ln_ulp_error_fmt(float r, double hi, double lo, ln_dtype dt)
{
    double d, top, ovf, ulp_top;

    if ((unsigned)dt >= LN_DTYPE_COUNT)
        dt = LN_DTYPE_F32;
    /* 2^(emax+1), the overflow threshold (2 - 2^-p) 2^emax (the midpoint
     * between the largest finite value and 2^(emax+1); reals at or above
     * it round to infinity, ties to even: 2^(emax+1) would be "even"), and
     * the ulp of the top binade.  binary32: 2^128, 0x1.ffffffp+127, 2^104. */
    top = ldexp(1.0, fmts[dt].emax + 1);
    ovf = ldexp(2.0 - ldexp(1.0, -fmts[dt].p), fmts[dt].emax);
    ulp_top = ldexp(1.0, fmts[dt].emax - fmts[dt].p + 1);

    if (isnan(hi) || isnan(lo))
        return isnan(r) ? 0.0 : INFINITY;
    if (isnan(r))
        return INFINITY;
    if (isinf(r)) {
        /* Infinity is the correctly rounded value of a finite t with |t|
         * at or above the overflow threshold.  Measured as if r were
         * +-2^(emax+1) (the next value after the largest finite one, in
         * the top binade's ulp) the error is <= 0.5 exactly then (capped at
         * 0.5 beyond 2^(emax+1), where infinity is still the correct
         * rounding); any other infinity is a nonfinite mismatch.  The
         * threshold test looks at hi and lo separately so a t just below
         * it is not rounded onto it.  An infinite t (a definition that
         * itself overflows) is matched by the same infinity only. */
        double ah = fabs(hi), al = hi < 0 ? -lo : lo;
        if (isinf(hi))
            return r == hi ? 0.0 : INFINITY;
        if ((r > 0) == (hi > 0) && (ah > ovf || (ah == ovf && al >= 0)))
            return ah >= top ? 0.5 : ((top - ah) - al) / ulp_top;
        return INFINITY;
    }
    /* r - t to about 2^-52 relative accuracy.  When (double)r and hi are
     * within a factor 2 of each other, r - hi is exact (Sterbenz), and the
     * only rounding is that of (r - hi) - lo: relative error 2^-53.
     * Otherwise |r - t| >= |t|/2 >= 2^22 ulp and one or two roundings of
     * relative size 2^-53 do not matter for a number that large.  The
     * float r is exact in double, and t - (hi + lo) is below 2^-106 |t|,
     * i.e. below 2^-82 ulp(t). */
    if (isinf(hi))
        return INFINITY;
    d = fabs(((double)r - hi) - lo);
    /* Division by a power of two >= 2^-149: exact in double. */
    return d / ln_ulp_fmt(hi, lo, dt);
}

/* k-th smallest (0-based) of a[0..n-1], reordering a: Hoare's quickselect
 * with a median-of-three pivot, expected O(n).  Signed indices keep the
 * partition loop free of unsigned wrap-around. */
static double select_kth(double *a, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

    while (lo < hi) {
        ptrdiff_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
        double pivot, t;

        if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
        if (a[hi] < a[lo]) { t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
        if (a[hi] < a[mid]) { t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
        pivot = a[mid];
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                t = a[i]; a[i] = a[j]; a[j] = t;
                i++;
                j--;
            }
        }
        /* a[lo..j] <= pivot <= a[i..hi]; anything between equals pivot */
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return a[kk];
    }
    return a[kk];
}

int ln_error_measure(const float *r, size_t r_stride,
                     const double *hi, const double *lo, size_t t_stride,
                     size_t rows, size_t dim, ln_error_stats *out)
{
    return ln_error_measure_fmt(r, r_stride, hi, lo, t_stride, rows, dim,
                                LN_DTYPE_F32, out);
}

int ln_error_measure_fmt(const float *r, size_t r_stride,
                         const double *hi, const double *lo, size_t t_stride,
                         size_t rows, size_t dim, ln_dtype dt,
                         ln_error_stats *out)
{
    /* The format's unit roundoff u = 2^-p: normwise errors are in units
     * of it. */
    double u = ldexp(1.0, -ln_dtype_precision(dt));
    size_t n = rows * dim, nfin = 0, ncr = 0, nfaith = 0, i, j;
    size_t nnorm = 0;
    double *errs = NULL, sum = 0.0, maxdiff = 0.0, maxt = 0.0, sumdiff = 0.0;
    int all_r_zero = 1;

    memset(out, 0, sizeof *out);
    out->count = n;
    out->max_ulp = 0.0;
    if (n == 0)
        return 0;
    errs = malloc(n * sizeof *errs);
    if (errs == NULL)
        return -1;

    for (i = 0; i < rows; i++) {
        for (j = 0; j < dim; j++) {
            float rv = r[i * r_stride + j];
            double h = hi[i * t_stride + j], l = lo[i * t_stride + j];
            double e = ln_ulp_error_fmt(rv, h, l, dt);

            if (isinf(e)) {
                if (out->nonfinite == 0 || out->max_ulp != INFINITY) {
                    out->max_row = i;
                    out->max_col = j;
                }
                out->nonfinite++;
                out->max_ulp = INFINITY;
                continue;
            }
            if (e > out->max_ulp) {
                out->max_ulp = e;
                out->max_row = i;
                out->max_col = j;
            }
            errs[nfin++] = e;
            sum += e;
            if (e <= 0.5)
                ncr++;
            if (e <= 1.0)
                nfaith++;
            /* Normwise error over elements with a finite t and r. */
            if (isfinite(h) && isfinite(rv)) {
                double t = h + l, dd = fabs(((double)rv - h) - l);
                if (fabs(t) > maxt)
                    maxt = fabs(t);
                if (dd > maxdiff)
                    maxdiff = dd;
                sumdiff += dd;
                nnorm++;
                if (rv != 0.0f)
                    all_r_zero = 0;
            }
        }
    }

    if (nfin > 0) {
        /* Nearest-rank 99th percentile: the smallest error e such that at
         * least 99% of the finite errors are <= e. */
        size_t k = (size_t)ceil(0.99 * (double)nfin);
        if (k > 0)
            k--;
        out->mean_ulp = sum / (double)nfin;
        out->p99_ulp = select_kth(errs, nfin, k);
    } else {
        out->mean_ulp = NAN;
        out->p99_ulp = NAN;
    }
    out->frac_cr = (double)ncr / (double)n;
    out->frac_faithful = (double)nfaith / (double)n;
    if (out->nonfinite > 0) {
        out->normwise = INFINITY;
        out->normwise_mean = INFINITY;
    } else if (maxt == 0.0) {
        out->normwise = all_r_zero ? 0.0 : INFINITY;
        out->normwise_mean = out->normwise;
    } else {
        out->normwise = maxdiff / maxt / u;
        out->normwise_mean = nnorm ? sumdiff / (double)nnorm / maxt / u : 0.0;
    }
    free(errs);
    return 0;
}
