/*
 * two_pass_f64.c - two-pass statistics and the whole normalisation in double,
 * one rounding to binary32 at the end: the scalar accuracy baseline.
 *
 * Why it is within 1 ulp: every binary32 is exact in double; the double sum
 * of n <= 2^29 floats of one binade range loses at most ~n 2^-53 relatively,
 * so the mean, the deviations and the variance carry errors near 2^-40 even
 * for n = 12288, far below the final rounding's 2^-24.  The result is the
 * correctly rounded value except where the double result lies within ~2^-29
 * ulp of a rounding boundary, or where gamma*xhat and beta cancel.
 * A constant row sums exactly in double (24 + 29 bits < 53), so its mean is
 * exactly x and the output is exactly beta.
 */
#include "f32_rows.h"
#include "lnbench_kernel.h"

#include <math.h>

static int two_pass_f64_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float *y = a->y + i * a->y_stride;
        double sum = 0.0;
        for (size_t j = 0; j < a->dim; j++)
            sum += x[j];
        double mean = sum / (double)a->dim;
        double ssq = 0.0;
        for (size_t j = 0; j < a->dim; j++) {
            double dev = x[j] - mean;
            ssq += dev * dev;
        }
        double rstd = 1.0 / sqrt(ssq / (double)a->dim + (double)a->eps);
        for (size_t j = 0; j < a->dim; j++) {
            double v = (x[j] - mean) * rstd;
            if (a->gamma)
                v *= a->gamma[j];
            if (a->beta)
                v += a->beta[j];
            y[j] = (float)v;
        }
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : (float)mean; /* Inf rows: NaN, not Inf */
        if (a->rstd)
            a->rstd[i] = (float)rstd;
    }
    return 0;
}

const ln_kernel ln_kernel_two_pass_f64 = {
    .name = "two_pass_f64",
    .family = "scalar",
    .description = "double two-pass, one rounding at the end: scalar baseline",
    .forward = two_pass_f64_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT | LN_CAP_WIDE_RANGE | LN_CAP_FAITHFUL},
};
