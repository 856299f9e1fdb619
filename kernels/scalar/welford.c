/*
 * welford.c - Welford's one-pass update in float:
 *     delta = x - mean;  mean += delta / k;  m2 += delta * (x - mean)
 *
 * One pass over the row for the statistics, numerically far better than
 * E[x^2] - E[x]^2 (relative error of the variance ~n kappa u, Chan, Golub &
 * LeVeque 1983), but a division per element and a serial dependency make it
 * slow, and the mean still drifts by ~n u |mean| on offset rows.
 */
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static inline void welford_stats(const void *x, ln_dtype dt, size_t dim, float eps,
                                 float *mean_out, float *rstd_out)
{
    float mean = 0.0f, m2 = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        float xj = ln_dtype_load(dt, x, j);
        float delta = xj - mean;
        mean += delta / (float)(j + 1);
        m2 += delta * (xj - mean);
    }
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(m2 / (float)dim + eps);
}

LN_SCALAR_FLOAT_KERNEL(welford, "float Welford one-pass mean/variance update");
