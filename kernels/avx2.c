/*
 * avx2.c - fast AVX2 + FMA LayerNorm: binary32, 8 lanes.
 *
 * The algorithm of avx512.c (see there for the numerical reasons) on ymm
 * registers; built with -mavx2 -mfma for this file only and run only after
 * avx2_unavailable() says the host allows it:
 *   1. m = x0 + sum(x - x0) / n, four accumulators (constant rows sum to
 *      0, so m = x0 exactly); done for row i+1 inside pass 2 of row i;
 *   2. d = x - m: sum(d^2) and sum(d), the corrected two-pass;
 *   3. y = fma(((x - mh) - ml) * rstd, gamma, beta), rstd once per row in
 *      double, mh + ml the corrected mean.
 * Tails use vmaskmov loads and stores, which neither read nor write (nor
 * fault on) the masked-out lanes.  Large outputs are streamed.
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

/* Pass 2 sums scaled deviations s*(x - m): offset rows' deviations carry
 * ~11 bits and their squares would round down systematically (see
 * avx512.c); s = 1/phi gives them full mantissas. */
#define DEV_SCALE 0.618034005f

/* Pass 2: over d = x - m, returns sum(d^2) and stores sum(d) in *sdev (the
 * corrected two-pass).  With fuse, also pass 1 of the next row (xn, shift
 * xn0) into *snext, in exactly sum_shifted's order. */
LN_INLINE float sum_sq_dev(const float *x, size_t n, float m, float *sdev,
                           int fuse, const float *xn, float xn0, float *snext)
{
    const __m256 vh = _mm256_set1_ps(m), vx0 = _mm256_set1_ps(xn0);
    const __m256 vs = _mm256_set1_ps(DEV_SCALE);
    __m256 q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
    __m256 q2 = _mm256_setzero_ps(), q3 = _mm256_setzero_ps();
    __m256 e0 = _mm256_setzero_ps(), e1 = _mm256_setzero_ps();
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t j = 0;
#define DEV(p) _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p), vh), vs)
#define SUM(acc, p) acc = _mm256_add_ps(acc, _mm256_sub_ps(_mm256_loadu_ps(p), vx0))
    for (; j + 32 <= n; j += 32) {
        __m256 d0 = DEV(x + j), d1 = DEV(x + j + 8);
        __m256 d2 = DEV(x + j + 16), d3 = DEV(x + j + 24);
        q0 = _mm256_fmadd_ps(d0, d0, q0);
        q1 = _mm256_fmadd_ps(d1, d1, q1);
        q2 = _mm256_fmadd_ps(d2, d2, q2);
        q3 = _mm256_fmadd_ps(d3, d3, q3);
        e0 = _mm256_add_ps(e0, _mm256_add_ps(d0, d1));
        e1 = _mm256_add_ps(e1, _mm256_add_ps(d2, d3));
        if (fuse) {
            SUM(s0, xn + j);
            SUM(s1, xn + j + 8);
            SUM(s2, xn + j + 16);
            SUM(s3, xn + j + 24);
        }
    }
    for (; j + 8 <= n; j += 8) {
        __m256 d = DEV(x + j);
        q0 = _mm256_fmadd_ps(d, d, q0);
        e0 = _mm256_add_ps(e0, d);
        if (fuse)
            SUM(s0, xn + j);
    }
#undef DEV
#undef SUM
    if (j < n) {
        __m256i k = first8(n - j);
        __m256 kf = _mm256_castsi256_ps(k);
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, k), vh), vs);
        d = _mm256_and_ps(d, kf);
        q1 = _mm256_fmadd_ps(d, d, q1);
        e1 = _mm256_add_ps(e1, d);
        if (fuse) {
            __m256 w = _mm256_sub_ps(_mm256_maskload_ps(xn + j, k), vx0);
            s1 = _mm256_add_ps(s1, _mm256_and_ps(w, kf));
        }
    }
    if (fuse)
        *snext = hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    *sdev = hsum_ps(_mm256_add_ps(e0, e1));
    return hsum_ps(_mm256_add_ps(_mm256_add_ps(q0, q1), _mm256_add_ps(q2, q3)));
}

/* 8 outputs from column j on; with full == 0 only the lanes of m are read.
 * hg/hb are constants after inlining. */
LN_INLINE __m256 norm8(const float *x, const float *g, const float *b, size_t j,
                       __m256i m, int full, int hg, int hb,
                       __m256 vh, __m256 vl, __m256 vr)
{
#define LD(p) (full ? _mm256_loadu_ps((p) + j) : _mm256_maskload_ps((p) + j, m))
    /* ((x - mh) - ml) * rstd as fma(x - mh, rstd, -ml*rstd), as in avx512.c */
    __m256 v = _mm256_fmadd_ps(_mm256_sub_ps(LD(x), vh), vr, vl);
    if (hg && hb)
        return _mm256_fmadd_ps(v, LD(g), LD(b));
    if (hg)
        return _mm256_mul_ps(v, LD(g));
    if (hb)
        return _mm256_add_ps(v, LD(b));
    return v;
#undef LD
}

/* cnt <= 16 outputs at y[j..) with masked loads and stores. */
LN_INLINE void norm_masked(const float *x, float *y, const float *g, const float *b,
                           size_t j, size_t cnt, int hg, int hb,
                           __m256 vh, __m256 vl, __m256 vr)
{
    while (cnt > 0) {
        size_t c = cnt < 8 ? cnt : 8;
        __m256i m = first8(c);
        _mm256_maskstore_ps(y + j, m, norm8(x, g, b, j, m, 0, hg, hb, vh, vl, vr));
        j += c;
        cnt -= c;
    }
}

LN_INLINE void apply_row(const float *x, float *y, size_t n, const float *g,
                         const float *b, float mh, float ml, float rstd,
                         int hg, int hb, int stream, const float *pf)
{
    const __m256 vh = _mm256_set1_ps(mh), vl = _mm256_set1_ps(-(ml * rstd));
    const __m256 vr = _mm256_set1_ps(rstd);
    const __m256i none = _mm256_setzero_si256();
    size_t j = 0;
    if (stream) {
        /* Peel to y's next 64-byte boundary so that each pair of 32-byte
         * streaming stores fills one whole cache line. */
        size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
        if (mis) {
            size_t peel = 16 - mis < n ? 16 - mis : n;
            norm_masked(x, y, g, b, 0, peel, hg, hb, vh, vl, vr);
            j = peel;
        }
        for (; j + 8 <= n; j += 8) {
            if (pf)
                _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
            _mm256_stream_ps(y + j, norm8(x, g, b, j, none, 1, hg, hb, vh, vl, vr));
        }
    } else {
        for (; j + 32 <= n; j += 32) {
            if (pf) {
                _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + j + 16), _MM_HINT_T0);
            }
            __m256 o0 = norm8(x, g, b, j, none, 1, hg, hb, vh, vl, vr);
            __m256 o1 = norm8(x, g, b, j + 8, none, 1, hg, hb, vh, vl, vr);
            __m256 o2 = norm8(x, g, b, j + 16, none, 1, hg, hb, vh, vl, vr);
            __m256 o3 = norm8(x, g, b, j + 24, none, 1, hg, hb, vh, vl, vr);
            _mm256_storeu_ps(y + j, o0);
            _mm256_storeu_ps(y + j + 8, o1);
            _mm256_storeu_ps(y + j + 16, o2);
            _mm256_storeu_ps(y + j + 24, o3);
        }
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(y + j, norm8(x, g, b, j, none, 1, hg, hb, vh, vl, vr));
    }
    if (j < n)
        norm_masked(x, y, g, b, j, n - j, hg, hb, vh, vl, vr);
}

LN_INLINE void rows_loop(const ln_f32_rows *a, int hg, int hb, int stream)
{
    const size_t n = a->dim;
    const double inv_n = 1.0 / (double)n; /* as in avx512.c */
    const float inv_nf = (float)inv_n;
    float s = a->rows ? sum_shifted(a->x, n, a->x[0]) : 0.0f;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float *y = a->y + i * a->y_stride;
        float x0 = x[0];
        /* First guess of the mean; a constant row gives exactly x0. */
        float m = x0 + s * inv_nf;
        float sdev, ssq;
        if (i + 1 < a->rows) {
            const float *xn = x + a->x_stride;
            ssq = sum_sq_dev(x, n, m, &sdev, 1, xn, xn[0], &s);
        } else {
            ssq = sum_sq_dev(x, n, m, &sdev, 0, x, 0.0f, &s);
        }
        if (!(ssq <= FLT_MAX) || !(fabsf(sdev) <= FLT_MAX)) {
            /* NaN/Inf in the row, or squares beyond binary32's range. */
            ln_row_f64(x, y, n, a->gamma, a->beta, a->eps,
                       a->mean ? a->mean + i : NULL, a->rstd ? a->rstd + i : NULL);
            continue;
        }
        const double inv_s = 1.0 / (double)DEV_SCALE;
        double cs = (double)sdev * inv_n; /* E[s d] */
        double var = ((double)ssq * inv_n - cs * cs) * (inv_s * inv_s);
        double c = cs * inv_s;
        float rstd = (float)(1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)a->eps));
        /* As in avx512.c: a single float mean when |mean| <= sigma, the
         * pair when the row is offset (or constant). */
        double mean = (double)m + c;
        float mh = (float)mean, ml = 0.0f;
        if (mean * mean > var)
            ml = (float)(mean - (double)mh);
        /* Fetch row i+2 while this row is written (see avx512.c). */
        const float *pf = i + 2 < a->rows ? x + 2 * a->x_stride : NULL;
        apply_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, hg, hb, stream, pf);
        if (a->mean)
            a->mean[i] = mh;
        if (a->rstd)
            a->rstd[i] = rstd;
    }
}

static int avx2_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    int stream = ln_use_streaming(a);
    int hg = a->gamma != NULL, hb = a->beta != NULL;
    if (stream) {
        if (hg && hb)
            rows_loop(a, 1, 1, 1);
        else if (hg)
            rows_loop(a, 1, 0, 1);
        else if (hb)
            rows_loop(a, 0, 1, 1);
        else
            rows_loop(a, 0, 0, 1);
        _mm_sfence(); /* order the non-temporal stores before we return */
    } else {
        if (hg && hb)
            rows_loop(a, 1, 1, 0);
        else if (hg)
            rows_loop(a, 1, 0, 0);
        else if (hb)
            rows_loop(a, 0, 1, 0);
        else
            rows_loop(a, 0, 0, 0);
    }
    return 0;
}

const ln_kernel ln_kernel_avx2 = {
    .name = "avx2",
    .family = "avx2",
    .description = "AVX2+FMA float, shifted corrected two-pass, streaming stores for large outputs",
    .forward = avx2_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_AVX2_FMA,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES},
};
