/*
 * ground_truth.h - the correctly rounded norms of binary32, bf16 or fp16
 * inputs (MPFR): every operation, dtype and cast of kernels/lnbench_kernel.h.
 *
 * For each element the exact value t of the operation's definition (biased
 * variance, eps the binary32 value the kernels use; for the add_ operations
 * the norm of h = RN_dtype(x + residual)), with the cast's roundings:
 *   single  t = n gamma + beta, n the exact normalised value;
 *   llama   t = w RN_dtype(n), the inner rounding proven like the outer one;
 *   gemma   t = n fl32(1 + w);
 * (an absent gamma / w scales by 1 in every cast), returned two ways:
 *   rounded[i]   the value of the output format (the dtype: binary32 p = 24,
 *                bf16 p = 8, both emin -126; fp16 p = 11, emin -14) nearest
 *                t, ties to even, proven by a Ziv loop; subnormal results and
 *                overflow (fp16: to infinity from 65520 = 65504 + half an
 *                ulp, which is then the right answer) rounded correctly.  A
 *                binary32 holds every such value exactly;
 *   hi[i]+lo[i]  t itself to about 106 bits (an unevaluated double-double,
 *                |t - (hi + lo)| < 2^-105 |t|), for the error measure.
 * Rows holding NaN or Inf have no exact value: their outputs are NaN.  So
 * are all outputs when eps is not finite or var + eps <= 0 (a constant row
 * with eps = 0: 0/0), and a column's outputs when its gamma or beta is not
 * finite.  Rows of more than 2^38 elements are not supported.
 */
#ifndef LNBENCH_GROUND_TRUTH_H
#define LNBENCH_GROUND_TRUTH_H

#include "lnbench_kernel.h"

#include <stddef.h>

/* One problem: the operation, its dtype and cast, and its inputs, every
 * value of which must be a value of the dtype (checked: -1 otherwise). */
typedef struct ln_gt_spec {
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;         /* llama / gemma only with the RMS forms */
    const float *x;       /* rows x dim, row stride x_stride */
    const float *residual; /* add_ operations: like x; else NULL */
    size_t rows, dim, x_stride;
    const float *gamma;   /* gamma, or w for the RMS forms: dim values or NULL */
    const float *beta;    /* dim values or NULL (NULL for the RMS forms) */
    float eps;
} ln_gt_spec;

/* The ground truth of s: rounded / hi / lo as above, rows x dim with row
 * stride out_stride (hi, lo may be NULL); h (add_ operations only, else
 * NULL) receives RN_dtype(x + residual), the residual stream the kernels
 * write.  Returns 0, or -1 with a one-line message in err. */
int ln_ground_truth_op(const ln_gt_spec *s, float *rounded, double *hi,
                       double *lo, float *h, size_t out_stride,
                       unsigned threads, char *err, size_t errlen);

/* LayerNorm, binary32, cast single (ln_ground_truth_op's first case).
 * x: rows x dim with row stride x_stride; gamma/beta length dim or NULL.
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
