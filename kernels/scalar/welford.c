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

static void welford_stats(const float *x, size_t dim, float eps,
                          float *mean_out, float *rstd_out)
{
    float mean = 0.0f, m2 = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        float delta = x[j] - mean;
        mean += delta / (float)(j + 1);
        m2 += delta * (x[j] - mean);
    }
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(m2 / (float)dim + eps);
}

static int welford_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    (void)state;
    return ln_rows_f32(d, t, welford_stats);
}

const ln_kernel ln_kernel_welford = {
    .name = "welford",
    .family = "scalar",
    .description = "float Welford one-pass mean/variance update",
    .forward = welford_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = 0},
};
