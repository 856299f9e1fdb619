/*
 * ground_truth.h - the correctly rounded LayerNorm of binary32 inputs (MPFR).
 *
 * For each element: t = (x - mean) / sqrt(var + eps) * gamma + beta computed
 * exactly on the real numbers (biased variance, eps the binary32 value the
 * kernels use), returned two ways:
 *   rounded[i]   the binary32 value nearest t (ties to even), proven by a Ziv
 *                loop, subnormal and overflowing results rounded correctly;
 *   hi[i]+lo[i]  t itself to about 106 bits (an unevaluated double-double,
 *                |t - (hi + lo)| < 2^-105 |t|), for the error measure.
 * Rows holding NaN or Inf have no exact value: their outputs are NaN.  So
 * are all outputs when eps is not finite or var + eps <= 0 (a constant row
 * with eps = 0: 0/0), and a column's outputs when its gamma or beta is not
 * finite.  Rows of more than 2^38 elements are not supported.
 */
#ifndef LNBENCH_GROUND_TRUTH_H
#define LNBENCH_GROUND_TRUTH_H

#include <stddef.h>

/* x: rows x dim with row stride x_stride; gamma/beta length dim or NULL.
 * Outputs are rows x dim with row stride out_stride; hi/lo may be NULL.
 * threads: worker threads to use (0 = one per online CPU).
 * Returns 0, or -1 with a one-line message in err (e.g. the precision cap
 * was reached, which would be a bug worth reporting). */
int ln_ground_truth(const float *x, size_t rows, size_t dim, size_t x_stride,
                    const float *gamma, const float *beta, float eps,
                    float *rounded, double *hi, double *lo, size_t out_stride,
                    unsigned threads, char *err, size_t errlen);

/* Testing only: start the Ziv loop at p0 bits (16..32768) and demand only
 * good_bits (<= 114) correct bits of t, so that the rounding test and the
 * proven error bound, not the generous defaults, decide the roundings
 * (hi + lo are then only good to about good_bits).  (0, 0) restores the
 * defaults.  Returns -1 for parameters out of range.  Not to be called
 * while ln_ground_truth runs in another thread. */
int ln_ground_truth_tune(unsigned p0, unsigned good_bits);

#endif
