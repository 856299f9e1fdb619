/*
 * textbook_one_pass.c - var = E[x^2] - E[x]^2 in float: the cautionary
 * baseline.
 *
 * The subtraction cancels catastrophically when |mean| >> sigma: relative
 * error of the variance ~n kappa^2 u with kappa = sqrt(1 + mean^2/var)
 * (Higham, ASNA 2nd ed., sec. 1.9).  On offset1e4 rows kappa^2 ~ 1e8 and the
 * variance is noise; it can even come out negative.  Like ONNX Runtime's CPU
 * kernel it does not clamp, so var + eps < 0 gives NaN: wrong answers are this
 * kernel's point.  x^2 also overflows float for |x| > 1.8e19 (`huge` rows).
 * It never loops on data, so it cannot hang, and it reads only the row.
 */
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static void textbook_one_pass_stats(const float *x, size_t dim, float eps,
                                    float *mean_out, float *rstd_out)
{
    float s1 = 0.0f, s2 = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        s1 += x[j];
        s2 += x[j] * x[j];
    }
    float n = (float)dim;
    float mean = s1 / n;
    float var = s2 / n - mean * mean; /* may be < 0: no clamp, on purpose */
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(var + eps);
}

static int textbook_one_pass_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    (void)state;
    return ln_rows_f32(d, t, textbook_one_pass_stats);
}

const ln_kernel ln_kernel_textbook_one_pass = {
    .name = "textbook_one_pass",
    .family = "scalar",
    .description = "float E[x^2]-E[x]^2, unclamped: the unstable formula",
    .forward = textbook_one_pass_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = 0},
};
