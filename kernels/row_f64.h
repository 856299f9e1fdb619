/*
 * row_f64.h - helpers shared by the SIMD kernels (plain C, no intrinsics).
 *
 *  - ln_row_f64(): one row normalised in double, one rounding at the end
 *    (two_pass_f64's arithmetic).  The SIMD kernels fall back to it for the
 *    rare row whose vector statistics came out non-finite: a row holding
 *    NaN/Inf (which must become all NaN) or a finite row whose float sum of
 *    squares overflowed (|x| beyond ~1e19).  Keeping that check out of the
 *    hot loops costs one compare per row.
 *  - ln_streaming_pays(), ln_use_streaming(): the store policy, and the
 *    per-call choice of non-temporal stores.
 */
#ifndef LNBENCH_ROW_F64_H
#define LNBENCH_ROW_F64_H

#include "cpu_features.h"
#include "f32_rows.h"

#include <math.h>
#include <stddef.h>

static inline void ln_row_f64(const float *x, float *y, size_t dim,
                              const float *gamma, const float *beta, float eps,
                              float *mean_out, float *rstd_out)
{
    double sum = 0.0;
    for (size_t j = 0; j < dim; j++)
        sum += x[j];
    double mean = sum / (double)dim;
    double ssq = 0.0;
    for (size_t j = 0; j < dim; j++) {
        double d = x[j] - mean;
        ssq += d * d;
    }
    double rstd = 1.0 / sqrt(ssq / (double)dim + (double)eps);
    /* NaN or Inf anywhere in the row leaves ssq NaN (Inf - Inf or NaN
     * propagates through the mean): the whole row, mean and rstd are NaN. */
    if (isnan(rstd))
        mean = NAN;
    for (size_t j = 0; j < dim; j++) {
        double v = (x[j] - mean) * rstd * (gamma ? gamma[j] : 1.0f);
        y[j] = (float)(beta ? v + beta[j] : v);
    }
    if (mean_out)
        *mean_out = (float)mean;
    if (rstd_out)
        *rstd_out = (float)rstd;
}

/* The store policy, written once.  Non-temporal stores pay off when the
 * working set, x and y together, cannot stay in the last-level cache: a
 * cached store that misses reads the line before writing it (12 instead of
 * 8 bytes of traffic per element), while streamed y leaves the cache to x.
 * Half the LLC, not all of it: a working set the size of the LLC already
 * misses (other data, the ways a linear stream conflicts in); on a 32 MiB
 * Zen 4 LLC, 1024 x 4096 (x + y = 32 MiB) ran cached at 0.8 of its own DRAM
 * speed.  The caller that runs several calls side by side (threads on one
 * LLC) knows the whole working set and passes an explicit hint; the speed
 * harness does (bench/speed_harness.c). */
static inline int ln_streaming_pays(size_t working_set_bytes, size_t llc_bytes)
{
    return working_set_bytes > llc_bytes / 2;
}

/* The per-call choice: the hint, or under LN_STORE_AUTO the policy above
 * applied to this call's x + y. */
static inline int ln_use_streaming(const ln_f32_rows *a)
{
    if (a->store == LN_STORE_STREAMING)
        return 1;
    if (a->store == LN_STORE_CACHED)
        return 0;
    return ln_streaming_pays(2 * a->rows * a->dim * sizeof(float), ln_llc_bytes());
}

#endif
