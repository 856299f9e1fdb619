/*
 * avx512_accurate.c - AVX-512F LayerNorm within 1 ulp: statistics and the
 * normalisation in double, one rounding to binary32 at the end.
 *
 * Why it stays within 1 ulp: every binary32 is exact in double, the double
 * sums of n <= 12288 terms lose ~2^-40 relatively, and the deviation
 * x - mean is taken in double against a mean good to ~2^-45 sigma, so
 * (x - mean) * rstd * gamma + beta reaches the final rounding (0.5 ulp) with
 * an error near 2^-30 ulp - unless gamma * xhat and beta cancel to within
 * ~2^-25 of each other, which no standard distribution does on its rows.
 *
 * Per row, the row staying in L1/L2 between passes:
 *   1. md = sum(x - x0) / n in float, 16 lanes (cheap, exact for a
 *      constant row): only a first guess m = x0 + md of the mean.  Row
 *      i+1's pass 1 runs inside row i's pass 2.
 *   2. e = x - m in double: sum(e) and sum(e^2); mean = m + E[e] and
 *      var = E[e^2] - E[e]^2 (the corrected two-pass: E[e] is tiny next to
 *      sigma, so nothing cancels).  A constant row gives e = 0 exactly.
 *   3. y = fma(((x - m) - E[e]) * rstd, gamma, beta) in double, rounded
 *      once.  x - m is exact for offset rows (Sterbenz) and E[e] is small,
 *      so the deviation carries an error of 2^-53 of itself, not of the
 *      mean: subtracting a rounded double mean would cost up to ~2^-53 |mean|
 *      and break the 1-ulp promise where gamma*xhat + beta is small.
 * The passes run software-pipelined over three rows, as in avx512.c (one
 * loop writes row i, does pass 2 of row i+1 and pass 1 of row i+2); a
 * streamed y whose rows are not on cache lines takes a two-loop path.
 * Eight floats are converted to eight doubles at a time (one zmm).
 * Tails use k-masked loads and stores; large outputs are streamed.
 */
#include "avx512_common.h"
#include "cpu_features.h"
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "row_f64.h"

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* 8 floats at p as 8 doubles; lanes outside mask m read nothing. */
LN_INLINE __m512d load8(const float *p, __mmask8 m, int full)
{
    return _mm512_cvtps_pd(full ? _mm256_loadu_ps(p) : _mm256_maskz_loadu_ps(m, p));
}

/* Pass 2: sum(e) into *se, returns sum(e^2), e = x - m in double.  With
 * fuse, also pass 1 of the next row (xn, shift xn0) into *snext, in exactly
 * sum_shifted's order: that hides pass 1's latency and fetches the next row
 * early. */
LN_INLINE double sums_dev(const float *x, size_t n, double m, double *se,
                          int fuse, const float *xn, float xn0, float *snext,
                          const float *pf)
{
    const __m512d vm = _mm512_set1_pd(m);
    const __m512 vx0 = _mm512_set1_ps(xn0);
    __m512d e0 = _mm512_setzero_pd(), e1 = _mm512_setzero_pd();
    __m512d e2 = _mm512_setzero_pd(), e3 = _mm512_setzero_pd();
    __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    __m512d q2 = _mm512_setzero_pd(), q3 = _mm512_setzero_pd();
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t j = 0;
#define STEP(e, q, off)                                                 \
    do {                                                                \
        __m512d d_ = _mm512_sub_pd(load8(x + j + (off), 0, 1), vm);     \
        e = _mm512_add_pd(e, d_);                                       \
        q = _mm512_fmadd_pd(d_, d_, q);                                 \
    } while (0)
#define SUM(acc, off) \
    acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_loadu_ps(xn + j + (off)), vx0))
    for (; j + 64 <= n; j += 64) {
        STEP(e0, q0, 0);
        STEP(e1, q1, 8);
        STEP(e2, q2, 16);
        STEP(e3, q3, 24);
        STEP(e0, q0, 32);
        STEP(e1, q1, 40);
        STEP(e2, q2, 48);
        STEP(e3, q3, 56);
        if (fuse) {
            SUM(s0, 0);
            SUM(s1, 16);
            SUM(s2, 32);
            SUM(s3, 48);
        }
        if (pf) { /* the first half of row i+2, spread over this pass */
            _mm_prefetch((const char *)(pf + j / 2), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j / 2 + 16), _MM_HINT_T0);
        }
    }
    for (; j + 16 <= n; j += 16) {
        STEP(e0, q0, 0);
        STEP(e1, q1, 8);
        if (fuse)
            SUM(s0, 0);
    }
#undef STEP
#undef SUM
    if (j < n) {
        size_t r = n - j; /* 1..15 */
        __mmask8 k0 = (__mmask8)(r >= 8 ? 0xFFu : (1u << r) - 1u);
        __m512d d = _mm512_maskz_sub_pd(k0, load8(x + j, k0, 0), vm);
        e2 = _mm512_add_pd(e2, d);
        q2 = _mm512_fmadd_pd(d, d, q2);
        if (r > 8) {
            __mmask8 k1 = (__mmask8)((1u << (r - 8)) - 1u);
            d = _mm512_maskz_sub_pd(k1, load8(x + j + 8, k1, 0), vm);
            e3 = _mm512_add_pd(e3, d);
            q3 = _mm512_fmadd_pd(d, d, q3);
        }
        if (fuse) {
            __mmask16 k = first_lanes(r);
            __m512 v = _mm512_maskz_loadu_ps(k, xn + j);
            s1 = _mm512_mask_add_ps(s1, k, s1, _mm512_sub_ps(v, vx0));
        }
    }
    if (fuse)
        *snext = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    *se = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(e0, e1), _mm512_add_pd(e2, e3)));
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(q0, q1), _mm512_add_pd(q2, q3)));
}

/* 8 outputs (as floats) from column j on: one rounding, at the end.
 * g and b are gamma and beta already widened to double (see forward);
 * hg/hb are constants after inlining, so each combination gets its own
 * loop.  Lanes outside mask k read nothing and are never stored. */
LN_INLINE __m256 norm8(const float *x, const double *g, const double *b, size_t j,
                       __mmask8 k, int full, int hg, int hb, __m512d vm,
                       __m512d vr, __m512d vnc)
{
    /* ((x - m) - c) * rstd as fma(x - m, rstd, -c*rstd): c is tiny, so the
     * rounding of c*rstd is far below the deviation's. */
    __m512d t = _mm512_fmadd_pd(_mm512_sub_pd(load8(x + j, k, full), vm), vr, vnc);
#define LD(p) (full ? _mm512_loadu_pd((p) + j) : _mm512_maskz_loadu_pd(k, (p) + j))
    if (hg && hb)
        t = _mm512_fmadd_pd(t, LD(g), LD(b));
    else if (hg)
        t = _mm512_mul_pd(t, LD(g));
    else if (hb)
        t = _mm512_add_pd(t, LD(b));
#undef LD
    return _mm512_cvtpd_ps(t);
}

LN_INLINE __m512 norm16(const float *x, const double *g, const double *b, size_t j,
                        int hg, int hb, __m512d vm, __m512d vr, __m512d vnc)
{
    __m256 lo = norm8(x, g, b, j, 0, 1, hg, hb, vm, vr, vnc);
    __m256 hi = norm8(x, g, b, j + 8, 0, 1, hg, hb, vm, vr, vnc);
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}

/* cnt <= 16 outputs at y[j..j+cnt) with masked loads and stores. */
LN_INLINE void norm_masked(const float *x, float *y, const double *g, const double *b,
                           size_t j, size_t cnt, int hg, int hb, __m512d vm,
                           __m512d vr, __m512d vnc)
{
    size_t c0 = cnt < 8 ? cnt : 8;
    __mmask8 k0 = (__mmask8)((1u << c0) - 1u);
    _mm256_mask_storeu_ps(y + j, k0, norm8(x, g, b, j, k0, 0, hg, hb, vm, vr, vnc));
    if (cnt > 8) {
        __mmask8 k1 = (__mmask8)((1u << (cnt - 8)) - 1u);
        _mm256_mask_storeu_ps(y + j + 8, k1,
                              norm8(x, g, b, j + 8, k1, 0, hg, hb, vm, vr, vnc));
    }
}

LN_INLINE void apply_row(const float *x, float *y, size_t n, const double *g,
                         const double *b, double m, double c, double rstd,
                         int hg, int hb, int stream, const float *pf)
{
    const __m512d vm = _mm512_set1_pd(m), vr = _mm512_set1_pd(rstd);
    const __m512d vnc = _mm512_set1_pd(-(c * rstd));
    size_t j = 0;
    if (stream) {
        /* Peel to y's next 64-byte boundary, then stream whole lines. */
        size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
        if (mis) {
            size_t peel = 16 - mis < n ? 16 - mis : n;
            norm_masked(x, y, g, b, 0, peel, hg, hb, vm, vr, vnc);
            j = peel;
        }
        for (; j + 16 <= n; j += 16) {
            if (pf)
                _mm_prefetch((const char *)(pf + (n + j) / 2), _MM_HINT_T0);
            _mm512_stream_ps(y + j, norm16(x, g, b, j, hg, hb, vm, vr, vnc));
        }
    } else {
        for (; j + 16 <= n; j += 16) {
            if (pf)
                _mm_prefetch((const char *)(pf + (n + j) / 2), _MM_HINT_T0);
            _mm512_storeu_ps(y + j, norm16(x, g, b, j, hg, hb, vm, vr, vnc));
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
         * prefetched across passes 2 and 3 so that memory stays busy
         * while this row is computed and written. */
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

/* One loop per row, software-pipelined over three rows (as in avx512.c):
 * writes row i, takes pass 2 of row i+1 (has1, in sums_dev's exact order)
 * and pass 1 of row i+2 (has2, in sum_shifted's order), and prefetches row
 * i+3 (pf).  stream: y is 64-byte aligned, whole lines are streamed. */
LN_INLINE void fused_row(const float *x, float *y, size_t n, const double *g,
                         const double *b, double m, double c, double rstd,
                         int hg, int hb, int has1, const float *x1, double m1,
                         double *se1, double *sq1, int has2, const float *x2,
                         float x20, float *s2, int stream, const float *pf)
{
    const __m512d vm = _mm512_set1_pd(m), vr = _mm512_set1_pd(rstd);
    const __m512d vnc = _mm512_set1_pd(-(c * rstd));
    const __m512d vm1 = _mm512_set1_pd(m1);
    const __m512 vx0 = _mm512_set1_ps(x20);
    __m512d e0 = _mm512_setzero_pd(), e1 = _mm512_setzero_pd();
    __m512d e2 = _mm512_setzero_pd(), e3 = _mm512_setzero_pd();
    __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    __m512d q2 = _mm512_setzero_pd(), q3 = _mm512_setzero_pd();
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 t2 = _mm512_setzero_ps(), t3 = _mm512_setzero_ps();
    size_t j = 0;
#define STEP(e, q, off)                                                 \
    do {                                                                \
        __m512d d_ = _mm512_sub_pd(load8(x1 + j + (off), 0, 1), vm1);   \
        e = _mm512_add_pd(e, d_);                                       \
        q = _mm512_fmadd_pd(d_, d_, q);                                 \
    } while (0)
#define SUM(acc, off) \
    acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_loadu_ps(x2 + j + (off)), vx0))
#define OUT(off)                                                                \
    do {                                                                        \
        __m512 o_ = norm16(x, g, b, j + (off), hg, hb, vm, vr, vnc);           \
        if (stream)                                                             \
            _mm512_stream_ps(y + j + (off), o_);                                \
        else                                                                    \
            _mm512_storeu_ps(y + j + (off), o_);                                \
    } while (0)
    for (; j + 64 <= n; j += 64) {
        OUT(0);
        OUT(16);
        OUT(32);
        OUT(48);
        if (has1) {
            STEP(e0, q0, 0);
            STEP(e1, q1, 8);
            STEP(e2, q2, 16);
            STEP(e3, q3, 24);
            STEP(e0, q0, 32);
            STEP(e1, q1, 40);
            STEP(e2, q2, 48);
            STEP(e3, q3, 56);
        }
        if (has2) {
            SUM(s0, 0);
            SUM(s1, 16);
            SUM(t2, 32);
            SUM(t3, 48);
        }
        if (pf) {
            _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j + 16), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j + 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j + 48), _MM_HINT_T0);
        }
    }
    for (; j + 16 <= n; j += 16) {
        OUT(0);
        if (has1) {
            STEP(e0, q0, 0);
            STEP(e1, q1, 8);
        }
        if (has2)
            SUM(s0, 0);
    }
#undef STEP
#undef SUM
#undef OUT
    if (j < n) {
        size_t r = n - j; /* 1..15 */
        norm_masked(x, y, g, b, j, r, hg, hb, vm, vr, vnc);
        if (has1) {
            __mmask8 k0 = (__mmask8)(r >= 8 ? 0xFFu : (1u << r) - 1u);
            __m512d d = _mm512_maskz_sub_pd(k0, load8(x1 + j, k0, 0), vm1);
            e2 = _mm512_add_pd(e2, d);
            q2 = _mm512_fmadd_pd(d, d, q2);
            if (r > 8) {
                __mmask8 k1 = (__mmask8)((1u << (r - 8)) - 1u);
                d = _mm512_maskz_sub_pd(k1, load8(x1 + j + 8, k1, 0), vm1);
                e3 = _mm512_add_pd(e3, d);
                q3 = _mm512_fmadd_pd(d, d, q3);
            }
        }
        if (has2) {
            __mmask16 k = first_lanes(r);
            __m512 v = _mm512_maskz_loadu_ps(k, x2 + j);
            s1 = _mm512_mask_add_ps(s1, k, s1, _mm512_sub_ps(v, vx0));
        }
    }
    if (has1) {
        *se1 = _mm512_reduce_add_pd(
            _mm512_add_pd(_mm512_add_pd(e0, e1), _mm512_add_pd(e2, e3)));
        *sq1 = _mm512_reduce_add_pd(
            _mm512_add_pd(_mm512_add_pd(q0, q1), _mm512_add_pd(q2, q3)));
    }
    if (has2)
        *s2 = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(t2, t3)));
}

LN_INLINE void rows_pipelined(const ln_f32_rows *a, const double *g, const double *b,
                              int hg, int hb, int stream)
{
    const size_t n = a->dim, R = a->rows;
    const double inv_n = 1.0 / (double)n;
    const float inv_nf = (float)inv_n;
    if (R == 0)
        return;
    /* Prologue: row 0's passes 1 and 2, row 1's pass 1. */
    double m = (double)a->x[0] + (double)(sum_shifted(a->x, n, a->x[0]) * inv_nf);
    double se = 0.0, sq = 0.0;
    float s1 = 0.0f;
    if (R > 1) {
        const float *x1 = a->x + a->x_stride;
        sq = sums_dev(a->x, n, m, &se, 1, x1, x1[0], &s1, NULL);
    } else {
        sq = sums_dev(a->x, n, m, &se, 0, a->x, 0.0f, &s1, NULL);
    }
    for (size_t i = 0; i < R; i++) {
        const float *x = a->x + i * a->x_stride;
        const float *x1 = x + a->x_stride, *x2 = x1 + a->x_stride;
        float *y = a->y + i * a->y_stride;
        int has1 = i + 1 < R, has2 = i + 2 < R;
        const float *pf = i + 3 < R ? x2 + a->x_stride : NULL;
        double m1 = has1 ? (double)x1[0] + (double)(s1 * inv_nf) : 0.0;
        double se1 = 0.0, sq1 = 0.0;
        float s2 = 0.0f;
        if (!(sq <= DBL_MAX)) {
            /* NaN/Inf in row i: the scalar double path; rows i+1, i+2
             * still get their passes. */
            ln_row_f64(x, y, n, a->gamma, a->beta, a->eps,
                       a->mean ? a->mean + i : NULL, a->rstd ? a->rstd + i : NULL);
            if (has1 && has2)
                sq1 = sums_dev(x1, n, m1, &se1, 1, x2, x2[0], &s2, NULL);
            else if (has1)
                sq1 = sums_dev(x1, n, m1, &se1, 0, x1, 0.0f, &s2, NULL);
        } else {
            double c = se * inv_n;
            double var = sq * inv_n - c * c;
            double rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)a->eps);
            if (has1 && has2)
                fused_row(x, y, n, g, b, m, c, rstd, hg, hb, 1, x1, m1, &se1, &sq1,
                          1, x2, x2[0], &s2, stream, pf);
            else if (has1)
                fused_row(x, y, n, g, b, m, c, rstd, hg, hb, 1, x1, m1, &se1, &sq1,
                          0, x, 0.0f, &s2, stream, NULL);
            else
                fused_row(x, y, n, g, b, m, c, rstd, hg, hb, 0, x, 0.0, &se1, &sq1,
                          0, x, 0.0f, &s2, stream, NULL);
            if (a->mean)
                a->mean[i] = (float)(m + c);
            if (a->rstd)
                a->rstd[i] = (float)rstd;
        }
        m = m1;
        se = se1;
        sq = sq1;
        s1 = s2;
    }
}

/* Per-shape state: room for gamma and beta widened to double, so that the
 * output pass loads them instead of converting them again on every row
 * (the conversions were a third of its work).  forward writes into it, so
 * each calling thread prepares its own (as lnbench speed does). */
typedef struct acc_state {
    size_t dim;
    double *gb; /* 2 * dim doubles, 64-byte aligned */
} acc_state;

static double *alloc_gb(size_t dim)
{
    size_t bytes = (2 * dim * sizeof(double) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static int avx512_accurate_prepare(const ln_desc *d, void **state, const char **why)
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

static void avx512_accurate_release(void *state)
{
    acc_state *st = state;
    if (st) {
        free(st->gb);
        free(st);
    }
}

static int avx512_accurate_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    acc_state *st = state;
    /* Without prepare (or for another dim) the buffer is made here: one
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
    /* Rows of y on cache lines let the pipelined loop stream whole lines;
     * otherwise streaming takes the two-loop path that peels each row.
     * Both sum in the same order. */
    int lines = ((uintptr_t)a->y % 64 == 0) && (a->y_stride % 16 == 0);
    if (stream && !lines) {
        if (hg && hb)
            rows_loop(a, g, b, 1, 1, 1);
        else if (hg)
            rows_loop(a, g, b, 1, 0, 1);
        else if (hb)
            rows_loop(a, g, b, 0, 1, 1);
        else
            rows_loop(a, g, b, 0, 0, 1);
    } else if (stream) {
        if (hg && hb)
            rows_pipelined(a, g, b, 1, 1, 1);
        else if (hg)
            rows_pipelined(a, g, b, 1, 0, 1);
        else if (hb)
            rows_pipelined(a, g, b, 0, 1, 1);
        else
            rows_pipelined(a, g, b, 0, 0, 1);
    } else {
        if (hg && hb)
            rows_pipelined(a, g, b, 1, 1, 0);
        else if (hg)
            rows_pipelined(a, g, b, 1, 0, 0);
        else if (hb)
            rows_pipelined(a, g, b, 0, 1, 0);
        else
            rows_pipelined(a, g, b, 0, 0, 0);
    }
    if (stream)
        _mm_sfence(); /* order the non-temporal stores before we return */
    if (gb != (st ? st->gb : NULL))
        free(gb);
    return 0;
}

const ln_kernel ln_kernel_avx512_accurate = {
    .name = "avx512_accurate",
    .family = "avx512",
    .description = "AVX-512F, statistics and normalisation in double, one rounding: <= 1 ulp",
    .prepare = avx512_accurate_prepare,
    .release = avx512_accurate_release,
    .forward = avx512_accurate_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_AVX512F,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES},
};
