/*
 * naive_two_pass.c - the mean, then the sum of squared deviations, then
 * normalise; float accumulators added in order.
 *
 * Error: the float sum of n terms has relative error up to ~n u (u = 2^-24),
 * and with an offset row the mean's absolute error ~n u |mean| is carried
 * into every deviation x - mean: on offset1e4 rows that is worth thousands of
 * ulps of the output.  This is what most hand-written LayerNorms do.
 *
 * bf16 and f16 rows are widened to binary32 and rounded back at the end,
 * as the peers' float kernels do (row_apply.h); RMSNorm is the sum of
 * squares in float, the statistic every peer's RMSNorm computes.
 */
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static inline void naive_two_pass_stats(const void *x, ln_dtype dt, size_t dim, float eps,
                                        float *mean_out, float *rstd_out)
{
    float sum = 0.0f;
    for (size_t j = 0; j < dim; j++)
        sum += ln_dtype_load(dt, x, j);
    float mean = sum / (float)dim;
    float ssq = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        float dev = ln_dtype_load(dt, x, j) - mean;
        ssq += dev * dev;
    }
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(ssq / (float)dim + eps);
}

/* RMSNorm has no mean: one pass for the sum of squares.  A sum that
 * reaches Inf, from an Inf in the row or from squares overflowing binary32
 * (|x| beyond ~1.8e19, or many values near it), gives rstd NaN and so an
 * all-NaN row: 1/sqrt(Inf) = 0 would turn the finite elements into 0. */
static inline void naive_two_pass_rms(const void *x, ln_dtype dt, size_t dim, float eps,
                                      float *rstd_out)
{
    float ssq = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        float v = ln_dtype_load(dt, x, j);
        ssq += v * v;
    }
    *rstd_out = isinf(ssq) ? NAN : 1.0f / sqrtf(ssq / (float)dim + eps);
}

LN_SCALAR_FLOAT_KERNEL_RMS(naive_two_pass,
                           "float two-pass: sum for the mean, then squared deviations");
