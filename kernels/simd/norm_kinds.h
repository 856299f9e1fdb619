/*
 * norm_kinds.h - every kind the binary32 LayerNorm pipeline of
 * layernorm_rows.h does not take: rmsnorm, add_layernorm, add_rmsnorm in
 * binary32, and all four operations in bf16 and f16, each cast.  The same
 * two algorithms (fast: binary32 statistics and arithmetic; accurate:
 * double, one rounding to the dtype), written once over the vocabulary of
 * vec_<isa>.h; include from layernorm_rows.h only.
 *
 * ONE loop per algorithm and element type, a row at a time, with the
 * operation, gamma, beta, the cast and the store tested at run time.  Why
 * not the specialised pipeline for these too: 11 more kinds x 2 algorithms
 * x its stage combinations took GCC over 8 minutes to build this library
 * (the test command builds it four times).  The tests are loop-invariant,
 * predicted branches; the passes that carry the statistics have none, and
 * the 2-byte kinds are bound by memory where it matters.  Measured with
 * GCC 12 at -O3: these kinds add under a second to simd_avx512.c (38 s,
 * nearly all of it the binary32 pipeline) and simd_avx512_bf16.c builds
 * in 1 s, against minutes when they were specialised like the pipeline.
 *
 * The RMS forms need no branch in the passes: a mean of 0 and a deviation
 * scale of 1 turn pass 2's sums into sum(x^2), and pass 3's
 * fma(x - mh, rstd, -ml*rstd) into x * rstd exactly.  h = x + residual
 * (the add_ operations) is formed and written first, then the row of h is
 * normalised from the cache.  Row i+1 is prefetched during row i's pass 3,
 * so that its pass 2 finds it on its way from memory.
 *
 * Element types: bf16 and f16 widen exactly to float vectors on load and
 * round to nearest even on store (vec_<isa>.h, bit for bit as
 * dtype_convert.h).  The accurate outputs narrow doubles to floats rounded
 * to odd first, so that the store's rounding to bf16/f16 is the one
 * rounding of the double value (13 or more spare bits).
 */

enum {
    LN_BF16 = 1u << 10, /* elements are bf16 */
    LN_F16 = 1u << 11   /* elements are IEEE binary16 */
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

/* VF_LANES elements at p[j..] as floats (exact); ld_part: cnt < VF_LANES
 * of them, zeros in the other lanes, no memory touched past them. */
LN_INLINE vf ld(unsigned f, const void *p, size_t j)
{
    if (f & LN_BF16)
        return vf_from_bf16(vb_loadu((const uint16_t *)p + j));
    if (f & LN_F16)
        return vf_from_f16(vb_loadu((const uint16_t *)p + j));
    return vf_loadu((const float *)p + j);
}

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

/* v rounded to the element type at p[j..]; stream: non-temporal (p + j
 * aligned to the vector). */
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

LN_INLINE ln_dtype dtype_of(unsigned f)
{
    return (f & LN_BF16) ? LN_DTYPE_BF16 : (f & LN_F16) ? LN_DTYPE_F16 : LN_DTYPE_F32;
}

/* h = x + residual rounded to the dtype, a whole row.  The binary32 sum of
 * two bf16 or f16 values is exact unless they lie so many binades apart
 * that it stays within a small fraction of an ulp of the larger, far from
 * any rounding boundary of the dtype: rounding that float to the dtype
 * rounds the exact sum once. */
LN_INLINE void kind_form_h(unsigned f, const void *x, const void *r, void *h, size_t n)
{
    size_t j = 0;
    for (; j + VF_LANES <= n; j += VF_LANES)
        st(f, h, j, rnd(f, vf_add(ld(f, x, j), ld(f, r, j))), 0);
    if (j < n) {
        size_t c = n - j;
        st_part(f, h, j, c, rnd(f, vf_add(ld_part(f, x, j, c), ld_part(f, r, j, c))));
    }
}

/* Pass 1: sum(x - x0), four accumulators (x0 = x[0] makes a constant row
 * sum to exactly 0, see layernorm_fast.h). */
LN_INLINE float kind_p1(unsigned f, const void *x, size_t n, float x0)
{
    const size_t W = VF_LANES;
    const vf vx0 = vf_set1(x0);
    vf s0 = vf_zero(), s1 = s0, s2 = s0, s3 = s0;
    size_t j = 0;
    for (; j + 4 * W <= n; j += 4 * W) {
        s0 = vf_add(s0, vf_sub(ld(f, x, j), vx0));
        s1 = vf_add(s1, vf_sub(ld(f, x, j + W), vx0));
        s2 = vf_add(s2, vf_sub(ld(f, x, j + 2 * W), vx0));
        s3 = vf_add(s3, vf_sub(ld(f, x, j + 3 * W), vx0));
    }
    for (; j + W <= n; j += W)
        s0 = vf_add(s0, vf_sub(ld(f, x, j), vx0));
    if (j < n)
        s1 = vf_add_part(s1, vf_first(n - j), vf_sub(ld_part(f, x, j, n - j), vx0));
    return vf_hsum(vf_add(vf_add(s0, s1), vf_add(s2, s3)));
}

/* Fast pass 2: d = scale * (x - m), sum(d) into *sdev and sum(d^2) into
 * *ssq (layernorm_fast.h says why the scale). */
LN_INLINE void kind_fast_p2(unsigned f, const void *x, size_t n, float m, float scale,
                            double *sdev, double *ssq)
{
    const size_t W = VF_LANES;
    const vf vm = vf_set1(m), vs = vf_set1(scale);
    vf q0 = vf_zero(), q1 = q0, q2 = q0, q3 = q0, e0 = q0, e1 = q0;
    size_t j = 0;
    for (; j + 4 * W <= n; j += 4 * W) {
        vf d0 = vf_mul(vf_sub(ld(f, x, j), vm), vs);
        vf d1 = vf_mul(vf_sub(ld(f, x, j + W), vm), vs);
        vf d2 = vf_mul(vf_sub(ld(f, x, j + 2 * W), vm), vs);
        vf d3 = vf_mul(vf_sub(ld(f, x, j + 3 * W), vm), vs);
        q0 = vf_fma(d0, d0, q0);
        q1 = vf_fma(d1, d1, q1);
        q2 = vf_fma(d2, d2, q2);
        q3 = vf_fma(d3, d3, q3);
        e0 = vf_add(e0, vf_add(d0, d1));
        e1 = vf_add(e1, vf_add(d2, d3));
    }
    for (; j + W <= n; j += W) {
        vf d = vf_mul(vf_sub(ld(f, x, j), vm), vs);
        q0 = vf_fma(d, d, q0);
        e0 = vf_add(e0, d);
    }
    if (j < n) { /* zeros past n: d = -m * scale there, so masked */
        vf_mask k = vf_first(n - j);
        vf d = vf_mul(vf_sub(ld_part(f, x, j, n - j), vm), vs);
        q1 = vf_fma_part(d, d, q1, k);
        e1 = vf_add_part(e1, k, d);
    }
    *sdev = vf_hsum(vf_add(e0, e1));
    *ssq = vf_hsum(vf_add(vf_add(q0, q1), vf_add(q2, q3)));
}

/* Accurate pass 2: e = x - m in double (exact: m is x0 plus a float), sum(e)
 * into *se and sum(e^2) into *sq. */
LN_INLINE void kind_acc_p2(unsigned f, const void *x, size_t n, double m, double *se,
                           double *sq)
{
    const size_t W = VF_LANES;
    const vd vm = vd_set1(m);
    vd e0 = vd_zero(), e1 = e0, e2 = e0, e3 = e0, q0 = e0, q1 = e0, q2 = e0, q3 = e0;
    size_t j = 0;
    for (; j + 2 * W <= n; j += 2 * W) {
        vf a = ld(f, x, j), b = ld(f, x, j + W);
        acc_step(&e0, &q0, vd_sub(vd_from_vh(vf_lo(a)), vm));
        acc_step(&e1, &q1, vd_sub(vd_from_vh(vf_hi(a)), vm));
        acc_step(&e2, &q2, vd_sub(vd_from_vh(vf_lo(b)), vm));
        acc_step(&e3, &q3, vd_sub(vd_from_vh(vf_hi(b)), vm));
    }
    for (; j < n; j += W) {
        size_t r = n - j < W ? n - j : W;
        vf a = r < W ? ld_part(f, x, j, r) : ld(f, x, j);
        /* Lanes past n would add e = -m: kept out. */
        acc_step(&e0, &q0, vd_keep(vd_first(r < LN_HALF ? r : LN_HALF),
                                   vd_sub(vd_from_vh(vf_lo(a)), vm)));
        if (r > LN_HALF)
            acc_step(&e1, &q1, vd_keep(vd_first(r - LN_HALF), vd_sub(vd_from_vh(vf_hi(a)), vm)));
    }
    *se = vd_hsum(vd_add(vd_add(e0, e1), vd_add(e2, e3)));
    *sq = vd_hsum(vd_add(vd_add(q0, q1), vd_add(q2, q3)));
}

/* Fast pass 3 of one vector (cnt > 0: its first cnt lanes): the
 * normalised value, then the cast's gamma and beta.  llama rounds it to
 * the dtype before the product with w (in binary32, exact for bf16 and f16
 * operands); gemma multiplies by 1 + w formed in binary32. */
LN_INLINE vf kind_fast_out(unsigned f, const ln_rows *a, vf vmh, vf vr, vf vl, const void *x,
                           size_t j, size_t cnt)
{
#define LD(q) (cnt ? ld_part(f, (q), j, cnt) : ld(f, (q), j))
    vf v = vf_fma(vf_sub(LD(x), vmh), vr, vl);
    if (a->gamma) {
        vf w = LD(a->gamma);
        if (a->cast == LN_CAST_GEMMA)
            w = vf_add(w, vf_set1(1.0f));
        else if (a->cast == LN_CAST_LLAMA)
            v = rnd(f, v);
        return a->beta ? vf_fma(v, w, LD(a->beta)) : vf_mul(v, w);
    }
    return a->beta ? vf_add(v, LD(a->beta)) : v;
#undef LD
}

/* A half of doubles narrowed for the store: to nearest for binary32, to
 * odd for bf16/f16 (the store then rounds once). */
LN_INLINE vh kind_narrow(unsigned f, vd v)
{
    return (f & LN_NARROW) ? vh_narrow_odd(v) : vh_narrow(v);
}

/* Accurate pass 3 of one vector: fma(x - m, rstd, -c*rstd) in double
 * (m = c = 0: x * rstd), then fma(t, g, b) with g = 1 and b = -0 standing
 * for an absent gamma or beta (exact: t * 1 + -0 = t, signed zeros kept),
 * rounded once.  llama: round(w * round(t)), the float product exact for
 * bf16/f16 and the definition's own rounding for binary32. */
LN_INLINE vf kind_acc_out(unsigned f, const ln_rows *a, const ln_wide *w, vd vm, vd vr, vd vnc,
                          const void *x, size_t j, size_t cnt)
{
    vf xv = cnt ? ld_part(f, x, j, cnt) : ld(f, x, j);
    vd lo = vd_fma(vd_sub(vd_from_vh(vf_lo(xv)), vm), vr, vnc);
    vd hi = vd_fma(vd_sub(vd_from_vh(vf_hi(xv)), vm), vr, vnc);
    if (a->gamma && a->cast == LN_CAST_LLAMA) {
        vf u = rnd(f, vf_join(kind_narrow(f, lo), kind_narrow(f, hi)));
        return vf_mul(u, cnt ? ld_part(f, a->gamma, j, cnt) : ld(f, a->gamma, j));
    }
    if (cnt) {
        vd_mask k0 = vd_first(cnt < LN_HALF ? cnt : LN_HALF);
        vd_mask k1 = vd_first(cnt > LN_HALF ? cnt - LN_HALF : 0);
        lo = vd_fma(lo, vd_load_part(w->g + j, k0), vd_load_part(w->b + j, k0));
        hi = vd_fma(hi, vd_load_part(w->g + j + LN_HALF, k1),
                    vd_load_part(w->b + j + LN_HALF, k1));
    } else {
        lo = vd_fma(lo, vd_loadu(w->g + j), vd_loadu(w->b + j));
        hi = vd_fma(hi, vd_loadu(w->g + j + LN_HALF), vd_loadu(w->b + j + LN_HALF));
    }
    return vf_join(kind_narrow(f, lo), kind_narrow(f, hi));
}

/* The statistics of one row of x (h for the add_ ops) into *nm; 0 when
 * they are not finite (NaN/Inf in the row, or squares beyond the
 * accumulators' range): the row then takes ln_row_wide. */
LN_INLINE int kind_stats(unsigned f, const ln_rows *a, const void *x, double inv_n,
                         ln_norm *nm)
{
    const size_t n = a->dim;
    double s1, s2;
    if (f & LN_ACCURATE) {
        double m = 0.0;
        if (!a->rms) {
            float x0 = ln_dtype_load(dtype_of(f), x, 0);
            m = (double)x0 + (double)(kind_p1(f, x, n, x0) * (float)inv_n);
        }
        kind_acc_p2(f, x, n, m, &s1, &s2);
        /* RMS: no mean, so no E[e] either (s1 = sum(x) here). */
        return acc_finish(m, a->rms ? 0.0 : s1, s2, inv_n, a->eps, nm);
    }
    if (a->rms) {
        kind_fast_p2(f, x, n, 0.0f, 1.0f, &s1, &s2);
        if (!(s2 <= FLT_MAX))
            return 0;
        float rstd = (float)(1.0 / sqrt(s2 * inv_n + (double)a->eps));
        nm->mh = nm->ml = nm->mean_out = 0.0f;
        nm->split = 0;
        nm->rstd_f = nm->rstd_out = rstd;
        return 1;
    }
    float x0 = ln_dtype_load(dtype_of(f), x, 0);
    float m = x0 + kind_p1(f, x, n, x0) * (float)inv_n;
    kind_fast_p2(f, x, n, m, DEV_SCALE, &s1, &s2);
    return fast_finish(m, s1, s2, inv_n, a->eps, nm);
}

/* Every row of a: algorithm and element type in f, the rest at run time.
 * Returns whether y was streamed (the caller then fences). */
LN_INLINE int rows_kind(unsigned f, const ln_rows *a, const ln_wide *w)
{
    const size_t n = a->dim, W = VF_LANES, es = LN_ES(f);
    const double inv_n = 1.0 / (double)n;
    /* The store policy on this call's working set (x and y, and for the
     * add_ ops the residual and h); streamed rows must start on cache
     * lines, else the stores go through the cache. */
    const size_t set = (a->add ? 4 : 2) * a->rows * n * es;
    int stream = VEC_HAS_STREAM &&
                 (a->store == LN_STORE_STREAMING ||
                  (a->store != LN_STORE_CACHED && ln_streaming_pays(set, ln_llc_bytes())));
    stream = stream && (uintptr_t)a->y % 64 == 0 && (a->y_stride * es) % 64 == 0;
    for (size_t i = 0; i < a->rows; i++) {
        const void *x = at(f, a->x, i * a->x_stride);
        void *y = at_w(f, a->y, i * a->y_stride);
        if (a->add) {
            void *h = at_w(f, a->h, i * a->y_stride);
            kind_form_h(f, x, at(f, a->res, i * a->x_stride), h, n);
            x = h;
        }
        const size_t next = i + 1 < a->rows ? i + 1 : i;
        const char *pf = at(f, a->x, next * a->x_stride);
        const char *pfr = a->add ? at(f, a->res, next * a->x_stride) : pf;
        float *mean = a->mean ? a->mean + i : NULL, *rstd = a->rstd ? a->rstd + i : NULL;
        ln_norm nm;
        if (!kind_stats(f, a, x, inv_n, &nm)) {
            ln_row_wide(a->dtype, a->rms, a->cast, x, y, n, a->gamma, a->beta, a->eps, mean,
                        rstd);
            continue;
        }
        if (mean)
            *mean = nm.mean_out;
        if (rstd)
            *rstd = nm.rstd_out;
        size_t j = 0;
        if (f & LN_ACCURATE) {
            const vd vm = vd_set1(nm.m), vr = vd_set1(nm.rstd);
            const vd vnc = vd_set1(-(nm.c * nm.rstd));
            for (; j + W <= n; j += W) {
                if (((j * es) & 63) == 0) { /* one cache line at a time */
                    ln_prefetch(pf + j * es);
                    ln_prefetch(pfr + j * es);
                }
                st(f, y, j, kind_acc_out(f, a, w, vm, vr, vnc, x, j, 0), stream);
            }
            if (j < n)
                st_part(f, y, j, n - j, kind_acc_out(f, a, w, vm, vr, vnc, x, j, n - j));
        } else {
            /* split (|mean| > sigma): fma(x - mh, rstd, -ml*rstd); else
             * fma(x, rstd, -mh*rstd), the same expression with mh = 0
             * (layernorm_fast.h says why each). */
            const vf vr = vf_set1(nm.rstd_f);
            const vf vmh = vf_set1(nm.split ? nm.mh : 0.0f);
            const vf vl = vf_set1(nm.split ? -(nm.ml * nm.rstd_f) : -(nm.mh * nm.rstd_f));
            for (; j + W <= n; j += W) {
                if (((j * es) & 63) == 0) {
                    ln_prefetch(pf + j * es);
                    ln_prefetch(pfr + j * es);
                }
                st(f, y, j, kind_fast_out(f, a, vmh, vr, vl, x, j, 0), stream);
            }
            if (j < n)
                st_part(f, y, j, n - j, kind_fast_out(f, a, vmh, vr, vl, x, j, n - j));
        }
    }
    return stream;
}

/* gamma (for the gemma cast fl32(1 + w)) and beta of a's dtype into g and
 * b as doubles; an absent gamma as 1 and an absent beta as -0 (see
 * kind_acc_out). */
static inline void kind_widen(const ln_rows *a, double *g, double *b)
{
    const int gemma = a->cast == LN_CAST_GEMMA;
    for (size_t j = 0; j < a->dim; j++) {
        float v = a->gamma ? ln_dtype_load(a->dtype, a->gamma, j) : 0.0f;
        g[j] = !a->gamma ? 1.0 : gemma ? (double)(1.0f + v) : (double)v;
        b[j] = a->beta ? (double)ln_dtype_load(a->dtype, a->beta, j) : -0.0;
    }
}

/* One out-of-line function per algorithm and element type. */
#define LN_KIND_FN(alg, name, flags)                                                      \
    static __attribute__((noinline, unused)) int kind_##alg##_##name(const ln_rows *a,   \
                                                                      const ln_wide *w)   \
    {                                                                                     \
        return rows_kind((flags), a, w);                                                  \
    }
LN_KIND_FN(fast, bf16, LN_BF16)
LN_KIND_FN(accurate, bf16, LN_ACCURATE | LN_BF16)
#ifndef LN_SIMD_BF16_ONLY
LN_KIND_FN(fast, f32, 0)
LN_KIND_FN(accurate, f32, LN_ACCURATE)
LN_KIND_FN(fast, f16, LN_F16)
LN_KIND_FN(accurate, f16, LN_ACCURATE | LN_F16)
#endif

/* The kinds' forward functions: the one for the descriptor's dtype. */
static __attribute__((unused)) int kinds_fast_forward(const ln_desc *d, const ln_tensors *t)
{
    const ln_rows a = ln_rows_of(d, t);
    int stream;
#ifdef LN_SIMD_BF16_ONLY
    stream = kind_fast_bf16(&a, NULL);
#else
    stream = d->dtype == LN_DTYPE_BF16  ? kind_fast_bf16(&a, NULL)
             : d->dtype == LN_DTYPE_F16 ? kind_fast_f16(&a, NULL)
                                        : kind_fast_f32(&a, NULL);
#endif
    if (stream)
        ln_store_fence();
    return 0;
}

static __attribute__((unused)) int kinds_accurate_forward(const ln_desc *d, const ln_tensors *t,
                                                           void *state)
{
    const ln_rows a = ln_rows_of(d, t);
    accurate_state *st = state;
    double *gb = st && st->dim >= a.dim ? st->gb : accurate_alloc(a.dim);
    if (!gb) {
        ln_rows_wide(d, t); /* no memory: the scalar double path needs none */
        return 0;
    }
    const ln_wide w = {gb, gb + a.dim};
    kind_widen(&a, gb, gb + a.dim);
    int stream;
#ifdef LN_SIMD_BF16_ONLY
    stream = kind_accurate_bf16(&a, &w);
#else
    stream = d->dtype == LN_DTYPE_BF16  ? kind_accurate_bf16(&a, &w)
             : d->dtype == LN_DTYPE_F16 ? kind_accurate_f16(&a, &w)
                                        : kind_accurate_f32(&a, &w);
#endif
    if (stream)
        ln_store_fence();
    if (gb != (st ? st->gb : NULL))
        free(gb);
    return 0;
}
