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

static inline void textbook_one_pass_stats(const void *x, ln_dtype dt, size_t dim,
                                           float eps, float *mean_out, float *rstd_out)
{
    float s1 = 0.0f, s2 = 0.0f;
    for (size_t j = 0; j < dim; j++) {
        float xj = ln_dtype_load(dt, x, j);
        s1 += xj;
        s2 += xj * xj;
    }
    float n = (float)dim;
    float mean = s1 / n;
    float var = s2 / n - mean * mean; /* may be < 0: no clamp, on purpose */
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(var + eps);
}

LN_SCALAR_FLOAT_KERNEL(textbook_one_pass, "float E[x^2]-E[x]^2, unclamped: the unstable formula");
