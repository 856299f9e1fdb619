/*
 * layernorm_accurate.h - the accurate algorithm's arithmetic (kernels
 * avx2_accurate, avx512_accurate, neon_accurate): within 1 ulp of the
 * output format, statistics and the normalisation in double, one rounding
 * to the dtype at the end.  layernorm_rows.h runs it over the rows, pipelined as the fast
 * one, on the vocabulary of vec_<isa>.h.
 *
 * Why it stays within 1 ulp: every binary32 is exact in double, the double
 * sums of n <= 12288 terms lose ~2^-40 relatively, and the deviation
 * x - mean is taken in double against a mean good to ~2^-45 sigma, so
 * (x - mean) * rstd * gamma + beta reaches the final rounding (0.5 ulp) with
 * an error near 2^-30 ulp - unless gamma * xhat and beta cancel to within
 * ~2^-25 of each other, which no standard distribution does on its rows.
 *
 * Per row, the row staying in L1/L2 between passes:
 *   1. md = sum(x - x0) / n in float (cheap, exact for a constant row):
 *      only a first guess m = x0 + md of the mean.
 *   2. e = x - m in double: sum(e) and sum(e^2); mean = m + E[e] and
 *      var = E[e^2] - E[e]^2 (the corrected two-pass: E[e] is tiny next to
 *      sigma, so nothing cancels).  A constant row gives e = 0 exactly.
 *   3. y = fma(((x - m) - E[e]) * rstd, gamma, beta) in double, rounded
 *      once.  x - m is exact for offset rows (Sterbenz) and E[e] is small,
 *      so the deviation carries an error of 2^-53 of itself, not of the
 *      mean: subtracting a rounded double mean would cost up to ~2^-53 |mean|
 *      and break the 1-ulp promise where gamma*xhat + beta is small.
 * The RMS forms: pass 2 sums x^2 in double (exact squares), pass 3 is
 * x * rstd * w in double.  bf16 and f16 outputs round once: the double
 * result is narrowed to a float rounded to odd (vh_narrow_odd), which the
 * store's round-to-nearest-even to the dtype turns into the correctly
 * rounded value of the double (13 or more spare bits).  The llama cast
 * rounds n = x * rstd so to the dtype (binary32: to nearest), then w * n in
 * binary32 is exact for bf16/f16 operands (8 + 8, 11 + 11 bits) and the
 * store rounds it once; in binary32 that float product is the definition's
 * rounding itself.  The gemma cast multiplies by fl32(1 + w), formed when
 * gamma is widened.
 * VF_LANES/2 floats are converted to as many doubles at a time.  A row whose
 * double sums are not finite holds NaN or Inf (or its float sum of x - x0
 * overflowed): ln_row_f64 sorts out which.
 * Include from layernorm_rows.h only.
 */

/* gamma and beta widened to double once per call (see accurate_state). */
typedef struct ln_wide {
    const double *g, *b;
} ln_wide;

/* Pass 2 of a row around its first guess m: sum(e) in e0..e3, sum(e^2) in
 * q0..q3, e = x - m in double (for the RMS forms m = 0 and only q). */
typedef struct acc_p2 {
    vd vm, e0, e1, e2, e3, q0, q1, q2, q3;
} acc_p2;

LN_INLINE void acc_p2_init(unsigned f, acc_p2 *s, double m)
{
    (void)f;
    s->vm = vd_set1(m);
    s->e0 = s->e1 = s->e2 = s->e3 = s->q0 = s->q1 = s->q2 = s->q3 = vd_zero();
}

LN_INLINE void acc_dev(vd *e, vd *q, vd d)
{
    *e = vd_add(*e, d);
    *q = vd_fma(d, d, *q);
}

LN_INLINE void acc_step(unsigned f, const acc_p2 *s, vd *e, vd *q, vd x)
{
    if (f & LN_RMS)
        *q = vd_fma(x, x, *q);
    else
        acc_dev(e, q, vd_sub(x, s->vm));
}

/* The 4 * VF_LANES values of pass 2's source at j, VF_LANES/2 at a time,
 * into the four accumulator pairs in turn. */
LN_INLINE void acc_p2_block(unsigned f, acc_p2 *s, const ln_cols *c, size_t j)
{
    vd a, b;
    p2_src_d(f, c, j, &a, &b);
    acc_step(f, s, &s->e0, &s->q0, a);
    acc_step(f, s, &s->e1, &s->q1, b);
    p2_src_d(f, c, j + VF_LANES, &a, &b);
    acc_step(f, s, &s->e2, &s->q2, a);
    acc_step(f, s, &s->e3, &s->q3, b);
    p2_src_d(f, c, j + 2 * VF_LANES, &a, &b);
    acc_step(f, s, &s->e0, &s->q0, a);
    acc_step(f, s, &s->e1, &s->q1, b);
    p2_src_d(f, c, j + 3 * VF_LANES, &a, &b);
    acc_step(f, s, &s->e2, &s->q2, a);
    acc_step(f, s, &s->e3, &s->q3, b);
}

LN_INLINE void acc_p2_vec(unsigned f, acc_p2 *s, const ln_cols *c, size_t j)
{
    vd a, b;
    p2_src_d(f, c, j, &a, &b);
    acc_step(f, s, &s->e0, &s->q0, a);
    acc_step(f, s, &s->e1, &s->q1, b);
}

/* The last r < VF_LANES values at j: lanes past r count as e = 0. */
LN_INLINE void acc_p2_tail(unsigned f, acc_p2 *s, const ln_cols *c, size_t j, size_t r)
{
    vd_mask k0 = vd_first(r < LN_HALF ? r : LN_HALF);
    if (!LN_DYN(f)) {
        const float *p = (const float *)c->x1 + j;
        acc_dev(&s->e2, &s->q2, vd_keep(k0, vd_sub(vd_widen_part(p, k0), s->vm)));
        if (r > LN_HALF) {
            vd_mask k1 = vd_first(r - LN_HALF);
            acc_dev(&s->e3, &s->q3, vd_keep(k1, vd_sub(vd_widen_part(p + LN_HALF, k1), s->vm)));
        }
        return;
    }
    vf v = p2_src_part(f, c, j, r);
    vd lo = vd_from_vh(vf_lo(v)), hi = vd_from_vh(vf_hi(v));
    if (f & LN_RMS) { /* zeros past r add nothing */
        acc_step(f, s, &s->e2, &s->q2, lo);
        acc_step(f, s, &s->e3, &s->q3, hi);
        return;
    }
    acc_dev(&s->e2, &s->q2, vd_keep(k0, vd_sub(lo, s->vm)));
    if (r > LN_HALF)
        acc_dev(&s->e3, &s->q3, vd_keep(vd_first(r - LN_HALF), vd_sub(hi, s->vm)));
}

LN_INLINE void acc_p2_sums(unsigned f, const acc_p2 *s, double *se, double *sq)
{
    *se = (f & LN_RMS) ? 0.0 : vd_hsum(vd_add(vd_add(s->e0, s->e1), vd_add(s->e2, s->e3)));
    *sq = vd_hsum(vd_add(vd_add(s->q0, s->q1), vd_add(s->q2, s->q3)));
}

/* From the first guess m and pass 2's sums: c = E[e], the mean m + c and
 * rstd, in double.  Returns 0 for a row that must take the double path. */
LN_INLINE int acc_finish(unsigned f, double m, double se, double sq, double inv_n, float eps,
                         ln_norm *nm)
{
    if (!(sq <= DBL_MAX))
        return 0;
    double c = (f & LN_RMS) ? 0.0 : se * inv_n;
    double var = sq * inv_n - c * c;
    double rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps);
    nm->m = m;
    nm->c = c;
    nm->rstd = rstd;
    nm->mean_out = (float)(m + c);
    nm->rstd_out = (float)rstd;
    return 1;
}

/* Pass 3's constants, gamma and beta in double, and (run-time kinds) the
 * dtype's gamma for the llama cast. */
typedef struct acc_p3 {
    vd vm, vr, vnc;
    const double *g, *b;
    const void *gl; /* llama: w in the dtype, else NULL */
} acc_p3;

LN_INLINE void acc_p3_init(unsigned f, acc_p3 *p, const ln_norm *nm, const ln_wide *w,
                           const ln_rows *a)
{
    p->vm = vd_set1(nm->m);
    p->vr = vd_set1(nm->rstd);
    p->vnc = vd_set1(-(nm->c * nm->rstd));
    p->g = a->gamma ? w->g : NULL;
    p->b = a->beta ? w->b : NULL;
    p->gl = a->gamma && a->cast == LN_CAST_LLAMA ? a->gamma : NULL;
    (void)f;
}

/* The normalised value of x (doubles): ((x - m) - c) * rstd as
 * fma(x - m, rstd, -c*rstd), c tiny, so the rounding of c*rstd is far
 * below the deviation's; x * rstd for the RMS forms. */
LN_INLINE vd acc_n(unsigned f, const acc_p3 *p, vd x)
{
    if (f & LN_RMS)
        return vd_mul(x, p->vr);
    return vd_fma(vd_sub(x, p->vm), p->vr, p->vnc);
}

/* t * gamma + beta (each when present), gamma and beta from q[j..] with
 * the first cnt lanes of a half (cnt = LN_HALF: all). */
LN_INLINE vd acc_affine(unsigned f, const acc_p3 *p, vd t, size_t j, size_t cnt)
{
#define LD(q) (cnt < LN_HALF ? vd_load_part((q) + j, vd_first(cnt)) : vd_loadu((q) + j))
    const int g = has_gamma(f, p->g), b = has_beta(f, p->b);
    if (g && b)
        return vd_fma(t, LD(p->g), LD(p->b));
    if (g)
        return vd_mul(t, LD(p->g));
    if (b)
        return vd_add(t, LD(p->b));
    return t;
#undef LD
}

/* A half of doubles narrowed for the store: to nearest for binary32, to
 * odd for bf16/f16 (the store then rounds once, see above). */
LN_INLINE vh acc_narrow(unsigned f, vd v)
{
    return (f & LN_NARROW) ? vh_narrow_odd(v) : vh_narrow(v);
}

/* VF_LANES/2 binary32 outputs from x[j..] (binary32 layernorm): one
 * rounding, at the end.  With a mask k only its lanes are read. */
LN_INLINE vh acc_norm_half(unsigned f, const acc_p3 *p, const float *x, size_t j,
                           const vd_mask *k)
{
#define LD(q) (k ? vd_load_part((q) + j, *k) : vd_loadu((q) + j))
    vd xv = k ? vd_widen_part(x + j, *k) : vd_widen(x + j);
    vd t = acc_n(f, p, xv);
    if ((f & LN_GAMMA) && (f & LN_BETA))
        t = vd_fma(t, LD(p->g), LD(p->b));
    else if (f & LN_GAMMA)
        t = vd_mul(t, LD(p->g));
    else if (f & LN_BETA)
        t = vd_add(t, LD(p->b));
    return vh_narrow(t);
#undef LD
}

/* VF_LANES outputs from x[j..] (cnt > 0: its first cnt lanes), as floats
 * the store rounds to the dtype once (run-time kinds). */
LN_INLINE vf acc_norm_dyn(unsigned f, const acc_p3 *p, const void *x, size_t j, size_t cnt)
{
    vf xv = cnt ? ld_part(f, x, j, cnt) : ld(f, x, j);
    vd lo = acc_n(f, p, vd_from_vh(vf_lo(xv))), hi = acc_n(f, p, vd_from_vh(vf_hi(xv)));
    if (p->gl) { /* llama: round(w * round(n)) */
        vf u = rnd(f, vf_join(acc_narrow(f, lo), acc_narrow(f, hi)));
        return vf_mul(u, cnt ? ld_part(f, p->gl, j, cnt) : ld(f, p->gl, j));
    }
    size_t c0 = !cnt ? LN_HALF : cnt < LN_HALF ? cnt : LN_HALF;
    size_t c1 = !cnt ? LN_HALF : cnt > LN_HALF ? cnt - LN_HALF : 0;
    lo = acc_affine(f, p, lo, j, c0);
    hi = acc_affine(f, p, hi, j + LN_HALF, c1);
    return vf_join(acc_narrow(f, lo), acc_narrow(f, hi));
}

LN_INLINE vf acc_norm(unsigned f, const acc_p3 *p, const void *x, size_t j)
{
    if (LN_DYN(f))
        return acc_norm_dyn(f, p, x, j, 0);
    const float *xf = x;
    return vf_join(acc_norm_half(f, p, xf, j, NULL), acc_norm_half(f, p, xf, j + LN_HALF, NULL));
}

/* cnt < VF_LANES outputs at y[j..]: binary32 layernorm in two masked
 * halves, the others through one partial store. */
LN_INLINE void acc_out_part(unsigned f, const acc_p3 *p, const void *x, void *y, size_t j,
                            size_t cnt)
{
    if (LN_DYN(f)) {
        st_part(f, y, j, cnt, acc_norm_dyn(f, p, x, j, cnt));
        return;
    }
    const float *xf = x;
    float *yf = y;
    vd_mask k0 = vd_first(cnt < LN_HALF ? cnt : LN_HALF);
    vh_store_part(yf + j, k0, acc_norm_half(f, p, xf, j, &k0));
    if (cnt > LN_HALF) {
        vd_mask k1 = vd_first(cnt - LN_HALF);
        vh_store_part(yf + j + LN_HALF, k1, acc_norm_half(f, p, xf, j + LN_HALF, &k1));
    }
}

/* Per-shape state: room for gamma and beta widened to double, so that the
 * output pass loads them instead of converting them again on every row
 * (the conversions were a third of its work).  forward writes into it, so
 * each calling thread prepares its own (as lnbench speed does). */
typedef struct accurate_state {
    size_t dim;
    double *gb; /* 2 * dim doubles, 64-byte aligned */
} accurate_state;

static __attribute__((unused)) double *accurate_alloc(size_t dim)
{
    size_t bytes = (2 * dim * sizeof(double) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static __attribute__((unused)) int accurate_prepare(const ln_desc *d, void **state, const char **why)
{
    accurate_state *st = malloc(sizeof *st);
    double *gb = accurate_alloc(d->dim);
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

/* gamma (for the gemma cast fl32(1 + w)) and beta of a's dtype into g and
 * b, as doubles. */
static inline void accurate_widen(const ln_rows *a, double *g, double *b)
{
    const unsigned f = a->dtype == LN_DTYPE_BF16 ? LN_BF16 : a->dtype == LN_DTYPE_F16 ? LN_F16 : 0;
    const int gemma = a->cast == LN_CAST_GEMMA;
    for (size_t j = 0; a->gamma && j < a->dim; j++) {
        float w = f == LN_BF16 ? ld1(LN_BF16, a->gamma, j)
                  : f == LN_F16 ? ld1(LN_F16, a->gamma, j)
                                : ld1(0, a->gamma, j);
        g[j] = gemma ? (double)(1.0f + w) : (double)w;
    }
    for (size_t j = 0; a->beta && j < a->dim; j++)
        b[j] = f == LN_BF16 ? ld1(LN_BF16, a->beta, j)
               : f == LN_F16 ? ld1(LN_F16, a->beta, j)
                             : ld1(0, a->beta, j);
}

static __attribute__((unused)) void accurate_release(void *state)
{
    accurate_state *st = state;
    if (st) {
        free(st->gb);
        free(st);
    }
}
