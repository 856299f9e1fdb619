/*
 * row_apply.h - the last step shared by the float scalar kernels:
 * y = (x - mean) * rstd * gamma + beta, with gamma/beta optional.
 *
 * Kept as one inline function so that the scalar kernels differ only in how
 * they compute the statistics, which is what they are there to compare.
 */
#ifndef LNBENCH_ROW_APPLY_H
#define LNBENCH_ROW_APPLY_H

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

#endif
