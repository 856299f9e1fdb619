/*
 * welford.c - Welford's one-pass update in float:
 *     delta = x - mean;  mean += delta / k;  m2 += delta * (x - mean)
 *
 * One pass over the row for the statistics, numerically far better than
 * E[x^2] - E[x]^2 (relative error of the variance ~n kappa u, Chan, Golub &
 * LeVeque 1983), but a division per element and a serial dependency make it
 * slow, and the mean still drifts by ~n u |mean| on offset rows.
 */
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

static int welford_forward(const ln_args *a, void *state)
{
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

/* Documented max ulp with default gamma/beta, dims <= 12288: about 10x the
 * largest error measured over 64 rows x every default dim, seeds 1 and 3.
 * Componentwise ulp is huge wherever gamma*xhat cancels beta; the float
 * mean's drift makes it worse on offset rows.  A constant row is exact
 * (delta is 0 after the first element). */
static const ln_ulp_bound welford_bounds[] = {
    {"normal", 1e7},
    {"uniform", 1e8},
    {"offset1e3", 1e12},
    {"offset1e4", 1e12},
    {"constant", 1},
    {"tiny_var", 1e11},
    {"huge", 1e14},
    {"subnormal", 1},
    {"outlier", 1e9},
    {NULL, 0},
};

const ln_kernel ln_kernel_welford = {
    .name = "welford",
    .family = "scalar",
    .description = "float Welford one-pass mean/variance update",
    .forward = welford_forward,
    .bounds = welford_bounds,
};
