/*
 * row_apply.h - the row driver shared by the float scalar kernels: for each
 * row, the kernel's own statistics (mean and rstd), then
 * y = (x - mean) * rstd * gamma + beta with gamma/beta optional, then the
 * statistics out when asked for.
 *
 * Kept as inline functions so that the scalar kernels differ only in how
 * they compute the statistics, which is what they are there to compare;
 * with the statistics function a constant, the compiler inlines it.
 */
#ifndef LNBENCH_ROW_APPLY_H
#define LNBENCH_ROW_APPLY_H

#include "f32_rows.h"

#include <math.h>
#include <stddef.h>

static inline void ln_apply_row_f32(const float *x, float *y, size_t dim,
                                    float mean, float rstd,
                                    const float *gamma, const float *beta)
{
    for (size_t j = 0; j < dim; j++) {
        float v = (x[j] - mean) * rstd;
        if (gamma)
            v *= gamma[j];
        if (beta)
            v += beta[j];
        y[j] = v;
    }
}

/* One row's statistics: *mean, and *rstd = 1/sqrt(var + eps). */
typedef void ln_row_stats_f32(const float *x, size_t dim, float eps,
                              float *mean, float *rstd);

/* A whole forward call, rows by row; returns 0 (forward's success). */
static inline int ln_rows_f32(const ln_desc *d, const ln_tensors *t, ln_row_stats_f32 *stats)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float mean, rstd;
        stats(x, a->dim, a->eps, &mean, &rstd);
        ln_apply_row_f32(x, a->y + i * a->y_stride, a->dim, mean, rstd,
                         a->gamma, a->beta);
        /* A row holding Inf has mean +-Inf but rstd NaN: its mean is
         * reported as NaN, like the rest of the row. */
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : mean;
        if (a->rstd)
            a->rstd[i] = rstd;
    }
    return 0;
}

/* Defines ln_kernel_<name>, a float scalar kernel whose statistics are
 * <name>_stats, run row by row by ln_rows_f32 (its forward is
 * <name>_forward: scripts/icount finds kernels by that name). */
#define LN_SCALAR_F32_KERNEL(kname, kdescription)                                       \
    static int kname##_forward(const ln_desc *d, const ln_tensors *t, void *state)      \
    {                                                                                   \
        (void)state;                                                                    \
        return ln_rows_f32(d, t, kname##_stats);                                        \
    }                                                                                   \
    const ln_kernel ln_kernel_##kname = {                                               \
        .name = #kname,                                                                 \
        .family = "scalar",                                                             \
        .description = kdescription,                                                    \
        .forward = kname##_forward,                                                     \
        .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),       \
                 .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,                          \
                 .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN |         \
                            LN_TENSOR_RSTD,                                             \
                 .flags = 0},                                                           \
    }

#endif
