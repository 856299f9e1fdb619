/*
 * layernorm_rows.h - the SIMD LayerNorm kernels, written once over a vector
 * vocabulary and compiled once per ISA: kernels/simd_<isa>.c includes its
 * vec_<isa>.h, then this file, and names its two kernels with
 * LN_SIMD_KERNELS.  The fast algorithm's arithmetic is in
 * layernorm_fast.h, the accurate one's in layernorm_accurate.h; this file
 * holds what they share: pass 1, the loop over a row's columns, the
 * pipeline over rows, and the specialisation of every loop for gamma, beta
 * and streaming stores, for binary32 LayerNorm.  Every other operation,
 * dtype and cast runs through norm_kinds.h, included at the end.
 *
 * The vocabulary (each vec_<isa>.h defines all of it, with these names):
 *   vf, vd, vh          VF_LANES floats, VF_LANES/2 doubles, VF_LANES/2 floats
 *   vf_zero set1 loadu storeu add sub mul fma(a, b, c) = a*b + c, and the
 *                       same for vd (vd_loadu from doubles)
 *   vf_mask, vd_mask    the first n lanes of a vf / of a vd or vh (vf_first,
 *                       vd_first); *_load_part gives zeros outside the mask
 *                       and never touches memory there, *_store_part leaves
 *                       it alone
 *   vf_add_part, vf_fma_part   update only the lanes of a mask
 *   vd_keep             zero outside a mask
 *   vd_widen(p)         VF_LANES/2 floats at p as doubles (and _part);
 *                       vh_narrow rounds a vd to floats, vf_join(lo, hi)
 *   vf_hsum, vd_hsum    horizontal sums
 *   vf_stream           non-temporal store to an address aligned to a vf;
 *                       VEC_HAS_STREAM is 0 where the ISA has none
 *   and for norm_kinds.h: vb (VF_LANES bf16/f16 values) with vb_loadu,
 *                       vb_storeu, vb_stream, vb_load_first, vb_store_first;
 *                       vf_from_bf16, vf_from_f16 (exact), vb_from_f32_bf16,
 *                       vb_from_f32_f16 (nearest even); vf_lo, vf_hi,
 *                       vd_from_vh; vh_narrow_odd (doubles to floats
 *                       rounded to odd)
 *   ln_prefetch, ln_store_fence
 *
 * Every loop below is an always-inline function whose unsigned f is a
 * compile-time constant of LN_* flags by the time it is inlined, so each
 * combination compiles to its own loop, without tests inside.
 *
 * Rules kept for kernels/lnbench_kernel.h: tails use masked or partial
 * loads and stores, which never touch memory past dim; a row whose
 * statistics come out non-finite is redone by ln_row_f64 (row_f64.h) and
 * the rows after it are computed as if it were not there.
 */
#ifndef LNBENCH_LAYERNORM_ROWS_H
#define LNBENCH_LAYERNORM_ROWS_H

#include "cpu_features.h"
#include "dtype_convert.h"
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "row_f64.h"
#include "row_wide.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum {
    LN_GAMMA = 1u << 0,    /* gamma present */
    LN_BETA = 1u << 1,     /* beta present */
    LN_STREAM = 1u << 2,   /* non-temporal stores of y */
    LN_ACCURATE = 1u << 3, /* the accurate algorithm (else the fast one) */
    LN_OUT = 1u << 4,      /* the loop does pass 3 of row x into y */
    LN_P2 = 1u << 5,       /* ... and pass 2 of row x1 */
    LN_P1 = 1u << 6,       /* ... and pass 1 of row x2 */
    LN_SPLIT = 1u << 7,    /* fast pass 3 with the mean as a float pair */
    LN_PREFETCH = 1u << 8, /* prefetch row pf during pass 3 */
    LN_PEEL = 1u << 9      /* pass 3 alone, peeled to y's cache-line boundary */
};

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

#include "layernorm_fast.h"
#include "layernorm_accurate.h"

/* One loop over the columns: pass 3 of row x (with nm), pass 2 of row x1
 * around m1 (into sdev1, ssq1) and pass 1 of row x2 (into s2), each when
 * f asks for it. */
typedef struct ln_cols {
    const float *x, *x1, *x2, *pf;
    float *y;
    ln_norm nm;
    ln_guess m1;
    double sdev1, ssq1;
    float s2;
    double inv_n; /* 1/dim, and as a float */
    float inv_nf;
} ln_cols;

/* Pass 3 of either algorithm: VF_LANES outputs from x[j..], cnt <= VF_LANES
 * of them (out_part), and the store of a vector of them. */
LN_INLINE vf out_vec(unsigned f, const fast_p3 *fp, const acc_p3 *ap, const float *x, size_t j)
{
    return (f & LN_ACCURATE) ? acc_norm(f, ap, x, j) : fast_norm(f, fp, x, j, NULL);
}

LN_INLINE void out_part(unsigned f, const fast_p3 *fp, const acc_p3 *ap, const float *x,
                        float *y, size_t j, size_t cnt)
{
    if (f & LN_ACCURATE)
        acc_out_part(f, ap, x, y, j, cnt);
    else
        fast_out_part(f, fp, x, y, j, cnt);
}

LN_INLINE void out_store(unsigned f, float *p, vf v)
{
    if (f & LN_STREAM)
        vf_stream(p, v);
    else
        vf_storeu(p, v);
}

/* The one loop over a row's columns (see ln_cols): 4 * VF_LANES columns
 * at a time, then one vector at a time, then the tail. */
LN_INLINE void cols(unsigned f, const ln_f32_rows *a, const ln_wide *w, ln_cols *c)
{
    const size_t n = a->dim, W = VF_LANES;
    const float *x = c->x, *x1 = c->x1, *x2 = c->x2, *pf = c->pf;
    float *y = c->y;
    fast_p3 fp;
    acc_p3 ap;
    fast_p2 f2;
    acc_p2 a2;
    if (f & LN_ACCURATE) {
        acc_p3_init(&ap, &c->nm, w);
        acc_p2_init(&a2, c->m1.d);
    } else {
        fast_p3_init(f, &fp, &c->nm, a);
        fast_p2_init(&f2, c->m1.f);
    }
    /* Pass 1: sum(x2 - x2[0]) in four accumulators, in the same order on
     * every path, so that every path gives the same bits. */
    const vf vx0 = vf_set1(f & LN_P1 ? x2[0] : 0.0f);
    vf s0 = vf_zero(), s1 = s0, s2 = s0, s3 = s0;
    size_t j = 0;
    if (f & LN_PEEL) {
        /* Up to y's next 64-byte boundary, so that the streaming stores
         * fill whole cache lines (a float pointer is 4-byte aligned). */
        size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
        size_t end = mis == 0 ? 0 : 16 - mis < n ? 16 - mis : n;
        while (j < end) {
            size_t cnt = end - j < W ? end - j : W;
            out_part(f, &fp, &ap, x, y, j, cnt);
            j += cnt;
        }
    }
    for (; j + 4 * W <= n; j += 4 * W) {
        if (f & LN_OUT) {
            out_store(f, y + j, out_vec(f, &fp, &ap, x, j));
            out_store(f, y + j + W, out_vec(f, &fp, &ap, x, j + W));
            out_store(f, y + j + 2 * W, out_vec(f, &fp, &ap, x, j + 2 * W));
            out_store(f, y + j + 3 * W, out_vec(f, &fp, &ap, x, j + 3 * W));
            if (f & LN_PREFETCH) /* one cache line at a time */
                for (size_t l = 0; l < 4 * W; l += 16)
                    ln_prefetch(pf + j + l);
        }
        if ((f & LN_P2) && (f & LN_ACCURATE))
            acc_p2_block(&a2, x1 + j);
        else if (f & LN_P2)
            fast_p2_block(&f2, x1 + j);
        if (f & LN_P1) {
            s0 = vf_add(s0, vf_sub(vf_loadu(x2 + j), vx0));
            s1 = vf_add(s1, vf_sub(vf_loadu(x2 + j + W), vx0));
            s2 = vf_add(s2, vf_sub(vf_loadu(x2 + j + 2 * W), vx0));
            s3 = vf_add(s3, vf_sub(vf_loadu(x2 + j + 3 * W), vx0));
        }
    }
    for (; j + W <= n; j += W) {
        if (f & LN_OUT)
            out_store(f, y + j, out_vec(f, &fp, &ap, x, j));
        if ((f & LN_P2) && (f & LN_ACCURATE))
            acc_p2_vec(&a2, x1 + j);
        else if (f & LN_P2)
            fast_p2_vec(&f2, x1 + j);
        if (f & LN_P1)
            s0 = vf_add(s0, vf_sub(vf_loadu(x2 + j), vx0));
    }
    if (j < n) {
        size_t r = n - j;
        if (f & LN_OUT)
            out_part(f, &fp, &ap, x, y, j, r);
        if ((f & LN_P2) && (f & LN_ACCURATE))
            acc_p2_tail(&a2, x1 + j, r);
        else if (f & LN_P2)
            fast_p2_tail(&f2, x1 + j, r);
        if (f & LN_P1) {
            vf_mask k = vf_first(r);
            s1 = vf_add_part(s1, k, vf_sub(vf_load_part(x2 + j, k), vx0));
        }
    }
    if ((f & LN_P2) && (f & LN_ACCURATE))
        acc_p2_sums(&a2, &c->sdev1, &c->ssq1);
    else if (f & LN_P2)
        fast_p2_sums(&f2, &c->sdev1, &c->ssq1);
    if (f & LN_P1)
        c->s2 = vf_hsum(vf_add(vf_add(s0, s1), vf_add(s2, s3)));
}

/* A row's first guess of the mean from pass 1's s = sum(x - x0): exactly
 * x0 for a constant row.  Multiplications by 1/n instead of divisions
 * shorten the per-row chain between the passes (1/n's rounding is far
 * below the float statistics' own). */
LN_INLINE ln_guess first_guess(unsigned f, const float *x, float s, float inv_nf)
{
    ln_guess g = {0.0f, 0.0};
    if (f & LN_ACCURATE)
        g.d = (double)x[0] + (double)(s * inv_nf);
    else
        g.f = x[0] + s * inv_nf;
    return g;
}

/* Row i's normalisation from its pass 2 into *nm, and its mean and rstd
 * outputs.  Returns 0 when the statistics are not finite: the row has then
 * been done whole by ln_row_f64. */
LN_INLINE int row_stats(unsigned f, const ln_f32_rows *a, size_t i, ln_guess m, double sdev,
                        double ssq, double inv_n, ln_norm *nm)
{
    int ok = (f & LN_ACCURATE) ? acc_finish(m.d, sdev, ssq, inv_n, a->eps, nm)
                               : fast_finish(m.f, sdev, ssq, inv_n, a->eps, nm);
    float *mean = a->mean ? a->mean + i : NULL, *rstd = a->rstd ? a->rstd + i : NULL;
    if (!ok) {
        ln_row_f64(a->x + i * a->x_stride, a->y + i * a->y_stride, a->dim, a->gamma,
                   a->beta, a->eps, mean, rstd);
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
LN_INLINE void out_cols(unsigned f, const ln_f32_rows *a, const ln_wide *w, ln_cols *c)
{
    if (!(f & LN_ACCURATE) && c->nm.split)
        cols(f | LN_OUT | LN_SPLIT, a, w, c);
    else
        cols(f | LN_OUT, a, w, c);
}

/* Only the statistics passes of f. */
#define LN_STATS(f) ((f) & (LN_ACCURATE | LN_P2 | LN_P1))

/* Step i of the pipeline: one loop writes row i (whose pass 2 is in c),
 * takes pass 2 of row i+1 (LN_P2 in f) and pass 1 of row i+2 (LN_P1), and
 * prefetches row i+3. */
LN_INLINE void pipe_row(unsigned f, const ln_f32_rows *a, const ln_wide *w, size_t i,
                        ln_cols *c)
{
    const ln_guess m = c->m1;
    const double sdev = c->sdev1, ssq = c->ssq1;
    c->x = a->x + i * a->x_stride;
    c->y = a->y + i * a->y_stride;
    if (f & LN_P2) {
        c->x1 = c->x + a->x_stride;
        c->m1 = first_guess(f, c->x1, c->s2, c->inv_nf);
    }
    if (f & LN_P1) {
        c->x2 = c->x1 + a->x_stride;
        c->pf = i + 3 < a->rows ? c->x2 + a->x_stride : c->x2;
    }
    if (row_stats(f, a, i, m, sdev, ssq, c->inv_n, &c->nm))
        out_cols(f, a, w, c);
    else
        cols(LN_STATS(f), a, w, c); /* rows i+1, i+2 still get their passes */
}

/* Cached stores, or streamed to rows of y that start on cache lines: the
 * three passes software-pipelined over three rows (about 10% faster than
 * one row at a time on L2-resident shapes, 4% on DRAM-sized ones). */
LN_INLINE void rows_pipelined(unsigned f, const ln_f32_rows *a, const ln_wide *w)
{
    const size_t R = a->rows;
    ln_cols c = {.inv_n = 1.0 / (double)a->dim};
    c.inv_nf = (float)c.inv_n;
    if (R == 0)
        return;
    /* Prologue: row 0's passes 1 and 2, row 1's pass 1. */
    c.x2 = a->x;
    cols(LN_STATS(f) | LN_P1, a, w, &c);
    c.x1 = a->x;
    c.m1 = first_guess(f, a->x, c.s2, c.inv_nf);
    if (R > 1) {
        c.x2 = a->x + a->x_stride;
        cols(LN_STATS(f) | LN_P2 | LN_P1, a, w, &c);
    } else {
        cols(LN_STATS(f) | LN_P2, a, w, &c);
    }
    /* The fast kernel prefetches only ahead of streaming stores (cached
     * stores leave the next rows' reads to pass 1); the accurate one, with
     * more work per element, always. */
    const unsigned pf = (f & (LN_ACCURATE | LN_STREAM)) ? LN_PREFETCH : 0;
    size_t i = 0;
    for (; i + 2 < R; i++)
        pipe_row(f | LN_P2 | LN_P1 | pf, a, w, i, &c);
    if (i + 1 < R)
        pipe_row(f | LN_P2, a, w, i++, &c);
    pipe_row(f, a, w, i, &c);
}

/* Streaming stores to rows of y that do not start on cache lines: pass 2
 * (with the next row's pass 1), then pass 3 with its peel to y's line
 * boundary and the prefetch of row i+2.  Same sums as the pipeline. */
LN_INLINE void rows_loop(unsigned f, const ln_f32_rows *a, const ln_wide *w)
{
    ln_cols c = {.inv_n = 1.0 / (double)a->dim};
    c.inv_nf = (float)c.inv_n;
    if (a->rows == 0)
        return;
    c.x2 = a->x;
    cols(LN_STATS(f) | LN_P1, a, w, &c);
    for (size_t i = 0; i < a->rows; i++) {
        c.x = c.x1 = a->x + i * a->x_stride;
        c.y = a->y + i * a->y_stride;
        c.m1 = first_guess(f, c.x, c.s2, c.inv_nf);
        if (i + 1 < a->rows) {
            c.x2 = c.x + a->x_stride;
            cols(LN_STATS(f) | LN_P2 | LN_P1, a, w, &c);
        } else {
            cols(LN_STATS(f) | LN_P2, a, w, &c);
        }
        if (!row_stats(f, a, i, c.m1, c.sdev1, c.ssq1, c.inv_n, &c.nm))
            continue;
        /* Row i+1 is already on its way (pass 2 read it); asking for row
         * i+2 during this pass keeps the memory busy while we compute and
         * write: measured 0.70 -> 0.90 of memcpy at 32768 x 4096. */
        c.pf = i + 2 < a->rows ? c.x + 2 * a->x_stride : c.x;
        out_cols(f | LN_PEEL | LN_PREFETCH, a, w, &c);
    }
}

/* Runs algorithm alg (0: fast, or LN_ACCURATE) over a's rows, with one
 * specialised loop per combination of gamma, beta and streaming stores.
 * Returns whether y was streamed (the caller then fences). */
LN_INLINE int rows_run(unsigned alg, const ln_f32_rows *a, const ln_wide *w)
{
    const int stream = VEC_HAS_STREAM && ln_use_streaming(a);
    /* Every row of y starting on a cache line lets the pipelined loop
     * stream whole lines; otherwise streaming takes the two-loop path with
     * its per-row peel.  Both sum in the same order, so the store hints
     * give bit-identical results. */
    const int lines = ((uintptr_t)a->y % 64 == 0) && (a->y_stride % 16 == 0);
    const unsigned v = (a->gamma ? LN_GAMMA : 0) | (a->beta ? LN_BETA : 0) |
                       (stream ? LN_STREAM : 0);
#define LN_RUN(k)                                                   \
    case k:                                                         \
        if (((k) & LN_STREAM) && !lines)                            \
            rows_loop(alg | (k), a, w);                             \
        else                                                        \
            rows_pipelined(alg | (k), a, w);                        \
        break;
    switch (v) {
        LN_RUN(0) LN_RUN(1) LN_RUN(2) LN_RUN(3) LN_RUN(4) LN_RUN(5) LN_RUN(6) LN_RUN(7)
    }
#undef LN_RUN
    return stream;
}

LN_INLINE int fast_forward(const ln_desc *d, const ln_tensors *t)
{
    const ln_f32_rows a = ln_f32_rows_of(d, t);
    if (rows_run(0, &a, NULL))
        ln_store_fence();
    return 0;
}

LN_INLINE int accurate_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows a = ln_f32_rows_of(d, t);
    accurate_state *st = state;
    /* Without prepare (or for a larger dim) the buffer is made here: one
     * allocation per call, amortised over the rows. */
    double *gb = st && st->dim >= a.dim ? st->gb : accurate_alloc(a.dim);
    if (!gb) {
        /* No memory: the scalar double path needs none. */
        for (size_t i = 0; i < a.rows; i++)
            ln_row_f64(a.x + i * a.x_stride, a.y + i * a.y_stride, a.dim, a.gamma, a.beta,
                       a.eps, a.mean ? a.mean + i : NULL, a.rstd ? a.rstd + i : NULL);
        return 0;
    }
    double *g = gb, *b = gb + a.dim;
    const float *gamma = a.gamma, *beta = a.beta;
    for (size_t j = 0; gamma && j < a.dim; j++)
        g[j] = gamma[j];
    for (size_t j = 0; beta && j < a.dim; j++)
        b[j] = beta[j];
    const ln_wide w = {g, b};
    if (rows_run(LN_ACCURATE, &a, &w))
        ln_store_fence();
    if (gb != (st ? st->gb : NULL))
        free(gb);
    return 0;
}

/* Every other operation, dtype and cast: norm_kinds.h. */
#include "norm_kinds.h"

/* The two kernels of one ISA: ln_kernel_<isa> (fast) and
 * ln_kernel_<isa>_accurate, whose forward functions are named
 * <isa>_forward and <isa>_accurate_forward (scripts/icount finds them by
 * those names).  Every operation, dtype and cast: binary32 layernorm
 * through the pipeline above, the rest through norm_kinds.h. */
#define LN_SIMD_CAPS(isa_id, cap_flags)                                                   \
    {.ops = LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) | LN_BIT(LN_OP_ADD_LAYERNORM) | \
            LN_BIT(LN_OP_ADD_RMSNORM),                                                    \
     .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16),       \
     .casts = LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA),                              \
     .device = LN_DEVICE_HOST, .isa = isa_id,                                             \
     .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,       \
     .flags = cap_flags}

LN_INLINE int is_f32_layernorm(const ln_desc *d)
{
    return d->dtype == LN_DTYPE_F32 && d->op == LN_OP_LAYERNORM;
}

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
        if (rc >= 0)                                                                      \
            return rc;                                                                    \
        return is_f32_layernorm(d) ? fast_forward(d, t) : kinds_fast_forward(d, t);       \
    }                                                                                     \
    static int isa##_accurate_forward(const ln_desc *d, const ln_tensors *t, void *state) \
    {                                                                                     \
        int rc = LN_SIMD_DISPATCH(d, t, state, 1);                                        \
        if (rc >= 0)                                                                      \
            return rc;                                                                    \
        return is_f32_layernorm(d) ? accurate_forward(d, t, state)                        \
                                   : kinds_accurate_forward(d, t, state);                 \
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
