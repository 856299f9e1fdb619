/*
 * naive_two_pass.c - the mean, then the sum of squared deviations, then
 * normalise; float accumulators added in order.
 *
 * Error: the float sum of n terms has relative error up to ~n u (u = 2^-24),
 * and with an offset row the mean's absolute error ~n u |mean| is carried
 * into every deviation x - mean: on offset1e4 rows that is worth thousands of
 * ulps of the output.  This is what most hand-written LayerNorms do.
 */
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static int naive_two_pass_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float sum = 0.0f;
        for (size_t j = 0; j < a->dim; j++)
            sum += x[j];
        float mean = sum / (float)a->dim;
        float ssq = 0.0f;
        for (size_t j = 0; j < a->dim; j++) {
            float dev = x[j] - mean;
            ssq += dev * dev;
        }
        float rstd = 1.0f / sqrtf(ssq / (float)a->dim + a->eps);
        ln_apply_row_f32(x, a->y + i * a->y_stride, a->dim, mean, rstd,
                         a->gamma, a->beta);
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : mean; /* Inf rows: NaN, not Inf */
        if (a->rstd)
            a->rstd[i] = rstd;
    }
    return 0;
}

const ln_kernel ln_kernel_naive_two_pass = {
    .name = "naive_two_pass",
    .family = "scalar",
    .description = "float two-pass: sum for the mean, then squared deviations",
    .forward = naive_two_pass_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = 0},
};
