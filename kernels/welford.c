/*
 * welford.c - Welford's one-pass update in float:
 *     delta = x - mean;  mean += delta / k;  m2 += delta * (x - mean)
 *
 * One pass over the row for the statistics, numerically far better than
 * E[x^2] - E[x]^2 (relative error of the variance ~n kappa u, Chan, Golub &
 * LeVeque 1983), but a division per element and a serial dependency make it
 * slow, and the mean still drifts by ~n u |mean| on offset rows.
 */
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static int welford_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float mean = 0.0f, m2 = 0.0f;
        for (size_t j = 0; j < a->dim; j++) {
            float delta = x[j] - mean;
            mean += delta / (float)(j + 1);
            m2 += delta * (x[j] - mean);
        }
        float rstd = 1.0f / sqrtf(m2 / (float)a->dim + a->eps);
        ln_apply_row_f32(x, a->y + i * a->y_stride, a->dim, mean, rstd,
                         a->gamma, a->beta);
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : mean; /* Inf rows: NaN, not Inf */
        if (a->rstd)
            a->rstd[i] = rstd;
    }
    return 0;
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
