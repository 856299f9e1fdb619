/*
 * welford_pairwise.c - Welford in float over chunks of 64 elements, the
 * chunks' (count, mean, m2) merged pairwise with Chan's formula:
 *     delta = mean_b - mean_a,  n = n_a + n_b
 *     mean = mean_a + delta * n_b / n,  m2 = m2_a + m2_b + delta^2 n_a n_b / n
 *
 * The scheme of PyTorch's CPU LayerNorm (moments_utils.h: Welford in chunks,
 * chunk results merged pairwise), written scalar.  The merge tree keeps the
 * rounding errors of the variance near kappa u log2(n/64) instead of
 * Welford's n kappa u (Chan, Golub & LeVeque 1983), but the mean is still a
 * float computed from unshifted x, so offset rows keep ~u |mean| of error in
 * every deviation.
 */
#include "lnbench_kernel.h"
#include "row_apply.h"

#include <math.h>

#define CHUNK 64

typedef struct moments {
    float n, mean, m2; /* n stays exact in float: dim <= 2^24 */
} moments;

static moments merge(moments a, moments b)
{
    moments r = {a.n + b.n, a.mean, a.m2};
    float delta = b.mean - a.mean, wb = b.n / r.n;
    r.mean = a.mean + delta * wb;
    r.m2 = a.m2 + b.m2 + delta * delta * a.n * wb;
    return r;
}

static inline void welford_pairwise_stats(const void *x, ln_dtype dt, size_t dim, float eps,
                                          float *mean_out, float *rstd_out)
{
    /* A binary counter of merged chunks: level l holds 2^l chunks, so
     * every merge joins two halves of equal size (a balanced tree). */
    moments level[64];
    unsigned long long occupied = 0;
    for (size_t j0 = 0; j0 < dim; j0 += CHUNK) {
        size_t end = dim - j0 < CHUNK ? dim : j0 + CHUNK;
        moments c = {0.0f, 0.0f, 0.0f};
        for (size_t j = j0; j < end; j++) {
            float xj = ln_dtype_load(dt, x, j);
            c.n += 1.0f;
            float delta = xj - c.mean;
            c.mean += delta / c.n;
            c.m2 += delta * (xj - c.mean);
        }
        int l = 0;
        for (; occupied & (1ull << l); l++) {
            c = merge(level[l], c);
            occupied &= ~(1ull << l);
        }
        level[l] = c;
        occupied |= 1ull << l;
    }
    /* The leftover partial trees, smallest first. */
    moments total = {0.0f, 0.0f, 0.0f};
    for (int l = 0; l < 64; l++)
        if (occupied & (1ull << l))
            total = total.n == 0.0f ? level[l] : merge(level[l], total);
    *mean_out = total.mean;
    *rstd_out = 1.0f / sqrtf(total.m2 / (float)dim + eps);
}

LN_SCALAR_FLOAT_KERNEL(welford_pairwise,
                       "float Welford in 64-element chunks merged pairwise (PyTorch CPU's scheme)");
