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
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static int textbook_one_pass_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float s1 = 0.0f, s2 = 0.0f;
        for (size_t j = 0; j < a->dim; j++) {
            s1 += x[j];
            s2 += x[j] * x[j];
        }
        float n = (float)a->dim;
        float mean = s1 / n;
        float var = s2 / n - mean * mean; /* may be < 0: no clamp, on purpose */
        float rstd = 1.0f / sqrtf(var + a->eps);
        ln_apply_row_f32(x, a->y + i * a->y_stride, a->dim, mean, rstd,
                         a->gamma, a->beta);
        if (a->mean)
            a->mean[i] = isnan(rstd) ? NAN : mean; /* Inf rows: NaN, not Inf */
        if (a->rstd)
            a->rstd[i] = rstd;
    }
    return 0;
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
