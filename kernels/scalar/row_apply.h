/*
 * row_apply.h - the row driver shared by the float scalar kernels, for
 * every dtype and operation they declare.  Per row:
 *
 *   add_ ops   h = round(x + residual) written out, then h (read back, the
 *              rounded value) is the row normalised;
 *   stats      the kernel's own statistics in binary32 from the row widened
 *              to binary32: mean and rstd = 1/sqrt(var + eps), or for the
 *              RMS forms rstd = 1/sqrt(mean(x^2) + eps) (mean 0);
 *   output     n = (x - mean) * rstd in binary32, then by cast
 *                single  y = round(n * gamma + beta)
 *                llama   y = round(round(n) * w)   (the product of two dtype
 *                        values is exact in binary32: see norm_rows.h)
 *                gemma   y = round(n * fl32(1 + w))
 *              rounding to the dtype at the end, as the peers' float
 *              kernels do (on f32 rounding is the identity);
 *   mean/rstd  out when asked for.
 *
 * Kept as inline functions so that the scalar kernels differ only in how
 * they compute the statistics, which is what they are there to compare.
 * The forward switches on the dtype once per call; each case inlines the
 * driver and the statistics with a constant dtype, so the loads and stores
 * fold into one loop per dtype.
 */
#ifndef LNBENCH_ROW_APPLY_H
#define LNBENCH_ROW_APPLY_H

#include "norm_rows.h"

#include <math.h>
#include <stddef.h>

/* One row's LayerNorm statistics: *mean, and *rstd = 1/sqrt(var + eps).
 * x holds dim elements of dt. */
typedef void ln_row_stats(const void *x, ln_dtype dt, size_t dim, float eps, float *mean,
                          float *rstd);

/* One row's RMS statistic: *rstd = 1/sqrt(mean(x^2) + eps), NaN when the
 * row holds NaN or Inf. */
typedef void ln_row_rms(const void *x, ln_dtype dt, size_t dim, float eps, float *rstd);

static LN_ALWAYS_INLINE void ln_apply_row(const ln_norm_rows *a, ln_dtype dt, const void *x,
                                          void *y, float mean, float rstd)
{
    const void *gamma = a->gamma, *beta = a->beta;
    for (size_t j = 0; j < a->dim; j++) {
        float n = (ln_dtype_load(dt, x, j) - mean) * rstd, v;
        if (a->cast == LN_CAST_LLAMA)
            v = gamma ? ln_dtype_round(dt, n) * ln_dtype_load(dt, gamma, j) : n;
        else if (a->cast == LN_CAST_GEMMA)
            v = gamma ? n * (1.0f + ln_dtype_load(dt, gamma, j)) : n;
        else {
            v = n;
            if (gamma)
                v *= ln_dtype_load(dt, gamma, j);
            if (beta)
                v += ln_dtype_load(dt, beta, j);
        }
        ln_dtype_store(dt, y, j, v);
    }
}

/* A whole forward call on dtype dt, row by row; returns 0 (forward's
 * success).  rms is NULL in kernels without the RMS forms. */
static LN_ALWAYS_INLINE int ln_rows_float_dt(const ln_desc *d, const ln_tensors *t, ln_dtype dt,
                                             ln_row_stats *stats, ln_row_rms *rms)
{
    const ln_norm_rows view = ln_norm_rows_of(d, t), *a = &view;
    int is_rms = ln_op_is_rms(a->op);
    for (size_t i = 0; i < a->rows; i++) {
        const void *x = ln_row_source(a, dt, i);
        void *y = ln_row_out(dt, a->y, i, a->y_stride);
        float mean = 0.0f, rstd;
        if (is_rms)
            rms(x, dt, a->dim, a->eps, &rstd);
        else
            stats(x, dt, a->dim, a->eps, &mean, &rstd);
        ln_apply_row(a, dt, x, y, mean, rstd);
        /* A row holding Inf has mean +-Inf but rstd NaN: its mean is
         * reported as NaN, like the rest of the row. */
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : mean;
        if (a->rstd)
            a->rstd[i] = rstd;
    }
    return 0;
}

static LN_ALWAYS_INLINE int ln_rows_float(const ln_desc *d, const ln_tensors *t,
                                          ln_row_stats *stats, ln_row_rms *rms)
{
    switch (d->dtype) {
    case LN_DTYPE_BF16:
        return ln_rows_float_dt(d, t, LN_DTYPE_BF16, stats, rms);
    case LN_DTYPE_F16:
        return ln_rows_float_dt(d, t, LN_DTYPE_F16, stats, rms);
    default:
        return ln_rows_float_dt(d, t, LN_DTYPE_F32, stats, rms);
    }
}

/* Defines ln_kernel_<name>, a float scalar kernel whose statistics are
 * <name>_stats (and, with _RMS, <name>_rms for rmsnorm and add_rmsnorm),
 * run row by row by ln_rows_float on every dtype (its forward is
 * <name>_forward: scripts/icount finds kernels by that name). */
#define LN_SCALAR_FLOAT_KERNEL_(kname, kdescription, krms, kops, kcasts)               \
    static int kname##_forward(const ln_desc *d, const ln_tensors *t, void *state)      \
    {                                                                                   \
        (void)state;                                                                    \
        return ln_rows_float(d, t, kname##_stats, krms);                                \
    }                                                                                   \
    const ln_kernel ln_kernel_##kname = {                                               \
        .name = #kname,                                                                 \
        .family = "scalar",                                                             \
        .description = kdescription,                                                    \
        .forward = kname##_forward,                                                     \
        .caps = {.ops = (kops),                                                         \
                 .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) |               \
                           LN_BIT(LN_DTYPE_F16),                                        \
                 .casts = (kcasts),                                                     \
                 .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,                          \
                 .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN |         \
                            LN_TENSOR_RSTD,                                             \
                 .flags = 0},                                                           \
    }

/* LayerNorm and add_layernorm only. */
#define LN_SCALAR_FLOAT_KERNEL(kname, kdescription)                                     \
    LN_SCALAR_FLOAT_KERNEL_(kname, kdescription, NULL,                                  \
                            LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_ADD_LAYERNORM), 0u)

/* Every operation. */
#define LN_SCALAR_FLOAT_KERNEL_RMS(kname, kdescription)                                 \
    LN_SCALAR_FLOAT_KERNEL_(kname, kdescription, kname##_rms,                           \
                            LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_ADD_LAYERNORM) |     \
                                LN_BIT(LN_OP_RMSNORM) | LN_BIT(LN_OP_ADD_RMSNORM),      \
                            LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA))

#endif
