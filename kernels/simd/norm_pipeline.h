/*
 * norm_pipeline.h - the SIMD norm kernels (every operation, dtype and cast),
 * written once over a vector vocabulary and compiled once per ISA:
 * kernels/simd_<isa>.c includes its vec_<isa>.h, then this file, and names
 * its two kernels with LN_SIMD_KERNELS.  The fast algorithm's arithmetic
 * is in norm_fast.h, the accurate one's in norm_accurate.h; this file holds
 * what they share: element loads and stores per dtype, a row's first
 * guess of its mean, the loop over a row's columns and the pipeline over
 * rows.
 *
 * The vocabulary (each vec_<isa>.h defines all of it, with these names):
 *   vf, vd, vh          VF_LANES floats, VF_LANES/2 doubles, VF_LANES/2 floats;
 *                       VEC_REGS vector registers (fewer than 32: the fast
 *                       layernorm and accurate loops keep fewer accumulators)
 *   vf_zero set1 loadu storeu add mul fma(a, b, c) = a*b + c, and the
 *                       same for vd (vd_loadu from doubles) with vd_sub; a
 *                       float constant is subtracted as x + (-c) (norm_fast.h)
 *   vf_mask, vd_mask    the first n lanes of a vf / of a vd or vh (vf_first,
 *                       vd_first); *_load_part gives zeros outside the mask
 *                       and never touches memory there, *_store_part leaves
 *                       it alone
 *   vf_add_part, vf_fma_part   update only the lanes of a mask
 *   vd_keep             zero outside a mask
 *   vf_lo, vf_hi        a vf's halves as vh; vd_from_vh widens one to a vd,
 *                       vh_narrow rounds a vd to floats, vf_join(lo, hi)
 *   vd_widen(p)         VF_LANES/2 floats at p as doubles (and _part)
 *   vf_hsum, vd_hsum    horizontal sums
 *   vf_stream           non-temporal store to an address aligned to a vf;
 *                       VEC_HAS_STREAM is 0 where the ISA has none
 *   vb (VF_LANES bf16/f16 values) with vb_loadu,
 *                       vb_storeu, vb_stream, vb_load_first, vb_store_first;
 *                       vb_stream2(p, a, b) streams two (aligned to both);
 *                       vf_from_bf16, vf_from_f16 (exact), vb_from_f32_bf16,
 *                       vb_from_f32_f16 (nearest even); vh_narrow_odd
 *                       (doubles to floats rounded to odd), and
 *                       VEC_HAS_NARROW_ODD 1 where that is cheap; where it
 *                       is 0, vf_any_bits(v, mask, pat) (a lane with
 *                       bits & mask == pat) and vf_any_tiny(v, t) (a lane
 *                       with 0 < |v| < t)
 *   vf_pair_load_bf16(p, &a, &b), vf_pair_store_bf16(p, a, b, stream)
 *                       2 * VF_LANES bf16 values as two float vectors in an
 *                       order of the ISA's choosing, and back (stream:
 *                       non-temporal, p aligned to 2 vb); VEC_HAS_BF16_PAIR
 *                       0: this file's, in memory order
 *   ln_prefetch, ln_store_fence
 *
 * Each loop is compiled once per algorithm and element type (bf16 and f16
 * widen exactly to floats on load and round to nearest even on store, bit
 * for bit as dtype_convert.h); everything else is a run-time test.
 *
 * Rules kept for kernels/lnbench_kernel.h: tails use masked or partial
 * loads and stores, which never touch memory past dim; a row whose
 * statistics come out non-finite is redone by ln_row_wide (row_wide.h) and
 * the rows after it are computed as if it were not there.
 */
#ifndef LNBENCH_NORM_PIPELINE_H
#define LNBENCH_NORM_PIPELINE_H

#include "cpu_features.h"
#include "dtype_convert.h"
#include "lnbench_kernel.h"
#include "store_policy.h"
#include "row_wide.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The compile-time part of a loop (f): the algorithm and the element
 * type, and for the steady state's loops what else is fixed. */
enum {
    LN_ACCURATE = 1u << 0, /* the accurate algorithm (else the fast one) */
    LN_BF16 = 1u << 1,     /* elements are bf16 */
    LN_F16 = 1u << 2,      /* elements are IEEE binary16 (else binary32) */
    LN_FIXED = 1u << 3,    /* the passes a loop runs are in f (LN_STAGES), */
    LN_GAMMA = 1u << 8,    /* ... whether gamma and beta are present */
    LN_BETA = 1u << 9,     /* (for the single cast, no residual) */
    LN_RMS = 1u << 10,     /* ... and that the operation is RMSNorm */
    LN_ZERO_GUESS = 1u << 11, /* ... and (accurate LayerNorm) that the rows' guess m is 0 */
    LN_AHEAD = 1u << 12       /* ... and that the statistics pass prefetches (ln_cols.ahead) */
};
#define LN_NARROW (LN_BF16 | LN_F16)
/* Bytes per element. */
#define LN_ES(f) (((f) & LN_NARROW) ? sizeof(uint16_t) : sizeof(float))

/* One call's rows, untyped (the element type is in the flags). */
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
    int rms, add; /* the operation */
} ln_rows;

static inline ln_rows ln_rows_of(const ln_desc *d, const ln_tensors *t)
{
    ln_rows r = {
        .rows = d->rows, .dim = d->dim, .x_stride = d->x_stride, .y_stride = d->y_stride,
        .x = t->x, .res = t->residual, .y = t->y, .h = t->h,
        .gamma = t->gamma, .beta = t->beta,
        .eps = d->eps, .mean = t->mean, .rstd = t->rstd,
        .store = d->store, .cast = d->cast, .dtype = d->dtype,
        .rms = ln_op_is_rms(d->op), .add = ln_op_has_residual(d->op),
    };
    return r;
}

/* Element j of p. */
LN_INLINE const void *at(unsigned f, const void *p, size_t j)
{
    return (const char *)p + j * LN_ES(f);
}
LN_INLINE void *at_w(unsigned f, void *p, size_t j) { return (char *)p + j * LN_ES(f); }

/* bf16/f16 vectors: narrowed (nearest even) and widened (exact). */
LN_INLINE vb to_vb(unsigned f, vf v)
{
    return (f & LN_BF16) ? vb_from_f32_bf16(v) : vb_from_f32_f16(v);
}

LN_INLINE vf from_vb(unsigned f, vb b) { return (f & LN_BF16) ? vf_from_bf16(b) : vf_from_f16(b); }

/* VF_LANES elements at p[j..] as floats (exact); cnt > 0: only the first
 * cnt of them, zeros in the other lanes, no memory touched past them. */
LN_INLINE vf ld_at(unsigned f, const void *p, size_t j, size_t cnt)
{
    if (f & LN_NARROW) {
        const uint16_t *q = (const uint16_t *)p + j;
        return from_vb(f, cnt ? vb_load_first(q, cnt) : vb_loadu(q));
    }
    return cnt ? vf_load_part((const float *)p + j, vf_first(cnt)) : vf_loadu((const float *)p + j);
}

/* b at q; cnt > 0: only its first cnt values; stream: non-temporal. */
LN_INLINE void st_vb(uint16_t *q, size_t cnt, vb b, int stream)
{
    if (cnt)
        vb_store_first(q, cnt, b);
    else if (stream)
        vb_stream(q, b);
    else
        vb_storeu(q, b);
}

/* v rounded to the element type at p[j..]; cnt > 0: only its first cnt
 * lanes; stream: non-temporal (whole vectors, p + j aligned to one). */
LN_INLINE void st_at(unsigned f, void *p, size_t j, size_t cnt, vf v, int stream)
{
    if (f & LN_NARROW) {
        st_vb((uint16_t *)p + j, cnt, to_vb(f, v), stream);
    } else if (cnt) {
        vf_store_part((float *)p + j, vf_first(cnt), v);
    } else if (stream) {
        vf_stream((float *)p + j, v);
    } else {
        vf_storeu((float *)p + j, v);
    }
}

#if !VEC_HAS_BF16_PAIR
LN_INLINE void vf_pair_load_bf16(const uint16_t *p, vf *a, vf *b)
{
    *a = vf_from_bf16(vb_loadu(p));
    *b = vf_from_bf16(vb_loadu(p + VF_LANES));
}
LN_INLINE void vf_pair_store_bf16(uint16_t *p, vf a, vf b, int stream)
{
    vb lo = vb_from_f32_bf16(a), hi = vb_from_f32_bf16(b);
    if (stream) {
        vb_stream2(p, lo, hi);
    } else {
        vb_storeu(p, lo);
        vb_storeu(p + VF_LANES, hi);
    }
}
#endif

/* v rounded to the element type and widened back (nearest even). */
LN_INLINE vf rnd(unsigned f, vf v) { return (f & LN_NARROW) ? from_vb(f, to_vb(f, v)) : v; }

LN_INLINE ln_dtype dtype_of(unsigned f)
{
    return (f & LN_BF16) ? LN_DTYPE_BF16 : (f & LN_F16) ? LN_DTYPE_F16 : LN_DTYPE_F32;
}

/* A row's first guess of the mean (row_guess): a float for the fast
 * algorithm, a double for the accurate one. */
typedef struct ln_guess {
    float f;
    double d;
} ln_guess;

/* A row's normalisation, made from its statistics pass's sums. */
typedef struct ln_norm {
    float mh, ml, rstd_f;     /* fast: the mean as the float pair mh + ml */
    int split;                /* fast: the output pass keeps ml */
    double m, c, rstd;        /* accurate: the mean m + c */
    float mean_out, rstd_out; /* the row's mean and rstd outputs */
    int far;                  /* the guess was farther than sigma from the mean */
    int zero_far;             /* accurate: so would a guess of 0 have been */
} ln_norm;

/* The output pass's numbers, v = fma(x - sub, scale, add) before gamma
 * and beta (binary32 values for the fast algorithm: fast_coef_of), and
 * the statistics pass's sums: what a step takes and gives on the rows'
 * chain of latencies, in registers (see ln_step_fn). */
typedef struct ln_coef {
    double sub, scale, add;
} ln_coef;
typedef struct ln_sums {
    double sdev, ssq;
} ln_sums;

#include "norm_fast.h"
#include "norm_accurate.h"

/* A row read by a pass.  For the add_ operations the row's first pass
 * forms h = x + residual rounded to the dtype and writes it (res, h
 * non-NULL), and later passes read h.  The binary32 sum of two bf16 or f16
 * values is exact unless they lie so many binades apart that it stays
 * within a small fraction of an ulp of the larger, far from any rounding
 * boundary of the dtype: rounding that float to the dtype rounds the exact
 * sum once. */
typedef struct ln_src {
    const void *x, *res;
    void *h;
} ln_src;

LN_INLINE vf src_at(unsigned f, const ln_src *s, size_t j, size_t cnt)
{
    vf v = ld_at(f, s->x, j, cnt);
    if (!s->res)
        return v;
    v = vf_add(v, ld_at(f, s->res, j, cnt));
    if (f & LN_NARROW) { /* the rounded h, also for this pass */
        vb b = to_vb(f, v);
        st_vb((uint16_t *)s->h + j, cnt, b, 0);
        return from_vb(f, b);
    }
    st_at(f, s->h, j, cnt, v, 0);
    return v;
}

/* Two (src2) or four (src4) vectors of a row from element j, for the
 * statistics passes of both algorithms.
 * bf16 rows without a residual come in vf_pair_load_bf16's lane order
 * (AVX2: one in-lane unpack per vector, where a widening in memory order
 * takes a lane-crossing vpmovzxwd and a shift); sums do not care which
 * lane holds which element, and every path of a row reads it the same
 * way, so every path still gives the same bits. */
LN_INLINE void src2(unsigned f, const ln_src *s, size_t j, vf *u0, vf *u1)
{
    if ((f & LN_BF16) && !s->res) {
        vf_pair_load_bf16((const uint16_t *)s->x + j, u0, u1);
        return;
    }
    *u0 = src_at(f, s, j, 0);
    *u1 = src_at(f, s, j + VF_LANES, 0);
}

LN_INLINE void src4(unsigned f, const ln_src *s, size_t j, vf *u0, vf *u1, vf *u2, vf *u3)
{
    src2(f, s, j, u0, u1);
    src2(f, s, j + 2 * VF_LANES, u2, u3);
}

/* A vector of the row as doubles, for the accurate algorithm.  binary32
 * rows widen straight from memory: splitting a loaded float vector costs
 * a shuffle per half, and avx2_accurate at 768 x 64 ran at 0.74 of the
 * specialised pipeline's speed that way, 0.91 this way. */
LN_INLINE vd2 halves(vf v)
{
    vd2 h = {vd_from_vh(vf_lo(v)), vd_from_vh(vf_hi(v))};
    return h;
}

LN_INLINE vd2 ld_halves(unsigned f, const void *p, size_t j, size_t cnt)
{
    if (f & LN_NARROW)
        return halves(ld_at(f, p, j, cnt));
    const float *q = (const float *)p + j;
    vd2 h;
    if (cnt) {
        h.lo = vd_widen_part(q, vd_first(cnt < LN_HALF ? cnt : LN_HALF));
        h.hi = vd_widen_part(q + LN_HALF, vd_first(cnt > LN_HALF ? cnt - LN_HALF : 0));
    } else {
        h.lo = vd_widen(q);
        h.hi = vd_widen(q + LN_HALF);
    }
    return h;
}

LN_INLINE vd2 src_halves(unsigned f, const ln_src *s, size_t j, size_t cnt)
{
    return s->res ? halves(src_at(f, s, j, cnt)) : ld_halves(f, s->x, j, cnt);
}

/* Which passes one loop over the columns runs (see cols): at run time, or
 * fixed at compile time by LN_STAGES(run) in f. */
enum { LN_DO_OUT = 1u << 0, LN_DO_STATS = 1u << 1 };
#define LN_STAGES(run) (LN_FIXED | ((unsigned)(run) << 4))

/* One loop over the columns: the output pass of row xo into y (with the
 * coefficients cols is given) and the statistics pass of row srow around
 * m1 (its sums cols returns), each when run asks for it.  The loop covers
 * columns [from, to) (to 0: the row's end); a statistics pass takes the
 * whole row, and an output pass given part of one starts and ends on
 * multiples of 4 * VF_LANES, the last part at the row's end. */
typedef struct ln_cols {
    size_t from, to;
    const void *xo;
    void *y;
    ln_src srow;
    ln_guess m1;
    const char *pf, *pfr; /* prefetched during the output pass (NULL: nothing) */
    size_t ahead; /* > 0: the statistics pass prefetches into L2 this many bytes ahead */
} ln_cols;

/* The cache lines of p and of q (NULL: none) at bytes [from, to), into L1,
 * or into L2 (l2). */
LN_INLINE void prefetch_lines(const void *p, const void *q, size_t from, size_t to, int l2)
{
    for (size_t l = from; l < to; l += 64) {
        if (l2) {
            ln_prefetch_l2((const char *)p + l);
            if (q)
                ln_prefetch_l2((const char *)q + l);
        } else {
            ln_prefetch((const char *)p + l);
            if (q)
                ln_prefetch((const char *)q + l);
        }
    }
}

/* What the output pass applies after the normalisation: gamma, beta (NULL when
 * absent) and the cast; fixed by f in the steady state's loops. */
typedef struct ln_affine {
    const void *gamma, *beta;
    ln_cast cast;
} ln_affine;

/* The output pass of either algorithm: the output vector of elements j.. (cnt > 0:
 * its first cnt). */
LN_INLINE vf out_at(unsigned f, const ln_affine *af, const ln_wide *w, const fast_coef *fp,
                    const acc_coef *ap, const void *x, size_t j, size_t cnt)
{
    if (f & LN_ACCURATE)
        return acc_out(f, ap, af->cast, af->gamma, w, ld_halves(f, x, j, cnt), j, cnt);
    return fast_out(f, fp, af->cast, ld_at(f, x, j, cnt), af->gamma, af->beta, j, cnt);
}

/* The one loop over a row's columns: 4 * VF_LANES at a time, then one
 * vector at a time, then the tail.  The algorithm and element type in f
 * are compile-time; so are, in the steady state's loops (LN_FIXED), the
 * passes that run and gamma and beta.  The rest is tested at run time. */
LN_INLINE ln_sums cols(unsigned f, unsigned passes, const ln_rows *a, const ln_wide *w,
                       const ln_cols *c, ln_coef k, int stream)
{
    const size_t n = c->to ? c->to : a->dim, W = VF_LANES, es = LN_ES(f);
    const unsigned run = (f & LN_FIXED) ? (f >> 4) & 7u : passes;
    ln_affine af = {a->gamma, a->beta, a->cast};
    if (f & LN_FIXED) {
        af.cast = LN_CAST_SINGLE;
        af.gamma = (f & LN_GAMMA) ? a->gamma : NULL;
        af.beta = (f & LN_BETA) ? a->beta : NULL;
        if (((f & LN_GAMMA) && !af.gamma) || ((f & LN_BETA) && !af.beta))
            __builtin_unreachable(); /* step_cols chose f from them */
    }
    /* Everything the loop reads, in locals: a vector store may alias any
     * memory, so fields read through a pointer would be reloaded after
     * every store of y. */
    const void *xo = c->xo;
    void *y = c->y;
    ln_src srow = c->srow;
    if (f & LN_FIXED) /* the add_ operations take the run-time loop */
        srow.res = NULL;
    const char *pf = c->pf, *pfr = c->pfr;
    /* The steady loops without LN_AHEAD have no prefetch code. */
    const size_t ahead = !(f & LN_FIXED) || (f & LN_AHEAD) ? c->ahead : 0;
    const ln_wide wl = w ? *w : (ln_wide){NULL, NULL};
    fast_coef fp;
    acc_coef ap;
    fast_stats fs;
    acc_stats acs;
    if (f & LN_ACCURATE) {
        acc_coef_init(&ap, k);
        acc_stats_init(&acs, c->m1.d);
    } else {
        fast_coef_init(&fp, k);
        fast_stats_init(&fs, c->m1.f); /* RMS: m = 0, d = x exactly */
    }
    /* LayerNorm's fast sums move to double every LN_FLUSH_ELEMS elements
     * (norm_fast.h); RMSNorm's stay in float on every path. */
    const int flush = !(f & LN_ACCURATE) && ((f & LN_FIXED) ? !(f & LN_RMS) : !a->rms);
    /* llama's accurate output multiplies by gamma in the dtype, loaded in
     * memory order (norm_accurate.h's acc_out). */
    const int acc_llama = af.gamma && af.cast == LN_CAST_LLAMA;
#define OUT(j, cnt) out_at(f, &af, &wl, &fp, &ap, xo, (j), (cnt))
#define SRC(j, cnt) src_at(f, &srow, (j), (cnt))
#define SRCD(j, cnt) src_halves(f, &srow, (j), (cnt))
    size_t j = c->from;
    while (j + 4 * W <= n) {
        /* Chunks of LN_FLUSH_ELEMS (the flush test stays out of the loop). */
        const size_t end = flush && n - j > LN_FLUSH_ELEMS ? j + LN_FLUSH_ELEMS : n;
        for (; j + 4 * W <= end; j += 4 * W) {
            if (run & LN_DO_OUT) {
                if ((f & LN_BF16) && (f & LN_ACCURATE) && !acc_llama) {
                    /* Pairs in the ISA's pair order, the widened gamma and
                     * beta laid out in it too (acc_pair_layout), with the
                     * statistics pass's src2: avx512_accurate bf16 at
                     * 64 x 768 8.0 -> 9.2 GB/s, avx2_accurate 5.4 -> 7.0
                     * (AMD EPYC Zen 4, 1 thread, the same bits). */
                    for (size_t h = j; h < j + 4 * W; h += 2 * W) {
                        vf x0, x1;
                        vf_pair_load_bf16((const uint16_t *)xo + h, &x0, &x1);
                        const vf o0 = acc_out(f, &ap, af.cast, af.gamma, &wl, halves(x0), h, 0);
                        const vf o1 = acc_out(f, &ap, af.cast, af.gamma, &wl, halves(x1), h + W, 0);
                        vf_pair_store_bf16((uint16_t *)y + h, o0, o1, stream);
                    }
                } else if ((f & LN_BF16) && !(f & LN_ACCURATE)) {
                    /* Pairs of vectors in the ISA's pair order (vf_pair_*):
                     * x, gamma and beta alike, the output being elementwise. */
                    for (size_t h = j; h < j + 4 * W; h += 2 * W) {
                        vf x0, x1, w0 = vf_zero(), w1 = w0, b0 = w0, b1 = w0;
                        vf_pair_load_bf16((const uint16_t *)xo + h, &x0, &x1);
                        if (af.gamma)
                            vf_pair_load_bf16((const uint16_t *)af.gamma + h, &w0, &w1);
                        if (af.beta)
                            vf_pair_load_bf16((const uint16_t *)af.beta + h, &b0, &b1);
                        const int hw = af.gamma != NULL, hb = af.beta != NULL;
                        vf_pair_store_bf16((uint16_t *)y + h,
                                           fast_apply(f, &fp, af.cast, x0, hw, w0, hb, b0),
                                           fast_apply(f, &fp, af.cast, x1, hw, w1, hb, b1), stream);
                    }
                } else if (f & LN_NARROW) {
                    /* Four outputs, narrowed in pairs: two vb per store,
                     * whole cache lines when streamed. */
                    vb b0 = to_vb(f, OUT(j, 0)), b1 = to_vb(f, OUT(j + W, 0));
                    vb b2 = to_vb(f, OUT(j + 2 * W, 0)), b3 = to_vb(f, OUT(j + 3 * W, 0));
                    uint16_t *q = (uint16_t *)y + j;
                    if (stream) {
                        vb_stream2(q, b0, b1);
                        vb_stream2(q + 2 * W, b2, b3);
                    } else {
                        st_vb(q, 0, b0, 0);
                        st_vb(q + W, 0, b1, 0);
                        st_vb(q + 2 * W, 0, b2, 0);
                        st_vb(q + 3 * W, 0, b3, 0);
                    }
                } else {
                    /* binary32: each output stored as soon as made (holding
                     * four costs AVX2's 16 registers a spill) */
                    st_at(f, y, j, 0, OUT(j, 0), stream);
                    st_at(f, y, j + W, 0, OUT(j + W, 0), stream);
                    st_at(f, y, j + 2 * W, 0, OUT(j + 2 * W, 0), stream);
                    st_at(f, y, j + 3 * W, 0, OUT(j + 3 * W, 0), stream);
                }
                if ((f & LN_ACCURATE) && pf) /* a cache line per line written (rows_run) */
                    prefetch_lines(pf, pfr, j * es, (j + 4 * W) * es, 0);
            }
            if ((run & LN_DO_STATS) && ahead) /* a cache line per line read (rows_run) */
                prefetch_lines(srow.x, srow.res, j * es + ahead, (j + 4 * W) * es + ahead, 1);
            if ((run & LN_DO_STATS) && (f & LN_ACCURATE) && (f & LN_NARROW))
                /* bf16/f16: as floats, bf16 in src2's pair order, then halves */
                for (size_t v = 0; v < 4; v += 2) {
                    vf u0, u1;
                    src2(f, &srow, j + v * W, &u0, &u1);
                    if (f & LN_RMS) {
                        acc_stats_sq_vec(&acs, halves(u0), 0);
                        acc_stats_sq_vec(&acs, halves(u1), 1);
                    } else {
                        acc_stats_vec(f, &acs, halves(u0), 0);
                        acc_stats_vec(f, &acs, halves(u1), 1);
                    }
                }
            else if ((run & LN_DO_STATS) && (f & LN_RMS) && (f & LN_ACCURATE))
                for (size_t v = 0; v < 4; v++)
                    acc_stats_sq_vec(&acs, SRCD(j + v * W, 0), (int)(v & 1));
            else if ((run & LN_DO_STATS) && (f & LN_ACCURATE))
                for (size_t v = 0; v < 4; v++)
                    acc_stats_vec(f, &acs, SRCD(j + v * W, 0), (int)(v & 1));
            else if (run & LN_DO_STATS) {
                vf u0, u1, u2, u3;
                src4(f, &srow, j, &u0, &u1, &u2, &u3);
                if (f & LN_RMS) {
                    fast_stats_sq_block(&fs, u0, u1, u2, u3);
                } else {
                    fast_stats_block(&fs, u0, u1, u2, u3);
                }
            }
        }
        if (flush)
            fast_stats_flush(&fs);
    }
    for (; j + W <= n; j += W) {
        if (run & LN_DO_OUT)
            st_at(f, y, j, 0, OUT(j, 0), stream);
        if ((run & LN_DO_STATS) && (f & LN_ACCURATE))
            acc_stats_vec(f, &acs, SRCD(j, 0), 0);
        else if (run & LN_DO_STATS)
            fast_stats_vec(&fs, SRC(j, 0));
    }
    if (j < n) {
        const size_t r = n - j;
        if (run & LN_DO_OUT)
            st_at(f, y, j, r, OUT(j, r), 0);
        if ((run & LN_DO_STATS) && (f & LN_ACCURATE))
            acc_stats_tail(&acs, SRCD(j, r), r);
        else if (run & LN_DO_STATS)
            fast_stats_tail(&fs, SRC(j, r), vf_first(r));
    }
#undef OUT
#undef SRC
#undef SRCD
    ln_sums sums = {0.0, 0.0};
    if ((run & LN_DO_STATS) && (f & LN_ACCURATE))
        acc_stats_total(&acs, &sums.sdev, &sums.ssq);
    else if (run & LN_DO_STATS)
        fast_stats_total(&fs, flush, &sums.sdev, &sums.ssq);
    return sums;
}

/* Row i's pointers: where its first pass reads (forming h for the add_
 * operations) and where later passes read. */
LN_INLINE ln_src row_first(unsigned f, const ln_rows *a, size_t i)
{
    ln_src s = {at(f, a->x, i * a->x_stride), NULL, NULL};
    if (a->add) {
        s.res = at(f, a->res, i * a->x_stride);
        s.h = at_w(f, a->h, i * a->y_stride);
    }
    return s;
}

LN_INLINE const void *row_later(unsigned f, const ln_rows *a, size_t i)
{
    return a->add ? at(f, a->h, i * a->y_stride) : at(f, a->x, i * a->x_stride);
}

/* How many of a row's first elements make its first guess of the mean. */
#define LN_GUESS_N 16

/* A row's first guess of the mean, around which its statistics pass sums
 * the deviations: the mean of its first min(n, LN_GUESS_N) elements as
 * that pass sees them (h for the add_ ops).  Computed before the row is
 * read, so one pass over the row gives its statistics.  A constant row
 * gets its value exactly (a tree of sums of equal values doubles them
 * exactly, and k v / k is v in double), so its deviations are 0 and its
 * output is exactly beta; on offset rows (x ~ 1e4 +- 1) the guess lies
 * within the row's binade and x - m is exact (Sterbenz).  A guess far from
 * the mean (an outlier among the first elements) is caught in row_stats. */
LN_INLINE ln_guess row_guess(unsigned f, const ln_rows *a, const ln_src *s)
{
    if (!s->res && a->dim >= LN_GUESS_N) {
        /* The usual row: vector loads summed as a tree, in floats (the
         * scalar loop below cost avx2 at 768 about 4 % of its
         * instructions). */
#if VF_LANES >= LN_GUESS_N
        const vf t = ld_at(f, s->x, 0, 0);
#elif 2 * VF_LANES == LN_GUESS_N
        const vf t = vf_add(ld_at(f, s->x, 0, 0), ld_at(f, s->x, VF_LANES, 0));
#else
        const vf t = vf_add(vf_add(ld_at(f, s->x, 0, 0), ld_at(f, s->x, VF_LANES, 0)),
                            vf_add(ld_at(f, s->x, 2 * VF_LANES, 0),
                                   ld_at(f, s->x, 3 * VF_LANES, 0)));
#endif
        const float m = vf_hsum(t) * (1.0f / (float)LN_GUESS_N);
        return (ln_guess){m, (double)m};
    }
    const ln_dtype dt = dtype_of(f);
    const size_t k = a->dim < LN_GUESS_N ? a->dim : LN_GUESS_N;
    double sum = 0.0;
    for (size_t j = 0; j < k; j++) {
        float v = ln_dtype_load(dt, s->x, j);
        if (s->res)
            v = ln_dtype_round(dt, v + ln_dtype_load(dt, s->res, j));
        sum += (double)v;
    }
    const double m = sum / (double)k;
    return (ln_guess){(float)m, m};
}

/* Row i as the statistics pass's source (srow) and its first guess of the
 * mean (m1; RMSNorm has no mean): 0 when zero (see first_guess_zero),
 * else row_guess's. */
LN_INLINE void stats_row(unsigned f, const ln_rows *a, size_t i, int zero, ln_cols *c)
{
    c->srow = row_first(f, a, i);
    c->m1 = a->rms || zero ? (ln_guess){0.0f, 0.0} : row_guess(f, a, &c->srow);
}

/* The accurate algorithm's LayerNorm rows start from a first guess of 0
 * while the rows before them had |mean| <= sigma (zero_far clear): no
 * subtraction in either pass then (in double, one operation in four of
 * the statistics pass and one in five of the output pass; AMD EPYC Zen 4,
 * 64 x 768, 1 thread: avx512_accurate 25.6 -> 30.4 GB/s, avx2_accurate
 * 27.7 -> 33.3), and on zero-mean rows 0 lies nearer the mean than the
 * mean of 16 elements does.  A row whose mean lies farther than sigma from
 * 0 is summed again (row_stats) and turns the rows after it back to
 * row_guess; one within sigma turns them to 0 again.  The fast algorithm
 * keeps row_guess: its float sums are what the guess keeps short. */
LN_INLINE int first_guess_zero(unsigned f, const ln_rows *a)
{
    return (f & LN_ACCURATE) && !a->rms;
}

/* One step of the pipeline: step_cols for one algorithm and element type,
 * out of line (see LN_ROWS_FN).  The output row's coefficients come in
 * and the statistics row's sums go out in registers: through ln_cols in
 * memory, the store and reload on each side of the call sat on the rows'
 * chain of latencies (a standalone model of the fast loop at 192 x 256:
 * 53 GB/s that way, 60 by value, 61 inlined). */
typedef ln_sums ln_step_fn(unsigned run, const ln_rows *a, const ln_wide *w,
                           const ln_cols *c, double sub, double scale, double add, int stream);

LN_INLINE ln_sums step_with(ln_step_fn *step, unsigned run, const ln_rows *a,
                            const ln_wide *w, const ln_cols *c, ln_coef k, int stream)
{
    return step(run, a, w, c, k.sub, k.scale, k.add, stream);
}

/* A row's output coefficients from its normalisation. */
LN_INLINE ln_coef coef_of(unsigned f, const ln_norm *nm)
{
    return (f & LN_ACCURATE) ? acc_coef_of(nm) : fast_coef_of(nm);
}

/* A statistics pass alone has no output row. */
static const ln_coef ln_no_coef = {0.0, 0.0, 0.0};

/* The row's normalisation from the sums of its statistics pass around m. */
LN_INLINE int finish(unsigned f, const ln_rows *a, ln_guess m, double sdev, double ssq,
                     double inv_n, ln_norm *nm)
{
    if (f & LN_ACCURATE) /* RMS: no mean, so no E[e] either (sdev = sum(x)) */
        return acc_finish(m.d, a->rms ? 0.0 : sdev, ssq, inv_n, a->eps, nm);
    if (a->rms)
        return fast_finish_rms(ssq, inv_n, a->eps, nm);
    return fast_finish(m.f, sdev, ssq, inv_n, a->eps, nm);
}

/* Row i's statistics summed again, from L1/L2, around the guess m, into
 * *nm (see row_stats). */
LN_INLINE int stats_again(unsigned f, const ln_rows *a, size_t i, ln_guess m, double inv_n,
                          ln_norm *nm, ln_step_fn *step, const ln_wide *w)
{
    ln_cols again = {0};
    again.srow = (ln_src){row_later(f, a, i), NULL, NULL};
    again.m1 = m;
    const ln_sums s = step_with(step, LN_DO_STATS, a, w, &again, ln_no_coef, 0);
    return finish(f, a, m, s.sdev, s.ssq, inv_n, nm);
}

/* Row i's normalisation from its statistics pass into *nm, and its mean
 * and rstd outputs.  When the first guess m lay farther from the mean than
 * sigma (nm->far: E[d]^2 > var, an outlier among the row's first
 * elements), var = E[d^2] - E[d]^2 would cancel, so the row's statistics
 * are summed once more around the mean just found (the row is in L1/L2),
 * as the corrected two-pass does; on normal rows the guess of 16 elements
 * is that far about once in 16000 rows.  A first guess of 0 that was far
 * (first_guess_zero) is followed by row_guess's first: exact on constant
 * rows, whose mean found (m + c, c rounded through 1/n) is not, and the
 * output of a constant row must be exactly beta.  Returns 0 when the
 * statistics are not finite (NaN/Inf in the row, or squares beyond the
 * accumulators' range): the row has then been done whole by ln_row_wide. */
LN_INLINE int row_stats(unsigned f, const ln_rows *a, size_t i, ln_guess m, double sdev,
                        double ssq, double inv_n, ln_norm *nm, ln_step_fn *step,
                        const ln_wide *w)
{
    int ok = finish(f, a, m, sdev, ssq, inv_n, nm);
    if (ok && nm->far && first_guess_zero(f, a) && m.d == 0.0) {
        const ln_src s = {row_later(f, a, i), NULL, NULL};
        ok = stats_again(f, a, i, row_guess(f, a, &s), inv_n, nm, step, w);
    }
    if (ok && nm->far)
        ok = stats_again(f, a, i,
                         (f & LN_ACCURATE) ? (ln_guess){0.0f, nm->m + nm->c}
                                           : (ln_guess){nm->mh, 0.0},
                         inv_n, nm, step, w);
    float *mean = a->mean ? a->mean + i : NULL, *rstd = a->rstd ? a->rstd + i : NULL;
    if (!ok) {
        ln_row_wide(a->dtype, a->rms, a->cast, row_later(f, a, i),
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

/* Sanitizer builds (LNBENCH_SANITIZE) leave the steady state's loops out:
 * they make the same accesses as the run-time loop, which the sanitizers
 * then check, and instrumenting them all took the compiler minutes.  The
 * guard pages of test_kernel_edges check the loops themselves in every
 * build. */
#ifdef LNBENCH_SANITIZE_BUILD
#define LN_STEADY_LOOPS 0
#else
#define LN_STEADY_LOOPS 1
#endif

/* The loop for one step of the pipeline (run: its passes).  The steady
 * state's passes get loops of their own: run-time tests of which passes
 * run cost the L2-resident shapes a quarter of their speed (registers kept
 * for passes that do not run).  One per set of passes, for LayerNorm and
 * RMSNorm and, for the fast algorithm, per presence of gamma and beta (the
 * accurate one loads both as doubles either way), for the single cast (or
 * no gamma) and no residual; everything else takes the run-time loop. */
LN_INLINE ln_sums step_cols(unsigned f, unsigned run, const ln_rows *a, const ln_wide *w,
                            const ln_cols *c, ln_coef coef, int stream)
{
    const unsigned gb = (f & LN_ACCURATE) ? 0u
                                          : (a->gamma ? LN_GAMMA : 0u) | (a->beta ? LN_BETA : 0u);
    const int fixed = LN_STEADY_LOOPS && !a->add && (a->cast == LN_CAST_SINGLE || !a->gamma);
    /* The accurate LayerNorm loops without the subtraction of m, when each
     * row they read has m = 0. */
    const unsigned zg = first_guess_zero(f, a) && (!(run & LN_DO_STATS) || c->m1.d == 0.0) &&
                                (!(run & LN_DO_OUT) || coef.sub == 0.0)
                            ? LN_ZERO_GUESS
                            : 0u;
    /* A statistics pass alone reads neither gamma nor beta. */
    const unsigned k = (run == LN_DO_STATS ? 0u : gb) | (a->rms ? LN_RMS : 0u) | zg |
                       ((run & LN_DO_STATS) && c->ahead ? LN_AHEAD : 0u);
    /* One switch on (passes, kind): a few compares, where a chain of
     * tests took up to 19 on every row (avx2 at 64 x 768: 1.936 -> 1.839
     * instructions per element, callgrind, with the test of pf below). */
#define LN_KEY(stages, kind) (((unsigned)(stages) << 16) | (kind))
#define LN_STEADY(stages, kind)                                                    \
    case LN_KEY(stages, kind):                                                     \
        return cols(f | LN_STAGES(stages) | (kind), run, a, w, c, coef, stream);
#define LN_STEADY_ALL(kind)                                                           \
    LN_STEADY(LN_DO_OUT | LN_DO_STATS, kind)                                          \
    LN_STEADY(LN_DO_OUT | LN_DO_STATS, (kind) | LN_RMS)                               \
    LN_STEADY(LN_DO_OUT, kind)                                                        \
    LN_STEADY(LN_DO_OUT, (kind) | LN_RMS)
#define LN_STEADY_AHEAD(kind)                                                         \
    LN_STEADY(LN_DO_OUT | LN_DO_STATS, (kind) | LN_AHEAD)                             \
    LN_STEADY(LN_DO_OUT | LN_DO_STATS, (kind) | LN_RMS | LN_AHEAD)
    const unsigned key = fixed ? LN_KEY(run, k) : ~0u;
    if (f & LN_ACCURATE) {
        switch (key) {
            LN_STEADY(LN_DO_STATS, 0)
            LN_STEADY(LN_DO_STATS, LN_RMS)
            LN_STEADY_ALL(0)
            LN_STEADY(LN_DO_STATS, LN_ZERO_GUESS)
            LN_STEADY(LN_DO_OUT | LN_DO_STATS, LN_ZERO_GUESS)
            LN_STEADY(LN_DO_OUT, LN_ZERO_GUESS)
            LN_STEADY(LN_DO_OUT | LN_DO_STATS, LN_AHEAD)
            LN_STEADY(LN_DO_OUT | LN_DO_STATS, LN_RMS | LN_AHEAD)
            LN_STEADY(LN_DO_OUT | LN_DO_STATS, LN_ZERO_GUESS | LN_AHEAD)
        default:
            break;
        }
    } else {
        switch (key) {
            LN_STEADY(LN_DO_STATS, 0)
            LN_STEADY(LN_DO_STATS, LN_RMS)
            LN_STEADY_ALL(0)
            LN_STEADY_ALL(LN_GAMMA)
            LN_STEADY_ALL(LN_BETA)
            LN_STEADY_ALL(LN_GAMMA | LN_BETA)
            LN_STEADY_AHEAD(0)
            LN_STEADY_AHEAD(LN_GAMMA)
            LN_STEADY_AHEAD(LN_BETA)
            LN_STEADY_AHEAD(LN_GAMMA | LN_BETA)
        default:
            break;
        }
    }
#undef LN_STEADY_AHEAD
#undef LN_STEADY_ALL
#undef LN_STEADY
#undef LN_KEY
    return cols(f, run, a, w, c, coef, stream); /* any other: the run-time loop */
}

/* Rows in blocks of LN_BLOCK_ROWS: the block's statistics passes, one row
 * after another, then its output passes a column chunk at a time, every
 * row of the block through one chunk before the next, so the chunk's gamma
 * and beta are read from L1 by all of them.  For long rows, and streamed
 * rows too long to pipeline (rows_run says when).  The pipeline below
 * keeps two rows, gamma and beta in L1 at once; beyond L1 its extra loads
 * miss, and beside streaming stores every extra load slows the stores
 * (the prefetch of LN_PREFETCH_AHEAD does not save it there).  On the AMD
 * EPYC Zen 4 VM (L1d 32 KiB), binary32 with gamma and beta, avx512:
 *   32768 x 4096 streamed: pipelined 15-18 GB/s (16-18 with rows_run's L2
 *     prefetch ahead, blocks 23-24 in the same run), one row at a time 19-23,
 *     blocks 24-26 (reading x and streaming y alone: 34-38); output chunks
 *     of 256 or 512 columns or whole rows there: 20-23 against 23;
 *   64 x 4096 cached: pipelined 38, blocks 48; 32 x 8192: 39 and 50;
 *   64 x 2048 even (45 and 45), 64 x 768 and 64 x 1024 pipelined ahead
 *     (64 and 53, 60 and 55).
 * Prefetching the next rows (T0 or T2) beside streamed stores only slowed
 * them, and so did prefetching the next block during the statistics
 * passes (22-23 GB/s).  Prefetching the next block into L2 (T1) during
 * the output passes, in address order, a line per line of output, made
 * its statistics passes up to a quarter shorter and the output passes
 * longer by more (avx512 23 -> 18-22 GB/s).  A standalone model of these
 * blocks at 32768 x 4096, on random data (one core read a buffer of one
 * repeated byte at 25-27 GB/s there, random data at 17), ran 18-21 GB/s
 * against 28-32 for a streaming copy, with 8, 16 or 32 rows a block and
 * with or without a prefetch 8 KiB ahead in the statistics passes; doing
 * one block's output passes and the next block's statistics passes
 * together, chunk by chunk, ran 15.  Each phase runs at its bare limit
 * there: the output passes at a bare streaming write's speed (27 GB/s over
 * 512 MiB, one core, the same in that model with or without the loads
 * from L2 and L1), the statistics passes near a bare read's (17-22), and
 * a model of the pipelined loop with one sum and no gamma or beta ran 0.7-0.8
 * of a streaming copy.  A block's rows stay in L2 between their two
 * passes. */
/* The longest rows pipelined: a quarter of L1d, so that the two rows a
 * step reads, gamma and beta fit in it (8 KiB of Zen 4's 32 KiB, where 64
 * x 2048 ran even both ways, above); longer rows go in blocks. */
LN_INLINE size_t pipeline_row_bytes(void) { return ln_l1d_bytes() / 4; }
/* Streamed rows, pipelined (rows_run): what a step keeps in L1d at most
 * (three quarters of it: 24 KiB of Zen 4's 32; Sapphire Rapids, not
 * measured, has 48), and how far ahead of the statistics pass it
 * prefetches into L2.  Beside streamed
 * stores and L1 loads, the demand loads of the next row alone kept too few
 * misses in flight: a standalone loop reading x from DRAM with two vectors
 * from L1 and streaming y ran 20-25 GB/s, 28-35 with the prefetch, against
 * 35 for x to y alone (AMD EPYC Zen 4).  Alternated lnbench speed runs
 * there, 1 thread, blocks -> pipelined with the prefetch: binary32
 * layernorm 24576 x 768 avx512 19 -> 29 GB/s (stream_copy 32), avx2 21 ->
 * 30, avx512_accurate 19 -> 23, 24576 x 1024 avx512 20 -> 28; bf16 rmsnorm
 * 32768 x 4096 avx512 23 -> 29 (stream_copy 33), avx2 17 -> 20; 2 threads
 * 768 avx512 33 -> 46 (stream_copy 47).  4 KiB ahead gave about two thirds
 * of the gain; 16 KiB no more than 8. */
LN_INLINE size_t stream_pipeline_bytes(void) { return ln_l1d_bytes() / 4 * 3; }
#define LN_PREFETCH_AHEAD 8192u
#define LN_BLOCK_ROWS 8
#define LN_BLOCK_BYTES (256u * 1024u) /* the rows of one block, at most */
/* Columns per chunk: 4 KiB each of gamma and beta for the fast output
 * pass (1024 binary32 columns, 2048 bf16 or f16), 8 KiB each of the
 * accurate one's doubles.  With 8 KiB each of binary32, the chunk's gamma
 * and beta and the lines of x and y passing through filled L1d (32 KiB, 8
 * ways, on Zen 4), and gamma and beta went back to L2 between rows: at 4
 * KiB, AMD EPYC Zen 4, 1 thread, alternated lnbench speed runs, avx512 at
 * 16 x 4096 43 -> 51 GB/s, 64 x 4096 39 -> 42, 16 x 8192 41 -> 49; avx2
 * 41 -> 46, 36 -> 40, 39 -> 43.  2 KiB of bf16 and 4 KiB of doubles were
 * no faster. */
#define LN_CHUNK_FAST_BYTES 4096u
#define LN_CHUNK_ACCURATE 1024u

LN_INLINE void rows_blocked(unsigned f, const ln_rows *a, const ln_wide *w, ln_step_fn *step,
                            int stream)
{
    const size_t R = a->rows, n = a->dim, es = LN_ES(f);
    const double inv_n = 1.0 / (double)n;
    const size_t chunk = (f & LN_ACCURATE) ? LN_CHUNK_ACCURATE : LN_CHUNK_FAST_BYTES / es;
    size_t per = LN_BLOCK_BYTES / (n * es);
    per = per < 1 ? 1 : per > LN_BLOCK_ROWS ? LN_BLOCK_ROWS : per;
    ln_norm nm[LN_BLOCK_ROWS];
    int ok[LN_BLOCK_ROWS];
    int zero = first_guess_zero(f, a);
    for (size_t i0 = 0; i0 < R; i0 += per) {
        const size_t nb = R - i0 < per ? R - i0 : per;
        for (size_t r = 0; r < nb; r++) {
            ln_cols c = {0};
            stats_row(f, a, i0 + r, zero, &c);
            const ln_sums s = step_with(step, LN_DO_STATS, a, w, &c, ln_no_coef, stream);
            ok[r] = row_stats(f, a, i0 + r, c.m1, s.sdev, s.ssq, inv_n, &nm[r], step, w);
            if (ok[r])
                zero = first_guess_zero(f, a) && !nm[r].zero_far;
        }
        for (size_t j0 = 0; j0 < n; j0 += chunk)
            for (size_t r = 0; r < nb; r++) {
                if (!ok[r]) /* done whole by ln_row_wide */
                    continue;
                ln_cols c = {0};
                c.xo = row_later(f, a, i0 + r);
                c.y = at_w(f, a->y, (i0 + r) * a->y_stride);
                c.from = j0;
                c.to = n - j0 > chunk ? j0 + chunk : n;
                step_with(step, LN_DO_OUT, a, w, &c, coef_of(f, &nm[r]), stream);
            }
    }
}

/* Every row of a.  Streamed output and rows longer than
 * pipeline_row_bytes() go in blocks (rows_blocked); the others are
 * software-pipelined: step k writes row k (the output pass) and takes the
 * statistics pass of row k+1, in one loop over the columns.  The per-row
 * chain (horizontal sums, the square root and divide) then overlaps the
 * next row's loads, and reads of rows not yet in cache overlap the stores
 * of y (bf16 RMSNorm at 64 x 4096 ran 1.3x (AVX-512) and 1.8x (AVX2)
 * faster than one row at a time).  Little of that chain's cost is left:
 * given constant coefficients (no wait on the chain), avx512 at 64 x 768
 * ran about 5 % faster (AMD EPYC Zen 4, 1 thread, in process).  Reading
 * the statistics row before storing the output row's same elements (4 KiB
 * aliasing, rows of 4 KiB) moved avx512's mean over 64 x 768 and 64 x
 * 1024, 19 offsets of y against x each, from 60.3 to 61.8 GB/s and
 * avx2's not at all, while one offset alone ranged over 50-75 from run
 * to run.  Two rows per step (gamma and beta loaded once for both), in a
 * standalone AVX-512 model over the same 19 offsets: 768 74 -> 85 GB/s on
 * average, 1024 76 -> 74 (eight streams 4 KiB apart fill an 8-way L1d set,
 * and at offsets below 256 bytes 4 KiB aliasing took it to 44-60).  Built
 * for avx512 binary32 (rows not a multiple of 4 KiB, the same bits), it
 * gained 12 % at 64 x 768 and 17 % at 64 x 512 in process (mean of 8
 * offsets), but in alternated lnbench speed runs 64 x 768 moved 45.9 ->
 * 46.5 GB/s, 64 x 512 45.1 -> 50.1, and the L3-resident 2048 x 768 lost
 * (26.0 -> 22.4, and 35.1 -> 24.6 in another run): not adopted.
 * A row's statistics pass is its first: it forms h for the add_
 * operations.  Returns whether y was streamed (the caller then fences). */
LN_INLINE int rows_run(unsigned f, const ln_rows *a, const ln_wide *w, ln_step_fn *step)
{
    const size_t R = a->rows, es = LN_ES(f);
    /* The store policy on this call's working set (x and y, and for the
     * add_ ops the residual and h); streamed rows must start on cache
     * lines, else the stores would go through the cache anyway. */
    const size_t set = (a->add ? 4 : 2) * a->rows * a->dim * es;
    int stream = VEC_HAS_STREAM &&
                 (a->store == LN_STORE_STREAMING ||
                  (a->store != LN_STORE_CACHED && ln_streaming_pays(set, 1, ln_llc_bytes())));
    stream = stream && (uintptr_t)a->y % 64 == 0 && (a->y_stride * es) % 64 == 0;
    /* Streamed rows are pipelined when the rows a step reads and writes
     * through the cache (two, four with a residual), gamma and beta (the
     * accurate algorithm's as doubles) fit in stream_pipeline_bytes() of
     * L1d: the loads beside the streamed stores then hit L1, and the
     * statistics pass prefetches the rows ahead of it into L2. */
    const size_t row_bytes = a->dim * es;
    const size_t affine = (f & LN_ACCURATE) ? 2 * a->dim * sizeof(double)
                                            : (size_t)(!!a->gamma + !!a->beta) * row_bytes;
    const int fits = row_bytes <= pipeline_row_bytes() &&
                     (!stream || (a->add ? 4 : 2) * row_bytes + affine <= stream_pipeline_bytes());
    if (!fits) {
        rows_blocked(f, a, w, step, stream);
        return stream;
    }
    /* The accurate kernel, with more work per element, prefetches the row
     * after the next (the fast one leaves the next rows' reads to the
     * statistics pass); streamed rows have the statistics pass's prefetch
     * (ln_cols.ahead) instead, which reaches those lines first. */
    const int prefetch = (f & LN_ACCURATE) && !stream;
    const double inv_n = 1.0 / (double)a->dim;
    int zero = first_guess_zero(f, a);
    ln_cols c = {0};
    ln_sums sums = {0.0, 0.0};
    for (size_t k1 = 0; k1 <= R; k1++) {
        /* Step k = k1 - 1: rows k (output) and k + 1 (statistics), each
         * when it exists. */
        const size_t io = k1 - 1, is = k1;
        unsigned run = 0;
        const ln_guess m = c.m1;
        ln_norm nm;
        ln_coef coef = ln_no_coef;
        c.ahead = 0;
        if (is < R) {
            stats_row(f, a, is, zero, &c);
            /* Within x (and the residual): the rows after this one reach
             * LN_PREFETCH_AHEAD bytes past its end. */
            c.ahead = stream && (R - 1 - is) * a->x_stride * es >= LN_PREFETCH_AHEAD
                          ? LN_PREFETCH_AHEAD
                          : 0;
            run |= LN_DO_STATS;
        }
        c.pf = c.pfr = NULL;
        if (k1 > 0 && row_stats(f, a, io, m, sums.sdev, sums.ssq, inv_n, &nm, step, w)) {
            zero = first_guess_zero(f, a) && !nm.zero_far;
            coef = coef_of(f, &nm);
            c.xo = row_later(f, a, io);
            c.y = at_w(f, a->y, io * a->y_stride);
            if (prefetch && io + 2 < R) {
                const ln_src p = row_first(f, a, io + 2);
                c.pf = p.x;
                c.pfr = p.res;
            }
            run |= LN_DO_OUT;
        }
        if (run)
            sums = step_with(step, run, a, w, &c, coef, stream);
    }
    return stream;
}

/* One out-of-line function per algorithm and element type, and one for
 * its steps: the loops over the columns then get every vector register,
 * none held by the row loop's scalars across them (inlined into the row
 * loop, AVX2's layernorm step kept three registers for those and spilled
 * three accumulators instead: a store and a load per vector). */
#define LN_ROWS_FN(alg, name, flags)                                                       \
    static __attribute__((noinline, unused)) ln_sums step_##alg##_##name(                 \
        unsigned run, const ln_rows *a, const ln_wide *w, const ln_cols *c, double sub,   \
        double scale, double add, int stream)                                              \
    {                                                                                      \
        const ln_coef k = {sub, scale, add};                                               \
        return step_cols((flags), run, a, w, c, k, stream);                                \
    }                                                                                      \
    static __attribute__((noinline, unused)) int rows_##alg##_##name(const ln_rows *a,    \
                                                                      const ln_wide *w)    \
    {                                                                                      \
        return rows_run((flags), a, w, step_##alg##_##name);                               \
    }
LN_ROWS_FN(fast, bf16, LN_BF16)
LN_ROWS_FN(accurate, bf16, LN_ACCURATE | LN_BF16)
#ifndef LN_SIMD_BF16_ONLY
LN_ROWS_FN(fast, f32, 0)
LN_ROWS_FN(accurate, f32, LN_ACCURATE)
LN_ROWS_FN(fast, f16, LN_F16)
LN_ROWS_FN(accurate, f16, LN_ACCURATE | LN_F16)
#endif

/* The forward functions: the rows function for the descriptor's dtype. */
static __attribute__((unused)) int fast_forward(const ln_desc *d, const ln_tensors *t)
{
    const ln_rows a = ln_rows_of(d, t);
    int stream;
#ifdef LN_SIMD_BF16_ONLY
    stream = rows_fast_bf16(&a, NULL);
#else
    stream = d->dtype == LN_DTYPE_BF16  ? rows_fast_bf16(&a, NULL)
             : d->dtype == LN_DTYPE_F16 ? rows_fast_f16(&a, NULL)
                                        : rows_fast_f32(&a, NULL);
#endif
    if (stream)
        ln_store_fence();
    return 0;
}

/* bf16: the widened gamma or beta v in the order the accurate output pass
 * reads x in its blocks of four vectors (vf_pair_load_bf16's, per pair of
 * vectors; the row's tail stays in memory order), so that acc_out's loads
 * at element h of a pair meet the elements the pair's lanes hold.  The
 * order is found by loading the elements' own indices. */
static __attribute__((unused)) void acc_pair_layout(double *v, size_t dim)
{
    enum { P = 2 * VF_LANES };
    uint16_t idx[P];
    float lane[P];
    size_t ord[P];
    double t[P];
    for (size_t k = 0; k < P; k++)
        idx[k] = (uint16_t)k;
    vf a, b;
    vf_pair_load_bf16(idx, &a, &b); /* moves bits, no arithmetic */
    vf_storeu(lane, a);
    vf_storeu(lane + VF_LANES, b);
    for (size_t k = 0; k < P; k++) {
        uint32_t u;
        memcpy(&u, &lane[k], sizeof u);
        ord[k] = u >> 16;
    }
    const size_t end = dim / (4 * VF_LANES) * (4 * VF_LANES);
    for (size_t h = 0; h < end; h += P) {
        for (size_t k = 0; k < P; k++)
            t[k] = v[h + ord[k]];
        memcpy(v + h, t, sizeof t);
    }
}

static __attribute__((unused)) int accurate_forward(const ln_desc *d, const ln_tensors *t,
                                                     void *state)
{
    const ln_rows a = ln_rows_of(d, t);
    accurate_state *st = state;
    /* Without prepare (or for a larger dim) the buffer is made here: one
     * allocation per call, amortised over the rows. */
    double *gb = st && st->dim >= a.dim ? st->gb : accurate_alloc(a.dim);
    if (!gb) {
        ln_rows_wide(d, t); /* no memory: the scalar double path needs none */
        return 0;
    }
    const ln_wide w = {gb, gb + a.dim};
    acc_widen(a.dtype, a.cast, a.dim, a.gamma, a.beta, gb, gb + a.dim);
    if (a.dtype == LN_DTYPE_BF16) {
        acc_pair_layout(gb, a.dim);
        acc_pair_layout(gb + a.dim, a.dim);
    }
    int stream;
#ifdef LN_SIMD_BF16_ONLY
    stream = rows_accurate_bf16(&a, &w);
#else
    stream = d->dtype == LN_DTYPE_BF16  ? rows_accurate_bf16(&a, &w)
             : d->dtype == LN_DTYPE_F16 ? rows_accurate_f16(&a, &w)
                                        : rows_accurate_f32(&a, &w);
#endif
    if (stream)
        ln_store_fence();
    if (gb != (st ? st->gb : NULL))
        free(gb);
    return 0;
}

/* The two kernels of one ISA: ln_kernel_<isa> (fast) and
 * ln_kernel_<isa>_accurate, whose forward functions are named
 * <isa>_forward and <isa>_accurate_forward (scripts/icount finds them by
 * those names). */
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
        if (rc >= 0)                                                                      \
            return rc;                                                                    \
        return fast_forward(d, t);                                                        \
    }                                                                                     \
    static int isa##_accurate_forward(const ln_desc *d, const ln_tensors *t, void *state) \
    {                                                                                     \
        int rc = LN_SIMD_DISPATCH(d, t, state, 1);                                        \
        if (rc >= 0)                                                                      \
            return rc;                                                                    \
        return accurate_forward(d, t, state);                                             \
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
