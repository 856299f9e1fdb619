/*
 * ulp_error.h - how wrong a result is against the exact value, in the ulp of
 * its output format (the dtype: binary32 p = 24, emin = -126; bf16 p = 8,
 * emin = -126; fp16 p = 11, emin = -14).
 *
 * ulp(t) = 2^(max(floor(log2|t|), emin) - p + 1), ulp(0) = 2^(emin - p + 1)
 * (binary32: 2^(max(floor(log2|t|), -126) - 23) and 2^-149; the convention
 * of Zimmermann's libm accuracy tables and CORE-MATH), so an error <= 0.5
 * means r is the correctly rounded value (up to ties).  t is given as an
 * unevaluated double-double hi + lo; r, whatever the format, as the
 * binary32 that holds it exactly.
 */
#ifndef LNBENCH_ULP_ERROR_H
#define LNBENCH_ULP_ERROR_H

#include "lnbench_kernel.h"

#include <stddef.h>

/* ulp of the binary32 format at the real t = hi + lo (hi finite). */
double ln_ulp(double hi, double lo);
/* ... and of dt's format; its precision p (24, 8, 11). */
double ln_ulp_fmt(double hi, double lo, ln_dtype dt);
int ln_dtype_precision(ln_dtype dt);

/* |r - t| / ulp(t).  +INFINITY when r is NaN or infinite while t is finite
 * (a nonfinite mismatch); 0 when t is NaN and r is NaN too; +INFINITY when t
 * is NaN and r is not. */
double ln_ulp_error(float r, double hi, double lo);
/* ... in dt's format (r a value of it); infinity is correct where t is at
 * or beyond the format's overflow threshold (fp16: 65520). */
double ln_ulp_error_fmt(float r, double hi, double lo, ln_dtype dt);

/* Summary of one kernel's outputs against the truth.  Nonfinite mismatches
 * are counted in `nonfinite` and make max_ulp +INFINITY; mean_ulp and p99_ulp
 * are taken over the elements with a finite error.  Fractions are over all
 * elements (a nonfinite mismatch is neither correctly rounded nor faithful). */
typedef struct ln_error_stats {
    size_t count;          /* elements measured */
    double max_ulp;        /* largest error (+INFINITY with nonfinite > 0) */
    size_t max_row, max_col; /* where the largest error happened */
    double mean_ulp;
    double p99_ulp;        /* 99th percentile */
    double frac_cr;        /* fraction with error <= 0.5 */
    double frac_faithful;  /* fraction with error <= 1 */
    /* max|r - t| / max|t|, in units of the format's unit roundoff 2^-p
     * (binary32 2^-24, bf16 2^-8, fp16 2^-11) */
    double normwise;
    /* mean|r - t| / max|t|, in units of 2^-p: the typical error on the
     * scale of the outputs.  Unlike mean_ulp it stays finite where t
     * cancels to (nearly) 0, e.g. x_i equal to the row's mean without beta:
     * there ulp(t) is 2^-149 and one element can dominate mean_ulp. */
    double normwise_mean;
    size_t nonfinite;      /* NaN/Inf where t is finite */
    /* add_ operations (set by reference/accuracy.c; 0 otherwise): the
     * elements of h measured, and those not equal to the correctly
     * rounded x + residual (h has no rounding freedom: any is a bug). */
    size_t h_count, h_mismatch;
} ln_error_stats;

/* r: rows x dim, row stride r_stride; hi/lo: rows x dim, row stride
 * t_stride.  Returns 0, or -1 if memory for the percentile ran out. */
int ln_error_measure(const float *r, size_t r_stride,
                     const double *hi, const double *lo, size_t t_stride,
                     size_t rows, size_t dim, ln_error_stats *out);
/* ... in dt's format (ln_error_measure is dt = binary32). */
int ln_error_measure_fmt(const float *r, size_t r_stride,
                         const double *hi, const double *lo, size_t t_stride,
                         size_t rows, size_t dim, ln_dtype dt,
                         ln_error_stats *out);

#endif
