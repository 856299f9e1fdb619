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

static int textbook_one_pass_forward(const ln_args *a, void *state)
{
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

/* Documented max ulp with default gamma/beta, dims <= 12288: about 10x the
 * largest error measured over 64 rows x every default dim, seeds 1 and 3.
 * Componentwise ulp is huge wherever gamma*xhat cancels beta; the float
 * mean's drift makes it worse on offset rows.  No promise on offset,
 * constant and huge rows: a negative variance gives NaN, x^2 overflows. */
static const ln_ulp_bound textbook_one_pass_bounds[] = {
    {"normal", 1e7},
    {"uniform", 1e8},
    {"offset1e3", INFINITY},
    {"offset1e4", INFINITY},
    {"constant", INFINITY},
    {"tiny_var", 1e11},
    {"huge", INFINITY},
    {"subnormal", 1},
    {"outlier", 1e9},
    {NULL, 0},
};

const ln_kernel ln_kernel_textbook_one_pass = {
    .name = "textbook_one_pass",
    .family = "scalar",
    .description = "float E[x^2]-E[x]^2, unclamped: the unstable formula",
    .forward = textbook_one_pass_forward,
    .bounds = textbook_one_pass_bounds,
};
