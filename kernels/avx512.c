/*
 * avx512.c - fast AVX-512F LayerNorm: binary32, 16 lanes, FMA.
 *
 * Built with -mavx512f (and friends) for this file only; runs only after
 * avx512_unavailable() says the host (and LNBENCH_DISABLE_ISA) allows it.
 *
 * Per row, three passes over x, the row staying in L1/L2 between them:
 *   1. m = x0 + sum(x - x0) / n, four accumulators.  Shifting by the row's
 *      first element makes a constant row sum to exactly 0, so m = x0
 *      exactly and the output is exactly beta; on an offset row (x ~ 1e4
 *      +- 1) every x - x0 is exact (Sterbenz) and the sum carries errors of
 *      the size of sigma, not of the offset.  Row i+1's pass 1 runs inside
 *      row i's pass 2: that hides its latency and fetches the next row early.
 *   2. d = x - m (exact on offset rows): sum(d^2) by FMA and sum(d), the
 *      corrected two-pass of Chan, Golub and LeVeque: mean = m + E[d],
 *      var = E[d^2] - E[d]^2, nothing cancelling since E[d] is a few ulps
 *      of sigma.
 *   3. y = fma(((x - mh) - ml) * rstd, gamma, beta), mh + ml the mean as a
 *      float pair, rstd = 1/sqrt(var + eps) computed once per row in double
 *      (an exact sqrt and divide, no rsqrt estimate).  Rows with mean^2 <=
 *      var (normal-like) take fma(x, rstd, -mh*rstd) instead: one operation
 *      fewer per element, and no less accurate (see norm16).
 * The three passes are software-pipelined over three rows: one loop writes
 * row i, takes pass 2 of row i+1 and pass 1 of row i+2 (about 10% faster on
 * L2-resident shapes, 4% on DRAM-sized ones).  Streaming stores need y's
 * rows on cache lines for that; otherwise they take a two-loop path that
 * peels each row.  Every path sums in the same order, so the store hints
 * give bit-identical results.
 * Tails use k-masked loads and stores, which never touch masked-out memory.
 * Large outputs go out with non-temporal stores on the 64-byte aligned body.
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

/* Pass 2 sums the scaled deviations s*(x - m), s = 1/phi (24 significant
 * bits), and divides s out in double at the end.  Why: on offset rows
 * (x ~ 1e4, ulp 2^-10) every x - m is a multiple of 2^-10 with ~11 bits,
 * so its square k^2 2^-20 has k^2 = 1 mod 8 for odd k and lands just above
 * the accumulator's grid: every such square rounded down, a systematic
 * -6 u bias in the variance (measured; 3 ulp in every output).  The scaled
 * deviations have full mantissas, their roundings are unbiased, and a
 * constant row still sums exactly 0. */
#define DEV_SCALE 0.618034005f

/* Pass 2: over d = x - m, returns sum(d^2) and stores sum(d) in *sdev
 * (the corrected two-pass: it removes pass 1's rounding errors from the
 * mean).  With fuse, it also does pass 1 of the next row
 * (xn, shift xn0) into *snext, in exactly sum_shifted's order: that hides
 * pass 1's latency and starts fetching the next row early. */
LN_INLINE float sum_sq_dev(const float *x, size_t n, float m, float *sdev,
                           int fuse, const float *xn, float xn0, float *snext)
{
    const __m512 vh = _mm512_set1_ps(m), vs = _mm512_set1_ps(DEV_SCALE);
    const __m512 vx0 = _mm512_set1_ps(xn0);
    __m512 q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
    __m512 q2 = _mm512_setzero_ps(), q3 = _mm512_setzero_ps();
    __m512 e0 = _mm512_setzero_ps(), e1 = _mm512_setzero_ps();
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t j = 0;
#define DEV(p) _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(p), vh), vs)
#define SUM(acc, p) acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_loadu_ps(p), vx0))
    for (; j + 64 <= n; j += 64) {
        __m512 d0 = DEV(x + j), d1 = DEV(x + j + 16);
        __m512 d2 = DEV(x + j + 32), d3 = DEV(x + j + 48);
        q0 = _mm512_fmadd_ps(d0, d0, q0);
        q1 = _mm512_fmadd_ps(d1, d1, q1);
        q2 = _mm512_fmadd_ps(d2, d2, q2);
        q3 = _mm512_fmadd_ps(d3, d3, q3);
        e0 = _mm512_add_ps(e0, _mm512_add_ps(d0, d1));
        e1 = _mm512_add_ps(e1, _mm512_add_ps(d2, d3));
        if (fuse) {
            SUM(s0, xn + j);
            SUM(s1, xn + j + 16);
            SUM(s2, xn + j + 32);
            SUM(s3, xn + j + 48);
        }
    }
    for (; j + 16 <= n; j += 16) {
        __m512 d = DEV(x + j);
        q0 = _mm512_fmadd_ps(d, d, q0);
        e0 = _mm512_add_ps(e0, d);
        if (fuse)
            SUM(s0, xn + j);
    }
#undef DEV
#undef SUM
    if (j < n) {
        __mmask16 k = first_lanes(n - j);
        __m512 v = _mm512_maskz_loadu_ps(k, x + j);
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(v, vh), vs);
        q1 = _mm512_mask3_fmadd_ps(d, d, q1, k);
        e1 = _mm512_mask_add_ps(e1, k, e1, d);
        if (fuse) {
            __m512 w = _mm512_maskz_loadu_ps(k, xn + j);
            s1 = _mm512_mask_add_ps(s1, k, s1, _mm512_sub_ps(w, vx0));
        }
    }
    if (fuse)
        *snext = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    *sdev = _mm512_reduce_add_ps(_mm512_add_ps(e0, e1));
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(q0, q1), _mm512_add_ps(q2, q3)));
}

/* 16 outputs from x[j..]; masked lanes load nothing (their values are
 * garbage and never stored).  hg/hb are compile-time constants after
 * inlining, so each gamma/beta combination gets its own loop. */
LN_INLINE __m512 norm16(const float *x, const float *g, const float *b,
                        size_t j, __mmask16 m, int full, int split, int hg, int hb,
                        __m512 vh, __m512 vl, __m512 vr)
{
    __m512 xv = full ? _mm512_loadu_ps(x + j) : _mm512_maskz_loadu_ps(m, x + j);
    /* split (offset and constant rows, |mean| > sigma): ((x - mh) - ml) *
     * rstd as fma(x - mh, rstd, -ml*rstd); ml is below half an ulp of mh,
     * so rounding ml*rstd costs nothing visible, and x - mh is exact near
     * the mean (Sterbenz), which keeps constant rows exactly beta.
     * Otherwise (|mean| <= sigma) (x - mh) * rstd as fma(x, rstd,
     * -mh*rstd): x*rstd is exact inside the fma and -mh*rstd is rounded
     * once at |mean|/sigma <= 1, no worse than rounding x - mh (measured:
     * mean error 0.97 -> 0.95 ulp on normal rows), and it saves the
     * subtraction: 64 x 768 went 51.7 -> 54 GB/s.  An all-zero row lands
     * here and still gives fma(0, gamma, beta) = beta. */
    __m512 v = split ? _mm512_fmadd_ps(_mm512_sub_ps(xv, vh), vr, vl)
                     : _mm512_fmadd_ps(xv, vr, vl);
    if (hg) {
        __m512 gv = full ? _mm512_loadu_ps(g + j) : _mm512_maskz_loadu_ps(m, g + j);
        if (hb) {
            __m512 bv = full ? _mm512_loadu_ps(b + j) : _mm512_maskz_loadu_ps(m, b + j);
            return _mm512_fmadd_ps(v, gv, bv);
        }
        return _mm512_mul_ps(v, gv);
    }
    if (hb) {
        __m512 bv = full ? _mm512_loadu_ps(b + j) : _mm512_maskz_loadu_ps(m, b + j);
        return _mm512_add_ps(v, bv);
    }
    return v;
}

/* Pass 3 for one row. */
LN_INLINE void apply_row(const float *x, float *y, size_t n, const float *g,
                         const float *b, float mh, float ml, float rstd,
                         int split, int hg, int hb, int stream, const float *pf)
{
    const __m512 vh = _mm512_set1_ps(mh);
    const __m512 vl = _mm512_set1_ps(split ? -(ml * rstd) : -(mh * rstd));
    const __m512 vr = _mm512_set1_ps(rstd);
    size_t j = 0;
    if (stream) {
        /* Peel up to the next 64-byte boundary of y, then stream whole
         * cache lines (a float pointer is 4-byte aligned). */
        size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
        if (mis) {
            size_t peel = 16 - mis < n ? 16 - mis : n;
            __mmask16 m = first_lanes(peel);
            _mm512_mask_storeu_ps(y, m, norm16(x, g, b, 0, m, 0, split, hg, hb, vh, vl, vr));
            j = peel;
        }
        for (; j + 16 <= n; j += 16) {
            if (pf)
                _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
            _mm512_stream_ps(y + j, norm16(x, g, b, j, 0, 1, split, hg, hb, vh, vl, vr));
        }
    } else {
        for (; j + 64 <= n; j += 64) {
            if (pf) {
                _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + j + 16), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + j + 32), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + j + 48), _MM_HINT_T0);
            }
            __m512 o0 = norm16(x, g, b, j, 0, 1, split, hg, hb, vh, vl, vr);
            __m512 o1 = norm16(x, g, b, j + 16, 0, 1, split, hg, hb, vh, vl, vr);
            __m512 o2 = norm16(x, g, b, j + 32, 0, 1, split, hg, hb, vh, vl, vr);
            __m512 o3 = norm16(x, g, b, j + 48, 0, 1, split, hg, hb, vh, vl, vr);
            _mm512_storeu_ps(y + j, o0);
            _mm512_storeu_ps(y + j + 16, o1);
            _mm512_storeu_ps(y + j + 32, o2);
            _mm512_storeu_ps(y + j + 48, o3);
        }
        for (; j + 16 <= n; j += 16)
            _mm512_storeu_ps(y + j, norm16(x, g, b, j, 0, 1, split, hg, hb, vh, vl, vr));
    }
    if (j < n) {
        __mmask16 m = first_lanes(n - j);
        _mm512_mask_storeu_ps(y + j, m, norm16(x, g, b, j, m, 0, split, hg, hb, vh, vl, vr));
    }
}

/* From a row's first guess m and its pass-2 sums, the mean as a float pair
 * mh + ml and rstd.  Returns 0 when the sums are not finite (NaN/Inf in the
 * row, or squares beyond binary32's range): the row then takes the double
 * path. */
LN_INLINE int finish_row(float m, float sdev, float ssq, double inv_n, float eps,
                         float *mh, float *ml, float *rstd, int *split)
{
    if (!(ssq <= FLT_MAX) || !(fabsf(sdev) <= FLT_MAX))
        return 0;
    /* var = E[d^2] - E[d]^2: E[d] is tiny next to sigma (pass 1 got the
     * mean right to a few ulps of sigma), so nothing cancels. */
    const double inv_s = 1.0 / (double)DEV_SCALE;
    double cs = (double)sdev * inv_n; /* E[s d] */
    double var = ((double)ssq * inv_n - cs * cs) * (inv_s * inv_s);
    double c = cs * inv_s;
    *rstd = (float)(1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps));
    /* The mean, now to a few ulps of sigma, as a float pair mh + ml.  When
     * |mean| <= sigma (normal-like rows) a single float mean costs no more
     * than those ulps and pass 3 takes the one-fma form (!*split); offset
     * rows (and constant rows, sigma 0) keep the low part. */
    double mean = (double)m + c;
    *mh = (float)mean;
    *ml = 0.0f;
    *split = mean * mean > var;
    if (*split)
        *ml = (float)(mean - (double)*mh);
    return 1;
}

/* Streaming stores: pass 2 (+ the next row's pass 1), then pass 3 with its
 * peel to y's cache-line boundary and the prefetch of row i+2. */
LN_INLINE void rows_loop(const ln_f32_rows *a, int hg, int hb, int stream)
{
    const size_t n = a->dim;
    /* Multiplications by 1/n instead of divisions shorten the per-row
     * chain between the passes (1/n's rounding is far below the float
     * statistics' own). */
    const double inv_n = 1.0 / (double)n;
    const float inv_nf = (float)inv_n;
    float s = a->rows ? sum_shifted(a->x, n, a->x[0]) : 0.0f;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float *y = a->y + i * a->y_stride;
        /* First guess of the mean; a constant row gives exactly x[0]. */
        float m = x[0] + s * inv_nf;
        float sdev, ssq, mh, ml, rstd;
        int split;
        if (i + 1 < a->rows) {
            const float *xn = x + a->x_stride;
            ssq = sum_sq_dev(x, n, m, &sdev, 1, xn, xn[0], &s);
        } else {
            ssq = sum_sq_dev(x, n, m, &sdev, 0, x, 0.0f, &s);
        }
        if (!finish_row(m, sdev, ssq, inv_n, a->eps, &mh, &ml, &rstd, &split)) {
            ln_row_f64(x, y, n, a->gamma, a->beta, a->eps,
                       a->mean ? a->mean + i : NULL, a->rstd ? a->rstd + i : NULL);
            continue;
        }
        /* Row i+1 is already on its way (pass 2 read it); asking for row
         * i+2 during this pass keeps the memory busy while we compute and
         * write: measured 0.70 -> 0.90 of memcpy at 32768 x 4096. */
        const float *pf = i + 2 < a->rows ? x + 2 * a->x_stride : NULL;
        if (split)
            apply_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 1, hg, hb, stream, pf);
        else
            apply_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 0, hg, hb, stream, pf);
        if (a->mean)
            a->mean[i] = mh;
        if (a->rstd)
            a->rstd[i] = rstd;
    }
}

/* Cached stores: one loop per row, software-pipelined over three rows: it
 * writes row i, takes pass 2 of row i+1 (has1) and pass 1 of row i+2
 * (has2).  The sums are accumulated in exactly sum_sq_dev's and
 * sum_shifted's order, so both store paths compute identical results. */
LN_INLINE void fused_row(const float *x, float *y, size_t n, const float *g,
                         const float *b, float mh, float ml, float rstd, int split,
                         int hg, int hb,
                         int has1, const float *x1, float m1, float *sdev1, float *ssq1,
                         int has2, const float *x2, float x20, float *s2,
                         int stream, const float *pf)
{
    const __m512 vh = _mm512_set1_ps(mh);
    const __m512 vl = _mm512_set1_ps(split ? -(ml * rstd) : -(mh * rstd));
    const __m512 vr = _mm512_set1_ps(rstd);
    const __m512 vm1 = _mm512_set1_ps(m1), vx0 = _mm512_set1_ps(x20);
    const __m512 vs = _mm512_set1_ps(DEV_SCALE);
    __m512 q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
    __m512 q2 = _mm512_setzero_ps(), q3 = _mm512_setzero_ps();
    __m512 e0 = _mm512_setzero_ps(), e1 = _mm512_setzero_ps();
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 t2 = _mm512_setzero_ps(), t3 = _mm512_setzero_ps();
    size_t j = 0;
#define DEV(p) _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(p), vm1), vs)
#define SUM(acc, p) acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_loadu_ps(p), vx0))
    for (; j + 64 <= n; j += 64) {
        __m512 o0 = norm16(x, g, b, j, 0, 1, split, hg, hb, vh, vl, vr);
        __m512 o1 = norm16(x, g, b, j + 16, 0, 1, split, hg, hb, vh, vl, vr);
        __m512 o2 = norm16(x, g, b, j + 32, 0, 1, split, hg, hb, vh, vl, vr);
        __m512 o3 = norm16(x, g, b, j + 48, 0, 1, split, hg, hb, vh, vl, vr);
        if (stream) { /* y is 64-byte aligned on this path */
            _mm512_stream_ps(y + j, o0);
            _mm512_stream_ps(y + j + 16, o1);
            _mm512_stream_ps(y + j + 32, o2);
            _mm512_stream_ps(y + j + 48, o3);
            _mm_prefetch((const char *)(pf + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j + 16), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j + 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + j + 48), _MM_HINT_T0);
        } else {
            _mm512_storeu_ps(y + j, o0);
            _mm512_storeu_ps(y + j + 16, o1);
            _mm512_storeu_ps(y + j + 32, o2);
            _mm512_storeu_ps(y + j + 48, o3);
        }
        if (has1) {
            __m512 d0 = DEV(x1 + j), d1 = DEV(x1 + j + 16);
            __m512 d2 = DEV(x1 + j + 32), d3 = DEV(x1 + j + 48);
            q0 = _mm512_fmadd_ps(d0, d0, q0);
            q1 = _mm512_fmadd_ps(d1, d1, q1);
            q2 = _mm512_fmadd_ps(d2, d2, q2);
            q3 = _mm512_fmadd_ps(d3, d3, q3);
            e0 = _mm512_add_ps(e0, _mm512_add_ps(d0, d1));
            e1 = _mm512_add_ps(e1, _mm512_add_ps(d2, d3));
        }
        if (has2) {
            SUM(s0, x2 + j);
            SUM(s1, x2 + j + 16);
            SUM(t2, x2 + j + 32);
            SUM(t3, x2 + j + 48);
        }
    }
    for (; j + 16 <= n; j += 16) {
        __m512 o = norm16(x, g, b, j, 0, 1, split, hg, hb, vh, vl, vr);
        if (stream)
            _mm512_stream_ps(y + j, o);
        else
            _mm512_storeu_ps(y + j, o);
        if (has1) {
            __m512 d = DEV(x1 + j);
            q0 = _mm512_fmadd_ps(d, d, q0);
            e0 = _mm512_add_ps(e0, d);
        }
        if (has2)
            SUM(s0, x2 + j);
    }
#undef DEV
#undef SUM
    if (j < n) {
        __mmask16 k = first_lanes(n - j);
        _mm512_mask_storeu_ps(y + j, k, norm16(x, g, b, j, k, 0, split, hg, hb, vh, vl, vr));
        if (has1) {
            __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x1 + j), vm1), vs);
            q1 = _mm512_mask3_fmadd_ps(d, d, q1, k);
            e1 = _mm512_mask_add_ps(e1, k, e1, d);
        }
        if (has2) {
            __m512 w = _mm512_maskz_loadu_ps(k, x2 + j);
            s1 = _mm512_mask_add_ps(s1, k, s1, _mm512_sub_ps(w, vx0));
        }
    }
    if (has1) {
        *sdev1 = _mm512_reduce_add_ps(_mm512_add_ps(e0, e1));
        *ssq1 = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(q0, q1), _mm512_add_ps(q2, q3)));
    }
    if (has2)
        *s2 = _mm512_reduce_add_ps(
            _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(t2, t3)));
}

LN_INLINE void rows_pipelined(const ln_f32_rows *a, int hg, int hb, int stream)
{
    const size_t n = a->dim, R = a->rows;
    const double inv_n = 1.0 / (double)n;
    const float inv_nf = (float)inv_n;
    if (R == 0)
        return;
    /* Prologue: row 0's passes 1 and 2, row 1's pass 1. */
    float m = a->x[0] + sum_shifted(a->x, n, a->x[0]) * inv_nf;
    float sdev = 0.0f, ssq = 0.0f, s1 = 0.0f;
    if (R > 1) {
        const float *x1 = a->x + a->x_stride;
        ssq = sum_sq_dev(a->x, n, m, &sdev, 1, x1, x1[0], &s1);
    } else {
        ssq = sum_sq_dev(a->x, n, m, &sdev, 0, a->x, 0.0f, &s1);
    }
    for (size_t i = 0; i < R; i++) {
        const float *x = a->x + i * a->x_stride;
        const float *x1 = x + a->x_stride, *x2 = x1 + a->x_stride;
        float *y = a->y + i * a->y_stride;
        int has1 = i + 1 < R, has2 = i + 2 < R;
        /* Row i+1's first guess of the mean (exactly x1[0] if constant). */
        float m1 = has1 ? x1[0] + s1 * inv_nf : 0.0f;
        float sdev1 = 0.0f, ssq1 = 0.0f, s2 = 0.0f, mh, ml, rstd;
        int split;
        if (!finish_row(m, sdev, ssq, inv_n, a->eps, &mh, &ml, &rstd, &split)) {
            ln_row_f64(x, y, n, a->gamma, a->beta, a->eps,
                       a->mean ? a->mean + i : NULL, a->rstd ? a->rstd + i : NULL);
            if (has1 && has2)
                ssq1 = sum_sq_dev(x1, n, m1, &sdev1, 1, x2, x2[0], &s2);
            else if (has1)
                ssq1 = sum_sq_dev(x1, n, m1, &sdev1, 0, x1, 0.0f, &s2);
        } else {
            if (split) {
                if (has1 && has2)
                    fused_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 1, hg, hb,
                              1, x1, m1, &sdev1, &ssq1, 1, x2, x2[0], &s2, stream,
                              i + 3 < R ? x2 + a->x_stride : x2);
                else if (has1)
                    fused_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 1, hg, hb,
                              1, x1, m1, &sdev1, &ssq1, 0, x, 0.0f, &s2, stream, x);
                else
                    fused_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 1, hg, hb,
                              0, x, 0.0f, &sdev1, &ssq1, 0, x, 0.0f, &s2, stream, x);
            } else {
                if (has1 && has2)
                    fused_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 0, hg, hb,
                              1, x1, m1, &sdev1, &ssq1, 1, x2, x2[0], &s2, stream,
                              i + 3 < R ? x2 + a->x_stride : x2);
                else if (has1)
                    fused_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 0, hg, hb,
                              1, x1, m1, &sdev1, &ssq1, 0, x, 0.0f, &s2, stream, x);
                else
                    fused_row(x, y, n, a->gamma, a->beta, mh, ml, rstd, 0, hg, hb,
                              0, x, 0.0f, &sdev1, &ssq1, 0, x, 0.0f, &s2, stream, x);
            }
            if (a->mean)
                a->mean[i] = mh;
            if (a->rstd)
                a->rstd[i] = rstd;
        }
        m = m1;
        sdev = sdev1;
        ssq = ssq1;
        s1 = s2;
    }
}

static int avx512_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    int stream = ln_use_streaming(a);
    int hg = a->gamma != NULL, hb = a->beta != NULL;
    /* Every row of y starting on a cache line lets the pipelined loop
     * stream whole lines; otherwise streaming takes the two-loop path with
     * its per-row peel.  Both sum in the same order. */
    int lines = ((uintptr_t)a->y % 64 == 0) && (a->y_stride % 16 == 0);
    if (stream && !lines) {
        if (hg && hb)
            rows_loop(a, 1, 1, 1);
        else if (hg)
            rows_loop(a, 1, 0, 1);
        else if (hb)
            rows_loop(a, 0, 1, 1);
        else
            rows_loop(a, 0, 0, 1);
    } else if (stream) {
        if (hg && hb)
            rows_pipelined(a, 1, 1, 1);
        else if (hg)
            rows_pipelined(a, 1, 0, 1);
        else if (hb)
            rows_pipelined(a, 0, 1, 1);
        else
            rows_pipelined(a, 0, 0, 1);
    } else {
        if (hg && hb)
            rows_pipelined(a, 1, 1, 0);
        else if (hg)
            rows_pipelined(a, 1, 0, 0);
        else if (hb)
            rows_pipelined(a, 0, 1, 0);
        else
            rows_pipelined(a, 0, 0, 0);
    }
    if (stream)
        _mm_sfence(); /* order the non-temporal stores before we return */
    return 0;
}

const ln_kernel ln_kernel_avx512 = {
    .name = "avx512",
    .family = "avx512",
    .description = "AVX-512F float, shifted two-pass, FMA, streaming stores for large outputs",
    .forward = avx512_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_AVX512F,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES},
};
