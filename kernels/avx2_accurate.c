/*
 * avx2_accurate.c - AVX2 + FMA LayerNorm within 1 ulp: statistics and the
 * normalisation in double (4 lanes), one rounding to binary32 at the end.
 *
 * The algorithm and error argument of avx512_accurate.c on ymm registers:
 *   1. md = sum(x - x0) / n in float, 8 lanes: a first guess m = x0 + md;
 *   2. e = x - m in double: sum(e), sum(e^2) -> c = E[e],
 *      var = E[e^2] - c^2 (corrected two-pass, nothing cancels);
 *   3. y = fma(fma(x - m, rstd, -c*rstd), gamma, beta) in double, rounded
 *      once; x - m is exact on offset rows, so the deviation does not carry
 *      the mean's rounding error.
 * Four floats become four doubles at a time.  gamma and beta are widened
 * to double once per call into a buffer made by prepare (or by forward when
 * called without it).  Tails use vmaskmov loads and stores; large outputs
 * are streamed.
 */
#include "avx2_common.h"
#include "cpu_features.h"
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "row_f64.h"

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

LN_INLINE double hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* 4 floats at p as 4 doubles; with full == 0 only the lanes of m are read. */
LN_INLINE __m256d load4(const float *p, __m128i m, int full)
{
    return _mm256_cvtps_pd(full ? _mm_loadu_ps(p) : _mm_maskload_ps(p, m));
}

/* Pass 2: sum(e) into *se, returns sum(e^2), e = x - m in double.  With
 * fuse, also pass 1 of the next row (xn, shift xn0) into *snext in exactly
 * sum_shifted's order, and the first half of row i+2 (pf) is prefetched:
 * see avx512_accurate.c. */
LN_INLINE double sums_dev(const float *x, size_t n, double m, double *se,
                          int fuse, const float *xn, float xn0, float *snext,
                          const float *pf)
{
    const __m256d vm = _mm256_set1_pd(m);
    const __m256 vx0 = _mm256_set1_ps(xn0);
    const __m128i all = _mm_set1_epi32(-1);
    __m256d e0 = _mm256_setzero_pd(), e1 = _mm256_setzero_pd();
    __m256d e2 = _mm256_setzero_pd(), e3 = _mm256_setzero_pd();
    __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    __m256d q2 = _mm256_setzero_pd(), q3 = _mm256_setzero_pd();
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t j = 0;
#define STEP(e, q, off)                                                 \
    do {                                                                \
        __m256d d_ = _mm256_sub_pd(load4(x + j + (off), all, 1), vm);   \
        e = _mm256_add_pd(e, d_);                                       \
        q = _mm256_fmadd_pd(d_, d_, q);                                 \
    } while (0)
#define SUM(acc, off) \
    acc = _mm256_add_ps(acc, _mm256_sub_ps(_mm256_loadu_ps(xn + j + (off)), vx0))
    for (; j + 32 <= n; j += 32) {
        STEP(e0, q0, 0);
        STEP(e1, q1, 4);
        STEP(e2, q2, 8);
        STEP(e3, q3, 12);
        STEP(e0, q0, 16);
        STEP(e1, q1, 20);
        STEP(e2, q2, 24);
        STEP(e3, q3, 28);
        if (fuse) {
            SUM(s0, 0);
            SUM(s1, 8);
            SUM(s2, 16);
            SUM(s3, 24);
        }
        if (pf) /* half a line per 32 floats: the first half of row i+2 */
            _mm_prefetch((const char *)(pf + j / 2), _MM_HINT_T0);
    }
    for (; j + 8 <= n; j += 8) {
        STEP(e0, q0, 0);
        STEP(e1, q1, 4);
        if (fuse)
            SUM(s0, 0);
    }
#undef STEP
#undef SUM
    if (j < n) {
        if (fuse) {
            __m256i k = first8(n - j);
            __m256 w = _mm256_sub_ps(_mm256_maskload_ps(xn + j, k), vx0);
            s1 = _mm256_add_ps(s1, _mm256_and_ps(w, _mm256_castsi256_ps(k)));
        }
        for (; j < n; j += 4) {
            size_t c = n - j < 4 ? n - j : 4;
            __m128i m4 = first4(c);
            __m256d d = _mm256_sub_pd(load4(x + j, m4, 0), vm);
            d = _mm256_and_pd(d, _mm256_castsi256_pd(_mm256_cvtepi32_epi64(m4)));
            e2 = _mm256_add_pd(e2, d);
            q2 = _mm256_fmadd_pd(d, d, q2);
        }
    }
    if (fuse)
        *snext = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    *se = hsum_pd(_mm256_add_pd(_mm256_add_pd(e0, e1), _mm256_add_pd(e2, e3)));
    return hsum_pd(_mm256_add_pd(_mm256_add_pd(q0, q1), _mm256_add_pd(q2, q3)));
}

/* 4 outputs from column j on, rounded once; g and b are gamma and beta
 * widened to double.  With full == 0 only the lanes of m4 are read. */
LN_INLINE __m128 norm4(const float *x, const double *g, const double *b, size_t j,
                       __m128i m4, int full, int hg, int hb, __m256d vm,
                       __m256d vr, __m256d vnc)
{
    __m256d t = _mm256_fmadd_pd(_mm256_sub_pd(load4(x + j, m4, full), vm), vr, vnc);
#define LD(p) (full ? _mm256_loadu_pd((p) + j) \
                    : _mm256_maskload_pd((p) + j, _mm256_cvtepi32_epi64(m4)))
    if (hg && hb)
        t = _mm256_fmadd_pd(t, LD(g), LD(b));
    else if (hg)
        t = _mm256_mul_pd(t, LD(g));
    else if (hb)
        t = _mm256_add_pd(t, LD(b));
#undef LD
    return _mm256_cvtpd_ps(t);
}

LN_INLINE __m256 norm8(const float *x, const double *g, const double *b, size_t j,
                       int hg, int hb, __m256d vm, __m256d vr, __m256d vnc)
{
    const __m128i all = _mm_set1_epi32(-1);
    __m128 lo = norm4(x, g, b, j, all, 1, hg, hb, vm, vr, vnc);
    __m128 hi = norm4(x, g, b, j + 4, all, 1, hg, hb, vm, vr, vnc);
    return _mm256_set_m128(hi, lo);
}

/* cnt outputs at y[j..) in masked chunks of at most 4. */
LN_INLINE void norm_masked(const float *x, float *y, const double *g, const double *b,
                           size_t j, size_t cnt, int hg, int hb, __m256d vm,
                           __m256d vr, __m256d vnc)
{
    while (cnt > 0) {
        size_t c = cnt < 4 ? cnt : 4;
        __m128i m4 = first4(c);
        _mm_maskstore_ps(y + j, m4, norm4(x, g, b, j, m4, 0, hg, hb, vm, vr, vnc));
        j += c;
        cnt -= c;
    }
}

LN_INLINE void apply_row(const float *x, float *y, size_t n, const double *g,
                         const double *b, double m, double c, double rstd,
                         int hg, int hb, int stream, const float *pf)
{
    const __m256d vm = _mm256_set1_pd(m), vr = _mm256_set1_pd(rstd);
    const __m256d vnc = _mm256_set1_pd(-(c * rstd));
    size_t j = 0;
    if (stream) {
        /* Peel to y's next 64-byte boundary, then stream whole lines. */
        size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
        if (mis) {
            size_t peel = 16 - mis < n ? 16 - mis : n;
            norm_masked(x, y, g, b, 0, peel, hg, hb, vm, vr, vnc);
            j = peel;
        }
        for (; j + 8 <= n; j += 8) {
            if (pf)
                _mm_prefetch((const char *)(pf + (n + j) / 2), _MM_HINT_T0);
            _mm256_stream_ps(y + j, norm8(x, g, b, j, hg, hb, vm, vr, vnc));
        }
    } else {
        for (; j + 8 <= n; j += 8) {
            if (pf)
                _mm_prefetch((const char *)(pf + (n + j) / 2), _MM_HINT_T0);
            _mm256_storeu_ps(y + j, norm8(x, g, b, j, hg, hb, vm, vr, vnc));
        }
    }
    if (j < n)
        norm_masked(x, y, g, b, j, n - j, hg, hb, vm, vr, vnc);
}

LN_INLINE void rows_loop(const ln_f32_rows *a, const double *g, const double *b,
                         int hg, int hb, int stream)
{
    const size_t n = a->dim;
    /* Multiplications by 1/n instead of divisions shorten the per-row
     * chain; 1/n's rounding (2^-53) is invisible in the result. */
    const double inv_n = 1.0 / (double)n;
    const float inv_nf = (float)inv_n;
    float s = a->rows ? sum_shifted(a->x, n, a->x[0]) : 0.0f;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float *y = a->y + i * a->y_stride;
        double m = (double)x[0] + (double)(s * inv_nf);
        double se, sq;
        /* Row i+1 is fetched by pass 2's fused loads; row i+2 is
         * prefetched across passes 2 and 3 (see avx512_accurate.c). */
        const float *pf = i + 2 < a->rows ? x + 2 * a->x_stride : NULL;
        if (i + 1 < a->rows) {
            const float *xn = x + a->x_stride;
            sq = sums_dev(x, n, m, &se, 1, xn, xn[0], &s, pf);
        } else {
            sq = sums_dev(x, n, m, &se, 0, x, 0.0f, &s, NULL);
        }
        if (!(sq <= DBL_MAX)) {
            /* NaN/Inf in the row (or a float sum of x - x0 that overflowed):
             * the scalar double path sorts out which. */
            ln_row_f64(x, y, n, a->gamma, a->beta, a->eps,
                       a->mean ? a->mean + i : NULL, a->rstd ? a->rstd + i : NULL);
            continue;
        }
        double c = se * inv_n;
        double var = sq * inv_n - c * c;
        double rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)a->eps);
        apply_row(x, y, n, g, b, m, c, rstd, hg, hb, stream, pf);
        if (a->mean)
            a->mean[i] = (float)(m + c);
        if (a->rstd)
            a->rstd[i] = (float)rstd;
    }
}

/* Per-shape state: room for gamma and beta widened to double.  forward
 * writes into it, so each calling thread prepares its own. */
typedef struct acc_state {
    size_t dim;
    double *gb; /* 2 * dim doubles, 64-byte aligned */
} acc_state;

static double *alloc_gb(size_t dim)
{
    size_t bytes = (2 * dim * sizeof(double) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static int avx2_accurate_prepare(const ln_desc *d, void **state, const char **why)
{
    acc_state *st = malloc(sizeof *st);
    double *gb = alloc_gb(d->dim);
    if (!st || !gb) {
        free(st);
        free(gb);
        *why = "out of memory";
        return -1;
    }
    st->dim = d->dim;
    st->gb = gb;
    *state = st;
    return 0;
}

static void avx2_accurate_release(void *state)
{
    acc_state *st = state;
    if (st) {
        free(st->gb);
        free(st);
    }
}

static int avx2_accurate_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    acc_state *st = state;
    /* Without prepare (or for a larger dim) the buffer is made here: one
     * allocation per call, amortised over the rows. */
    double *gb = st && st->dim >= a->dim ? st->gb : alloc_gb(a->dim);
    if (!gb) {
        /* No memory: the scalar double path needs none. */
        for (size_t i = 0; i < a->rows; i++)
            ln_row_f64(a->x + i * a->x_stride, a->y + i * a->y_stride, a->dim,
                       a->gamma, a->beta, a->eps, a->mean ? a->mean + i : NULL,
                       a->rstd ? a->rstd + i : NULL);
        return 0;
    }
    double *g = gb, *b = gb + a->dim;
    int hg = a->gamma != NULL, hb = a->beta != NULL;
    for (size_t j = 0; j < a->dim; j++) {
        if (hg)
            g[j] = a->gamma[j];
        if (hb)
            b[j] = a->beta[j];
    }
    int stream = ln_use_streaming(a);
    if (stream) {
        if (hg && hb)
            rows_loop(a, g, b, 1, 1, 1);
        else if (hg)
            rows_loop(a, g, b, 1, 0, 1);
        else if (hb)
            rows_loop(a, g, b, 0, 1, 1);
        else
            rows_loop(a, g, b, 0, 0, 1);
        _mm_sfence(); /* order the non-temporal stores before we return */
    } else {
        if (hg && hb)
            rows_loop(a, g, b, 1, 1, 0);
        else if (hg)
            rows_loop(a, g, b, 1, 0, 0);
        else if (hb)
            rows_loop(a, g, b, 0, 1, 0);
        else
            rows_loop(a, g, b, 0, 0, 0);
    }
    if (gb != (st ? st->gb : NULL))
        free(gb);
    return 0;
}

const ln_kernel ln_kernel_avx2_accurate = {
    .name = "avx2_accurate",
    .family = "avx2",
    .description = "AVX2+FMA, statistics and normalisation in double, one rounding: <= 1 ulp",
    .prepare = avx2_accurate_prepare,
    .release = avx2_accurate_release,
    .forward = avx2_accurate_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_AVX2_FMA,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES},
};
