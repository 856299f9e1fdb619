/*
 * two_pass_f64.c - two-pass statistics and the whole normalisation in double,
 * one rounding to the dtype at the end: the scalar accuracy baseline, and the
 * reference the edge tests compare every kernel with, for every operation,
 * dtype and cast.
 *
 * Why it is within 1 ulp: every binary32 (so every bf16 and f16) is exact in
 * double; the double sum of n <= 2^29 floats of one binade range loses at
 * most ~n 2^-53 relatively, so the mean, the deviations, the variance and
 * the mean square carry errors near 2^-40 even for n = 12288, far below the
 * final rounding's 2^-24 (2^-8 in bf16, 2^-11 in f16).  The result is the
 * correctly rounded value except where the double result lies within ~2^-29
 * ulp of a rounding boundary, or where gamma*xhat and beta cancel.  The
 * rounding to bf16/f16 is one rounding from double (ln_round_d).
 * A constant row sums exactly in double (24 + 29 bits < 53), so its mean is
 * exactly x and the LayerNorm output is exactly beta.  Squares of binary32
 * values cannot overflow double, so rows with |x| up to FLT_MAX are right.
 *
 * The casts, with n = (x - mean) * rstd (x * rstd for the RMS forms) in
 * double:
 *   single  y = round(n * gamma + beta)
 *   llama   y = round(round(n) * w): round(n) * w is exact in double
 *   gemma   y = round(n * fl32(1 + w)): 1 + w rounded to binary32 first, as
 *           the definition says (HF GemmaRMSNorm forms it in float32)
 * add_ ops: h = round(x + residual) (norm_rows.h), then the norm of h.
 */
#include "lnbench_kernel.h"
#include "norm_rows.h"

#include <math.h>

static LN_ALWAYS_INLINE void two_pass_f64_rows(const ln_desc *d, const ln_tensors *t,
                                               ln_dtype dt)
{
    const ln_norm_rows view = ln_norm_rows_of(d, t), *a = &view;
    int rms = ln_op_is_rms(a->op);
    for (size_t i = 0; i < a->rows; i++) {
        const void *x = ln_row_source(a, dt, i);
        void *y = ln_row_out(dt, a->y, i, a->y_stride);
        double mean = 0.0, ssq = 0.0;
        if (!rms) {
            double sum = 0.0;
            for (size_t j = 0; j < a->dim; j++)
                sum += ln_dtype_load(dt, x, j);
            mean = sum / (double)a->dim;
        }
        for (size_t j = 0; j < a->dim; j++) {
            double dev = ln_dtype_load(dt, x, j) - mean;
            ssq += dev * dev;
        }
        double rstd = 1.0 / sqrt(ssq / (double)a->dim + (double)a->eps);
        /* Only an Inf or NaN in the row makes ssq non-finite (LayerNorm:
         * Inf - Inf in the deviations; RMS: the Inf square, whose rstd 0
         * would give finite elements 0): the whole row is NaN. */
        if (!isfinite(ssq))
            rstd = NAN;
        for (size_t j = 0; j < a->dim; j++) {
            double n = (ln_dtype_load(dt, x, j) - mean) * rstd, v;
            if (a->cast == LN_CAST_LLAMA)
                v = a->gamma ? (double)ln_round_d(dt, n) * ln_dtype_load(dt, a->gamma, j) : n;
            else if (a->cast == LN_CAST_GEMMA)
                v = a->gamma ? n * (double)(1.0f + ln_dtype_load(dt, a->gamma, j)) : n;
            else {
                v = n;
                if (a->gamma)
                    v *= ln_dtype_load(dt, a->gamma, j);
                if (a->beta)
                    v += ln_dtype_load(dt, a->beta, j);
            }
            ln_dtype_store(dt, y, j, ln_round_d(dt, v));
        }
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : (float)mean; /* Inf rows: NaN, not Inf */
        if (a->rstd)
            a->rstd[i] = (float)rstd;
    }
}

static int two_pass_f64_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    (void)state;
    switch (d->dtype) {
    case LN_DTYPE_BF16:
        two_pass_f64_rows(d, t, LN_DTYPE_BF16);
        break;
    case LN_DTYPE_F16:
        two_pass_f64_rows(d, t, LN_DTYPE_F16);
        break;
    default:
        two_pass_f64_rows(d, t, LN_DTYPE_F32);
    }
    return 0;
}

const ln_kernel ln_kernel_two_pass_f64 = {
    .name = "two_pass_f64",
    .family = "scalar",
    .description = "double two-pass, one rounding at the end: scalar baseline",
    .forward = two_pass_f64_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) |
                    LN_BIT(LN_OP_ADD_LAYERNORM) | LN_BIT(LN_OP_ADD_RMSNORM),
             .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16),
             .casts = LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT | LN_CAP_WIDE_RANGE | LN_CAP_FAITHFUL},
};
