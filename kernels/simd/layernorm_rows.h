/*
 * layernorm_rows.h - the SIMD normalisation kernels, written once over a
 * vector vocabulary and compiled once per ISA: kernels/simd_<isa>.c
 * includes its vec_<isa>.h, then this file, and names its two kernels with
 * LN_SIMD_KERNELS.  The fast algorithm's arithmetic is in layernorm_fast.h,
 * the accurate one's in layernorm_accurate.h; this file holds what they
 * share: pass 1, the loop over a row's columns, the pipeline over rows, the
 * element types, and the specialisation of every loop.
 *
 * Every operation and dtype of kernels/lnbench_kernel.h runs through the
 * same passes; compile-time flags say which:
 *   LN_BF16, LN_F16   the element type of x, y, gamma, beta, residual and h
 *                     (binary32 without either): loads widen to float
 *                     vectors, stores round to nearest even;
 *   LN_RMS            no mean: pass 1 is skipped, pass 2 sums x^2, pass 3
 *                     is x * rstd (* w);
 *   LN_ADD            h = x + residual rounded to the dtype is formed by the
 *                     first pass that reads a row (pass 1, or pass 2 for
 *                     the RMS form), written to h, and the norm is taken of
 *                     h: later passes read h back from the (cached) h row.
 * Binary32 layernorm specialises gamma, beta and streaming stores at
 * compile time too (8 loops per algorithm); the other kinds test them at
 * run time (loop-invariant, predicted branches) with the cast, which keeps
 * the number of compiled loops, and the build time, within reach.
 *
 * The vocabulary (each vec_<isa>.h defines all of it, with these names):
 *   vf, vd, vh          VF_LANES floats, VF_LANES/2 doubles, VF_LANES/2 floats
 *   vb                  VF_LANES 16-bit values (bf16 or f16 bits)
 *   vf_zero set1 loadu storeu add sub mul fma(a, b, c) = a*b + c, and the
 *                       same for vd (vd_loadu from doubles)
 *   vf_mask, vd_mask    the first n lanes of a vf / of a vd or vh (vf_first,
 *                       vd_first); *_load_part gives zeros outside the mask
 *                       and never touches memory there, *_store_part leaves
 *                       it alone
 *   vf_add_part, vf_fma_part   update only the lanes of a mask
 *   vd_keep             zero outside a mask
 *   vd_widen(p)         VF_LANES/2 floats at p as doubles (and _part);
 *                       vh_narrow rounds a vd to floats (nearest),
 *                       vh_narrow_odd to odd; vf_join(lo, hi), vf_lo,
 *                       vf_hi, vd_from_vh
 *   vb_loadu storeu stream, vb_load_first / vb_store_first (the first n
 *                       values only); vf_from_bf16 vf_from_f16 (exact),
 *                       vb_from_f32_bf16 vb_from_f32_f16 (nearest even)
 *   vf_hsum, vd_hsum    horizontal sums
 *   vf_stream           non-temporal store to an address aligned to a vf;
 *                       VEC_HAS_STREAM is 0 where the ISA has none
 *   ln_prefetch, ln_store_fence
 *
 * Every loop below is an always-inline function whose unsigned f is a
 * compile-time constant of LN_* flags by the time it is inlined, so each
 * combination compiles to its own loop, without tests of f inside.
 *
 * Rules kept for kernels/lnbench_kernel.h: tails use masked or partial
 * loads and stores, which never touch memory past dim; a row whose
 * statistics come out non-finite is redone by ln_row_wide (row_wide.h) and
 * the rows after it are computed as if it were not there.
 */
#ifndef LNBENCH_LAYERNORM_ROWS_H
#define LNBENCH_LAYERNORM_ROWS_H

#include "cpu_features.h"
#include "dtype_convert.h"
#include "lnbench_kernel.h"
#include "row_f64.h"
#include "row_wide.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum {
    LN_GAMMA = 1u << 0,    /* gamma present (binary32 layernorm) */
    LN_BETA = 1u << 1,     /* beta present (binary32 layernorm) */
    LN_STREAM = 1u << 2,   /* non-temporal stores of y (binary32 layernorm) */
    LN_ACCURATE = 1u << 3, /* the accurate algorithm (else the fast one) */
    LN_OUT = 1u << 4,      /* the loop does pass 3 of row x into y */
    LN_P2 = 1u << 5,       /* ... and pass 2 of row x1 */
    LN_P1 = 1u << 6,       /* ... and pass 1 of row x2 */
    LN_SPLIT = 1u << 7,    /* fast pass 3 with the mean as a float pair */
    LN_PREFETCH = 1u << 8, /* prefetch row pf during pass 3 */
    LN_PEEL = 1u << 9,     /* pass 3 alone, peeled to y's cache-line boundary */
    LN_BF16 = 1u << 10,    /* elements are bf16 */
    LN_F16 = 1u << 11,     /* elements are IEEE binary16 */
    LN_RMS = 1u << 12,     /* rmsnorm: no mean, no beta */
    LN_ADD = 1u << 13      /* h = x + residual first */
};

#define LN_NARROW (LN_BF16 | LN_F16)
#define LN_KIND (LN_NARROW | LN_RMS | LN_ADD)
/* The kinds that test gamma, beta, the cast and streaming at run time. */
#define LN_DYN(f) (((f) & LN_KIND) != 0)
/* Bytes per element. */
#define LN_ES(f) (((f) & LN_NARROW) ? sizeof(uint16_t) : sizeof(float))
#define LN_HALF (VF_LANES / 2)

/* One call's rows: the descriptor's shape and the tensors, untyped (the
 * element type is in the flags). */
typedef struct ln_rows {
    size_t rows, dim, x_stride, y_stride; /* strides in elements */
    const void *x, *res;                  /* res: the residual (add_ ops) */
    void *y, *h;                          /* h: x + residual rounded (add_ ops) */
    const void *gamma, *beta;             /* NULL when absent */
    float eps;
    float *mean, *rstd; /* NULL when not asked for */
    ln_store_hint store;
    ln_cast cast;
    ln_dtype dtype;
    int stream; /* run-time kinds: y is streamed */
} ln_rows;

static inline ln_rows ln_rows_of(const ln_desc *d, const ln_tensors *t)
{
    ln_rows r = {
        .rows = d->rows, .dim = d->dim, .x_stride = d->x_stride, .y_stride = d->y_stride,
        .x = t->x, .res = t->residual, .y = t->y, .h = t->h,
        /* Absent tensors are NULL (the ABI's rule, ln_check_call). */
        .gamma = t->gamma, .beta = t->beta,
        .eps = d->eps, .mean = t->mean, .rstd = t->rstd,
        .store = d->store, .cast = d->cast, .dtype = d->dtype,
    };
    return r;
}

/* Element j of p. */
LN_INLINE const void *at(unsigned f, const void *p, size_t j)
{
    return (const char *)p + j * LN_ES(f);
}
LN_INLINE void *at_w(unsigned f, void *p, size_t j) { return (char *)p + j * LN_ES(f); }

/* VF_LANES elements at p[j..] as floats (exact). */
LN_INLINE vf ld(unsigned f, const void *p, size_t j)
{
    if (f & LN_BF16)
        return vf_from_bf16(vb_loadu((const uint16_t *)p + j));
    if (f & LN_F16)
        return vf_from_f16(vb_loadu((const uint16_t *)p + j));
    return vf_loadu((const float *)p + j);
}

/* cnt < VF_LANES elements at p[j..], zeros in the other lanes. */
LN_INLINE vf ld_part(unsigned f, const void *p, size_t j, size_t cnt)
{
    if (f & LN_BF16)
        return vf_from_bf16(vb_load_first((const uint16_t *)p + j, cnt));
    if (f & LN_F16)
        return vf_from_f16(vb_load_first((const uint16_t *)p + j, cnt));
    return vf_load_part((const float *)p + j, vf_first(cnt));
}

LN_INLINE vb to_vb(unsigned f, vf v)
{
    return (f & LN_BF16) ? vb_from_f32_bf16(v) : vb_from_f32_f16(v);
}

/* v rounded to the element type at p[j..]; stream: non-temporal. */
LN_INLINE void st(unsigned f, void *p, size_t j, vf v, int stream)
{
    if (f & LN_NARROW) {
        uint16_t *q = (uint16_t *)p + j;
        if (stream)
            vb_stream(q, to_vb(f, v));
        else
            vb_storeu(q, to_vb(f, v));
    } else if (stream) {
        vf_stream((float *)p + j, v);
    } else {
        vf_storeu((float *)p + j, v);
    }
}

LN_INLINE void st_part(unsigned f, void *p, size_t j, size_t cnt, vf v)
{
    if (f & LN_NARROW)
        vb_store_first((uint16_t *)p + j, cnt, to_vb(f, v));
    else
        vf_store_part((float *)p + j, vf_first(cnt), v);
}

/* v rounded to the element type and widened back (nearest even). */
LN_INLINE vf rnd(unsigned f, vf v)
{
    if (f & LN_BF16)
        return vf_from_bf16(vb_from_f32_bf16(v));
    if (f & LN_F16)
        return vf_from_f16(vb_from_f32_f16(v));
    return v;
}

/* One element as a float, and a float rounded to the element type: the
 * portable conversions, which round as the vector ones do. */
LN_INLINE float ld1(unsigned f, const void *p, size_t j)
{
    if (f & LN_BF16)
        return ln_bf16_to_f32(((const uint16_t *)p)[j]);
    if (f & LN_F16)
        return ln_f16_to_f32(((const uint16_t *)p)[j]);
    return ((const float *)p)[j];
}

LN_INLINE float rnd1(unsigned f, float v)
{
    if (f & LN_BF16)
        return ln_bf16_to_f32(ln_f32_to_bf16(v));
    if (f & LN_F16)
        return ln_f16_to_f32(ln_f32_to_f16(v));
    return v;
}

/* h = x + residual rounded to the dtype, written to h[j..] and returned.
 * The binary32 sum of two bf16 or f16 values is exact unless they lie so
 * many binades apart that it stays within a small fraction of an ulp of
 * the larger, far from any rounding boundary of the dtype: rounding that
 * float to the dtype rounds the exact sum once.  Ordinary stores: h is
 * read back by the next passes. */
LN_INLINE vf form_h(unsigned f, const void *x, const void *r, void *h, size_t j)
{
    vf v = rnd(f, vf_add(ld(f, x, j), ld(f, r, j)));
    st(f, h, j, v, 0);
    return v;
}

LN_INLINE vf form_h_part(unsigned f, const void *x, const void *r, void *h, size_t j,
                         size_t cnt)
{
    vf v = rnd(f, vf_add(ld_part(f, x, j, cnt), ld_part(f, r, j, cnt)));
    st_part(f, h, j, cnt, v);
    return v;
}

/* A row's first guess of the mean, from pass 1: a float for the fast
 * algorithm, a double for the accurate one. */
typedef struct ln_guess {
    float f;
    double d;
} ln_guess;

/* A row's normalisation, made from its pass-2 sums by fast_finish or
 * acc_finish. */
typedef struct ln_norm {
    float mh, ml, rstd_f;     /* fast: the mean as the float pair mh + ml */
    int split;                /* fast: pass 3 keeps ml */
    double m, c, rstd;        /* accurate: the mean m + c */
    float mean_out, rstd_out; /* the row's mean and rstd outputs */
} ln_norm;

/* One loop over the columns: pass 3 of row x into y (with nm), pass 2 of
 * row x1 around m1 (into sdev1, ssq1) and pass 1 of row x2 (into s2), each
 * when f asks for it.  For the add_ ops the pass that forms h reads x and
 * the residual (x1, r1 into h1 for pass 2 of the RMS form; x2, r2 into h2
 * for pass 1) and the others read h. */
typedef struct ln_cols {
    const void *x, *x1, *x2, *r1, *r2, *pf, *pfr;
    void *y, *h1, *h2;
    ln_norm nm;
    ln_guess m1;
    double sdev1, ssq1;
    float s2, x0; /* x0: pass 1's row's first element (of h for add_) */
    double inv_n; /* 1/dim, and as a float */
    float inv_nf;
} ln_cols;

/* Gamma and beta present, streaming stores: compile-time flags for binary32
 * layernorm, the pointers and a->stream for the other kinds. */
LN_INLINE int has_gamma(unsigned f, const void *g)
{
    return LN_DYN(f) ? g != NULL : (f & LN_GAMMA) != 0;
}
LN_INLINE int has_beta(unsigned f, const void *b)
{
    return LN_DYN(f) ? b != NULL : (f & LN_BETA) != 0;
}
LN_INLINE int streams(unsigned f, const ln_rows *a)
{
    return LN_DYN(f) ? a->stream : (f & LN_STREAM) != 0;
}

/* The source of pass 2 at x1[j..]: h formed there for the RMS add_ form
 * (pass 1 formed it for the layernorm one), else the row as it is. */
LN_INLINE vf p2_src(unsigned f, const ln_cols *c, size_t j)
{
    if ((f & LN_ADD) && (f & LN_RMS))
        return form_h(f, c->x1, c->r1, c->h1, j);
    return ld(f, c->x1, j);
}

LN_INLINE vf p2_src_part(unsigned f, const ln_cols *c, size_t j, size_t cnt)
{
    if ((f & LN_ADD) && (f & LN_RMS))
        return form_h_part(f, c->x1, c->r1, c->h1, j, cnt);
    return ld_part(f, c->x1, j, cnt);
}

/* VF_LANES values of pass 2's source as two halves of doubles. */
LN_INLINE void p2_src_d(unsigned f, const ln_cols *c, size_t j, vd *lo, vd *hi)
{
    if (LN_DYN(f)) {
        vf v = p2_src(f, c, j);
        *lo = vd_from_vh(vf_lo(v));
        *hi = vd_from_vh(vf_hi(v));
    } else {
        *lo = vd_widen((const float *)c->x1 + j);
        *hi = vd_widen((const float *)c->x1 + j + LN_HALF);
    }
}

/* The source of pass 1 at x2[j..]: h formed there for the add_ form. */
LN_INLINE vf p1_src(unsigned f, const ln_cols *c, size_t j)
{
    if (f & LN_ADD)
        return form_h(f, c->x2, c->r2, c->h2, j);
    return ld(f, c->x2, j);
}

LN_INLINE vf p1_src_part(unsigned f, const ln_cols *c, size_t j, size_t cnt)
{
    if (f & LN_ADD)
        return form_h_part(f, c->x2, c->r2, c->h2, j, cnt);
    return ld_part(f, c->x2, j, cnt);
}

#include "layernorm_fast.h"
#include "layernorm_accurate.h"

/* Pass 3 of either algorithm: VF_LANES outputs from x[j..] stored at y[j..],
 * and cnt < VF_LANES of them (out_part). */
LN_INLINE void out_vec(unsigned f, const ln_rows *a, const fast_p3 *fp, const acc_p3 *ap,
                       const void *x, void *y, size_t j)
{
    vf v = (f & LN_ACCURATE) ? acc_norm(f, ap, x, j) : fast_norm(f, fp, x, j, 0);
    st(f, y, j, v, streams(f, a));
}

LN_INLINE void out_part(unsigned f, const fast_p3 *fp, const acc_p3 *ap, const void *x,
                        void *y, size_t j, size_t cnt)
{
    if (f & LN_ACCURATE)
        acc_out_part(f, ap, x, y, j, cnt);
    else
        st_part(f, y, j, cnt, fast_norm(f, fp, x, j, cnt));
}

/* The one loop over a row's columns (see ln_cols): 4 * VF_LANES columns
 * at a time, then one vector at a time, then the tail. */
LN_INLINE void cols(unsigned f, const ln_rows *a, const ln_wide *w, ln_cols *c)
{
    const size_t n = a->dim, W = VF_LANES;
    const void *x = c->x;
    void *y = c->y;
    const int p1 = (f & LN_P1) && !(f & LN_RMS);
    fast_p3 fp;
    acc_p3 ap;
    fast_p2 f2;
    acc_p2 a2;
    if (f & LN_ACCURATE) {
        acc_p3_init(f, &ap, &c->nm, w, a);
        acc_p2_init(f, &a2, c->m1.d);
    } else {
        fast_p3_init(f, &fp, &c->nm, a);
        fast_p2_init(f, &f2, c->m1.f);
    }
    /* Pass 1: sum(x2 - x2[0]) in four accumulators, in the same order on
     * every path, so that every path gives the same bits. */
    const vf vx0 = vf_set1(p1 ? c->x0 : 0.0f);
    vf s0 = vf_zero(), s1 = s0, s2 = s0, s3 = s0;
    size_t j = 0;
    if (f & LN_PEEL) {
        /* Up to y's next 64-byte boundary, so that the streaming stores
         * fill whole cache lines (binary32 only: a float pointer is 4-byte
         * aligned). */
        size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
        size_t end = mis == 0 ? 0 : 16 - mis < n ? 16 - mis : n;
        while (j < end) {
            size_t cnt = end - j < W ? end - j : W;
            out_part(f, &fp, &ap, x, y, j, cnt);
            j += cnt;
        }
    }
    /* The run-time kinds take the one-vector loop only: their pass 3 tests
     * gamma, beta, the cast and the store per vector, and unrolling that
     * four times in every loop of 24 pipelines made GCC need many minutes
     * and gigabytes per file. */
    for (; !LN_DYN(f) && j + 4 * W <= n; j += 4 * W) {
        if (f & LN_OUT) {
            out_vec(f, a, &fp, &ap, x, y, j);
            out_vec(f, a, &fp, &ap, x, y, j + W);
            out_vec(f, a, &fp, &ap, x, y, j + 2 * W);
            out_vec(f, a, &fp, &ap, x, y, j + 3 * W);
            if (f & LN_PREFETCH) { /* one cache line at a time */
                for (size_t l = 0; l < 4 * W; l += 64 / LN_ES(f))
                    ln_prefetch(at(f, c->pf, j + l));
                if (f & LN_ADD)
                    for (size_t l = 0; l < 4 * W; l += 64 / LN_ES(f))
                        ln_prefetch(at(f, c->pfr, j + l));
            }
        }
        if ((f & LN_P2) && (f & LN_ACCURATE))
            acc_p2_block(f, &a2, c, j);
        else if (f & LN_P2)
            fast_p2_block(f, &f2, c, j);
        if (p1) {
            s0 = vf_add(s0, vf_sub(p1_src(f, c, j), vx0));
            s1 = vf_add(s1, vf_sub(p1_src(f, c, j + W), vx0));
            s2 = vf_add(s2, vf_sub(p1_src(f, c, j + 2 * W), vx0));
            s3 = vf_add(s3, vf_sub(p1_src(f, c, j + 3 * W), vx0));
        }
    }
    for (; j + W <= n; j += W) {
        if ((f & LN_OUT) && LN_DYN(f) && (f & LN_PREFETCH) && (j & (64 / LN_ES(f) - 1)) == 0) {
            ln_prefetch(at(f, c->pf, j));
            if (f & LN_ADD)
                ln_prefetch(at(f, c->pfr, j));
        }
        if (f & LN_OUT)
            out_vec(f, a, &fp, &ap, x, y, j);
        if ((f & LN_P2) && (f & LN_ACCURATE))
            acc_p2_vec(f, &a2, c, j);
        else if (f & LN_P2)
            fast_p2_vec(f, &f2, c, j);
        if (p1)
            s0 = vf_add(s0, vf_sub(p1_src(f, c, j), vx0));
    }
    if (j < n) {
        size_t r = n - j;
        if (f & LN_OUT)
            out_part(f, &fp, &ap, x, y, j, r);
        if ((f & LN_P2) && (f & LN_ACCURATE))
            acc_p2_tail(f, &a2, c, j, r);
        else if (f & LN_P2)
            fast_p2_tail(f, &f2, c, j, r);
        if (p1) {
            vf_mask k = vf_first(r);
            s1 = vf_add_part(s1, k, vf_sub(p1_src_part(f, c, j, r), vx0));
        }
    }
    if ((f & LN_P2) && (f & LN_ACCURATE))
        acc_p2_sums(f, &a2, &c->sdev1, &c->ssq1);
    else if (f & LN_P2)
        fast_p2_sums(f, &f2, &c->sdev1, &c->ssq1);
    if (p1)
        c->s2 = vf_hsum(vf_add(vf_add(s0, s1), vf_add(s2, s3)));
}

/* A row's first guess of the mean from pass 1's s = sum(x - x0): exactly
 * x0 for a constant row.  Multiplications by 1/n instead of divisions
 * shorten the per-row chain between the passes (1/n's rounding is far
 * below the float statistics' own). */
LN_INLINE ln_guess first_guess(unsigned f, const void *x, float s, float inv_nf)
{
    ln_guess g = {0.0f, 0.0};
    if (f & LN_RMS)
        return g;
    if (f & LN_ACCURATE)
        g.d = (double)ld1(f, x, 0) + (double)(s * inv_nf);
    else
        g.f = ld1(f, x, 0) + s * inv_nf;
    return g;
}

/* Row i of the tensor the norm is taken of: h for the add_ ops, else x. */
LN_INLINE const void *row_in(unsigned f, const ln_rows *a, size_t i)
{
    return (f & LN_ADD) ? at(f, a->h, i * a->y_stride) : at(f, a->x, i * a->x_stride);
}

/* Aims pass 1 at row i: its x (and for add_ its residual and h), and the
 * first element its sums are shifted by. */
LN_INLINE void aim_p1(unsigned f, const ln_rows *a, ln_cols *c, size_t i)
{
    c->x2 = at(f, a->x, i * a->x_stride);
    if (f & LN_ADD) {
        c->r2 = at(f, a->res, i * a->x_stride);
        c->h2 = at_w(f, a->h, i * a->y_stride);
        c->x0 = rnd1(f, ld1(f, c->x2, 0) + ld1(f, c->r2, 0));
    } else {
        c->x0 = ld1(f, c->x2, 0);
    }
}

/* Aims pass 2 at row i, whose pass 1 left its sum in c->s2. */
LN_INLINE void aim_p2(unsigned f, const ln_rows *a, ln_cols *c, size_t i)
{
    if ((f & LN_ADD) && (f & LN_RMS)) {
        c->x1 = at(f, a->x, i * a->x_stride);
        c->r1 = at(f, a->res, i * a->x_stride);
        c->h1 = at_w(f, a->h, i * a->y_stride);
    } else {
        c->x1 = row_in(f, a, i);
    }
    c->m1 = first_guess(f, c->x1, c->s2, c->inv_nf);
}

/* The rows to prefetch during pass 3: row k of x (and of the residual),
 * or the last row, already on its way, past the end. */
LN_INLINE void aim_pf(unsigned f, const ln_rows *a, ln_cols *c, size_t k)
{
    if (k >= a->rows)
        k = a->rows - 1;
    c->pf = at(f, a->x, k * a->x_stride);
    if (f & LN_ADD)
        c->pfr = at(f, a->res, k * a->x_stride);
}

/* Row i's normalisation from its pass 2 into *nm, and its mean and rstd
 * outputs.  Returns 0 when the statistics are not finite: the row has then
 * been done whole by ln_row_wide. */
LN_INLINE int row_stats(unsigned f, const ln_rows *a, size_t i, ln_guess m, double sdev,
                        double ssq, double inv_n, ln_norm *nm)
{
    int ok = (f & LN_ACCURATE) ? acc_finish(f, m.d, sdev, ssq, inv_n, a->eps, nm)
                               : fast_finish(f, m.f, sdev, ssq, inv_n, a->eps, nm);
    float *mean = a->mean ? a->mean + i : NULL, *rstd = a->rstd ? a->rstd + i : NULL;
    if (!ok) {
        ln_row_wide(a->dtype, (f & LN_RMS) != 0, a->cast, row_in(f, a, i),
                    at_w(f, a->y, i * a->y_stride), a->dim, a->gamma, a->beta, a->eps, mean,
                    rstd);
        return 0;
    }
    if (mean)
        *mean = nm->mean_out;
    if (rstd)
        *rstd = nm->rstd_out;
    return 1;
}

/* Pass 3 of row c->x (plus whatever else f asks for), with the fast
 * algorithm's choice of the split or one-fma form. */
LN_INLINE void out_cols(unsigned f, const ln_rows *a, const ln_wide *w, ln_cols *c)
{
    if (!(f & (LN_ACCURATE | LN_RMS)) && c->nm.split)
        cols(f | LN_OUT | LN_SPLIT, a, w, c);
    else
        cols(f | LN_OUT, a, w, c);
}

/* Only the statistics passes of f (and its kind). */
#define LN_STATS(f) ((f) & (LN_ACCURATE | LN_P2 | LN_P1 | LN_KIND))

/* Step i of the pipeline: one loop writes row i (whose pass 2 is in c),
 * takes pass 2 of row i+1 (LN_P2 in f) and pass 1 of row i+2 (LN_P1), and
 * prefetches the row after the last one it reads. */
LN_INLINE void pipe_row(unsigned f, const ln_rows *a, const ln_wide *w, size_t i, ln_cols *c)
{
    const ln_guess m = c->m1;
    const double sdev = c->sdev1, ssq = c->ssq1;
    c->x = row_in(f, a, i);
    c->y = at_w(f, a->y, i * a->y_stride);
    if (f & LN_P2)
        aim_p2(f, a, c, i + 1);
    if (f & LN_P1) {
        if (!(f & LN_RMS))
            aim_p1(f, a, c, i + 2);
        aim_pf(f, a, c, (f & LN_RMS) ? i + 2 : i + 3);
    }
    if (row_stats(f, a, i, m, sdev, ssq, c->inv_n, &c->nm))
        out_cols(f, a, w, c);
    else
        cols(LN_STATS(f), a, w, c); /* rows i+1, i+2 still get their passes */
}

/* Cached stores, or streamed to rows of y that start on cache lines: the
 * three passes software-pipelined over three rows (about 10% faster than
 * one row at a time on L2-resident shapes, 4% on DRAM-sized ones).  The
 * RMS forms have no pass 1: two rows in flight. */
LN_INLINE void rows_pipelined(unsigned f, const ln_rows *a, const ln_wide *w)
{
    const size_t R = a->rows;
    ln_cols c = {.inv_n = 1.0 / (double)a->dim};
    c.inv_nf = (float)c.inv_n;
    if (R == 0)
        return;
    /* Prologue: row 0's passes 1 and 2, row 1's pass 1. */
    if (!(f & LN_RMS)) {
        aim_p1(f, a, &c, 0);
        cols(LN_STATS(f) | LN_P1, a, w, &c);
    }
    aim_p2(f, a, &c, 0);
    if (R > 1 && !(f & LN_RMS)) {
        aim_p1(f, a, &c, 1);
        cols(LN_STATS(f) | LN_P2 | LN_P1, a, w, &c);
    } else {
        cols(LN_STATS(f) | LN_P2, a, w, &c);
    }
    /* The fast binary32 layernorm prefetches only ahead of streaming
     * stores (cached stores leave the next rows' reads to pass 1); the
     * accurate one, with more work per element, and the other kinds
     * always. */
    const unsigned pf = (f & (LN_ACCURATE | LN_STREAM | LN_KIND)) ? LN_PREFETCH : 0;
    size_t i = 0;
    for (; i + 2 < R; i++)
        pipe_row(f | LN_P2 | LN_P1 | pf, a, w, i, &c);
    if (i + 1 < R)
        pipe_row(f | LN_P2, a, w, i++, &c);
    pipe_row(f, a, w, i, &c);
}

/* Streaming stores to rows of y that do not start on cache lines (binary32
 * layernorm): pass 2 (with the next row's pass 1), then pass 3 with its
 * peel to y's line boundary and the prefetch of row i+2.  Same sums as the
 * pipeline. */
LN_INLINE void rows_loop(unsigned f, const ln_rows *a, const ln_wide *w)
{
    ln_cols c = {.inv_n = 1.0 / (double)a->dim};
    c.inv_nf = (float)c.inv_n;
    if (a->rows == 0)
        return;
    aim_p1(f, a, &c, 0);
    cols(LN_STATS(f) | LN_P1, a, w, &c);
    for (size_t i = 0; i < a->rows; i++) {
        c.x = c.x1 = row_in(f, a, i);
        c.y = at_w(f, a->y, i * a->y_stride);
        c.m1 = first_guess(f, c.x, c.s2, c.inv_nf);
        if (i + 1 < a->rows) {
            aim_p1(f, a, &c, i + 1);
            cols(LN_STATS(f) | LN_P2 | LN_P1, a, w, &c);
        } else {
            cols(LN_STATS(f) | LN_P2, a, w, &c);
        }
        if (!row_stats(f, a, i, c.m1, c.sdev1, c.ssq1, c.inv_n, &c.nm))
            continue;
        /* Row i+1 is already on its way (pass 2 read it); asking for row
         * i+2 during this pass keeps the memory busy while we compute and
         * write: measured 0.70 -> 0.90 of memcpy at 32768 x 4096. */
        c.pf = i + 2 < a->rows ? at(f, c.x, 2 * a->x_stride) : c.x;
        out_cols(f | LN_PEEL | LN_PREFETCH, a, w, &c);
    }
}

/* The store policy (row_f64.h's ln_streaming_pays) on this call's working
 * set: x and y, and for the add_ ops the residual and h too. */
LN_INLINE int rows_streaming(unsigned f, const ln_rows *a)
{
    if (a->store == LN_STORE_STREAMING)
        return 1;
    if (a->store == LN_STORE_CACHED)
        return 0;
    size_t tensors = (f & LN_ADD) ? 4 : 2;
    return ln_streaming_pays(tensors * a->rows * a->dim * LN_ES(f), ln_llc_bytes());
}

/* Runs algorithm and kind f over a's rows; binary32 layernorm with one
 * specialised loop per combination of gamma, beta and streaming stores.
 * Returns whether y was streamed (the caller then fences). */
LN_INLINE int rows_run(unsigned f, ln_rows *a, const ln_wide *w)
{
    const int stream = VEC_HAS_STREAM && rows_streaming(f, a);
    /* Every row of y starting on a cache line lets the pipelined loop
     * stream whole lines; otherwise binary32 layernorm takes the two-loop
     * path with its per-row peel (both sum in the same order, so the store
     * hints give bit-identical results), and the other kinds store
     * through the cache. */
    const int lines = ((uintptr_t)a->y % 64 == 0) && ((a->y_stride * LN_ES(f)) % 64 == 0);
    if (LN_DYN(f)) {
        a->stream = stream && lines;
        rows_pipelined(f, a, w);
        return a->stream;
    }
    const unsigned v = (a->gamma ? LN_GAMMA : 0) | (a->beta ? LN_BETA : 0) |
                       (stream ? LN_STREAM : 0);
#define LN_RUN(k)                                                   \
    case k:                                                         \
        if (((k) & LN_STREAM) && !lines)                            \
            rows_loop(f | (k), a, w);                               \
        else                                                        \
            rows_pipelined(f | (k), a, w);                          \
        break;
    switch (v) {
        LN_RUN(0) LN_RUN(1) LN_RUN(2) LN_RUN(3) LN_RUN(4) LN_RUN(5) LN_RUN(6) LN_RUN(7)
    }
#undef LN_RUN
    return stream;
}

/* One out-of-line function per algorithm and kind (dtype x operation),
 * holding that kind's pipeline: inlining them all into one forward made
 * the compiler's time and memory explode. */
#define LN_KINDS_BF16(X, alg)                                                             \
    X(alg, bf16, LN_BF16)                                                                 \
    X(alg, bf16_rms, LN_BF16 | LN_RMS)                                                    \
    X(alg, bf16_add, LN_BF16 | LN_ADD)                                                    \
    X(alg, bf16_add_rms, LN_BF16 | LN_ADD | LN_RMS)
#ifdef LN_SIMD_BF16_ONLY /* a file that compiles only the bf16 kinds */
#define LN_KINDS(X, alg) LN_KINDS_BF16(X, alg)
#else
#define LN_KINDS(X, alg)                                                                  \
    X(alg, f32, 0)                                                                        \
    X(alg, f32_rms, LN_RMS)                                                               \
    X(alg, f32_add, LN_ADD)                                                               \
    X(alg, f32_add_rms, LN_ADD | LN_RMS)                                                  \
    LN_KINDS_BF16(X, alg)                                                                 \
    X(alg, f16, LN_F16)                                                                   \
    X(alg, f16_rms, LN_F16 | LN_RMS)                                                      \
    X(alg, f16_add, LN_F16 | LN_ADD)                                                      \
    X(alg, f16_add_rms, LN_F16 | LN_ADD | LN_RMS)
#endif
#define LN_ALG_fast 0
#define LN_ALG_accurate LN_ACCURATE
#define LN_KIND_FN(alg, name, k)                                                          \
    static __attribute__((noinline, unused)) int ln_##alg##_##name(ln_rows *a,           \
                                                                    const ln_wide *w)     \
    {                                                                                     \
        return rows_run(LN_ALG_##alg | (k), a, w);                                        \
    }
#define LN_KIND_CASE(alg, name, k) \
    case k:                        \
        return ln_##alg##_##name(a, w);
LN_KINDS(LN_KIND_FN, fast)
LN_KINDS(LN_KIND_FN, accurate)

/* The kind flags of a descriptor's operation and dtype. */
static inline unsigned ln_kind_of(const ln_desc *d)
{
    unsigned k = d->dtype == LN_DTYPE_BF16 ? LN_BF16 : d->dtype == LN_DTYPE_F16 ? LN_F16 : 0;
    if (ln_op_is_rms(d->op))
        k |= LN_RMS;
    if (ln_op_has_residual(d->op))
        k |= LN_ADD;
    return k;
}

/* Each algorithm on the descriptor's kind.  Returns whether y was
 * streamed. */
static inline int fast_kinds(const ln_desc *d, ln_rows *a)
{
    const ln_wide *w = NULL;
    switch (ln_kind_of(d)) {
        LN_KINDS(LN_KIND_CASE, fast)
    default:
        return 0;
    }
}

static inline int accurate_kinds(const ln_desc *d, ln_rows *a, const ln_wide *w)
{
    switch (ln_kind_of(d)) {
        LN_KINDS(LN_KIND_CASE, accurate)
    default:
        return 0;
    }
}

LN_INLINE int fast_forward(const ln_desc *d, const ln_tensors *t)
{
    ln_rows a = ln_rows_of(d, t);
    if (fast_kinds(d, &a))
        ln_store_fence();
    return 0;
}

LN_INLINE int accurate_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    ln_rows a = ln_rows_of(d, t);
    accurate_state *st = state;
    /* Without prepare (or for a larger dim) the buffer is made here: one
     * allocation per call, amortised over the rows. */
    double *gb = st && st->dim >= a.dim ? st->gb : accurate_alloc(a.dim);
    if (!gb) {
        /* No memory: the scalar double path needs none. */
        ln_rows_wide(d, t);
        return 0;
    }
    double *g = gb, *b = gb + a.dim;
    accurate_widen(&a, g, b);
    const ln_wide w = {g, b};
    if (accurate_kinds(d, &a, &w))
        ln_store_fence();
    if (gb != (st ? st->gb : NULL))
        free(gb);
    return 0;
}

/* The two kernels of one ISA: ln_kernel_<isa> (fast) and
 * ln_kernel_<isa>_accurate, whose forward functions are named
 * <isa>_forward and <isa>_accurate_forward (scripts/icount finds them by
 * those names; it counts inclusive instructions, the out-of-line kind
 * functions included).  Every operation, dtype and cast. */
#define LN_SIMD_CAPS(isa_id, cap_flags)                                                   \
    {.ops = LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) | LN_BIT(LN_OP_ADD_LAYERNORM) | \
            LN_BIT(LN_OP_ADD_RMSNORM),                                                    \
     .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16),       \
     .casts = LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA),                              \
     .device = LN_DEVICE_HOST, .isa = isa_id,                                             \
     .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,       \
     .flags = cap_flags}

/* A file may first hand a descriptor to another build of the same source
 * (simd_avx512.c: the bf16 kinds built with AVX512_BF16): LN_SIMD_DISPATCH
 * is that call's result, or -1 to run here. */
#ifndef LN_SIMD_DISPATCH
#define LN_SIMD_DISPATCH(d, t, state, accurate) (-1)
#endif

#define LN_SIMD_KERNELS(isa, isa_id, cap_flags, fast_description, accurate_description)  \
    static int isa##_forward(const ln_desc *d, const ln_tensors *t, void *state)          \
    {                                                                                     \
        int rc = LN_SIMD_DISPATCH(d, t, state, 0);                                        \
        (void)state;                                                                      \
        return rc >= 0 ? rc : fast_forward(d, t);                                         \
    }                                                                                     \
    static int isa##_accurate_forward(const ln_desc *d, const ln_tensors *t, void *state) \
    {                                                                                     \
        int rc = LN_SIMD_DISPATCH(d, t, state, 1);                                        \
        return rc >= 0 ? rc : accurate_forward(d, t, state);                              \
    }                                                                                     \
    const ln_kernel ln_kernel_##isa = {                                                   \
        .name = #isa,                                                                     \
        .family = #isa,                                                                   \
        .description = fast_description,                                                  \
        .forward = isa##_forward,                                                         \
        .caps = LN_SIMD_CAPS(isa_id, cap_flags),                                          \
    };                                                                                    \
    const ln_kernel ln_kernel_##isa##_accurate = {                                        \
        .name = #isa "_accurate",                                                         \
        .family = #isa,                                                                   \
        .description = accurate_description,                                              \
        .prepare = accurate_prepare,                                                      \
        .release = accurate_release,                                                      \
        .forward = isa##_accurate_forward,                                                \
        .caps = LN_SIMD_CAPS(isa_id, (cap_flags) | LN_CAP_FAITHFUL),                      \
    }

#endif
