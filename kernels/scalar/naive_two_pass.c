/*
 * naive_two_pass.c - the mean, then the sum of squared deviations, then
 * normalise; float accumulators added in order.
 *
 * Error: the float sum of n terms has relative error up to ~n u (u = 2^-24),
 * and with an offset row the mean's absolute error ~n u |mean| is carried
 * into every deviation x - mean: on offset1e4 rows that is worth thousands of
 * ulps of the output.  This is what most hand-written LayerNorms do.
 */
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static void naive_two_pass_stats(const float *x, size_t dim, float eps,
                                 float *mean_out, float *rstd_out)
{
    float sum = 0.0f;
    for (size_t j = 0; j < dim; j++)
        sum += x[j];
    float mean = sum / (float)dim;
    float ssq = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        float dev = x[j] - mean;
        ssq += dev * dev;
    }
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(ssq / (float)dim + eps);
}

LN_SCALAR_F32_KERNEL(naive_two_pass, "float two-pass: sum for the mean, then squared deviations");
