/*
 * norm_fast.h - the fast algorithm's arithmetic (kernels avx2, avx512,
 * neon): binary32 statistics and output, FMA, for every operation and
 * dtype (bf16/f16 elements are widened exactly to binary32 on load).
 * norm_pipeline.h runs it over the rows on the vocabulary of vec_<isa>.h.
 *
 * LayerNorm, per row, two passes over x (h for the add_ operations), the
 * row staying in L1/L2 between them:
 *   1. The statistics pass, around a first guess m of the mean (the mean of
 *      the row's first 16 elements, norm_pipeline.h's row_guess): d = x - m
 *      (exact on offset rows, Sterbenz), sum(d^2) by FMA and sum(d), the
 *      corrected two-pass of Chan, Golub and LeVeque: mean = m + E[d],
 *      var = E[d^2] - E[d]^2.  E[d] is a fraction of sigma, so little
 *      cancels; a guess farther than sigma from the mean has the row summed
 *      again around the mean found (row_stats).  A constant row has m
 *      exact, every d = 0, and its output is exactly beta.
 *   2. The output pass: y = fma(((x - mh) - ml) * rstd, gamma, beta), mh +
 *      ml the mean as a float pair, rstd = 1/sqrt(var + eps) computed once
 *      per row in double (an exact sqrt and divide, no rsqrt estimate).
 *      Rows with mean^2 <= var (normal-like) have ml folded into the
 *      constant (see fast_out).
 * RMSNorm takes the same two passes with m = 0 and no scale: the first
 * sums x^2, the second computes x * rstd exactly as fma(x - 0, rstd,
 * -0 * rstd).
 * Include from norm_pipeline.h only.
 */

/* The statistics pass of a row around its first guess m: sum(d^2) in
 * q0..q3, sum(d) in e0, e1, d = x - m (RMS: m = 0, d = x exactly).
 * The loops subtract a constant c as x + (-c), the same IEEE operation
 * with x as the operand a vector add may take from memory (a subtract
 * may only take its subtrahend there): one load instruction fewer per
 * vector and per pass. */
typedef struct fast_stats {
    vf neg_m, q0, q1, q2, q3, e0, e1;
    vd ql, qh, el, eh; /* LayerNorm: the sums so far, in double (fast_stats_flush) */
} fast_stats;

LN_INLINE void fast_stats_init(fast_stats *s, float m)
{
    s->neg_m = vf_set1(-m);
    s->q0 = s->q1 = s->q2 = s->q3 = s->e0 = s->e1 = vf_zero();
    s->ql = s->qh = s->el = s->eh = vd_zero();
}

LN_INLINE vf fast_dev(const fast_stats *s, vf x) { return vf_add(x, s->neg_m); }

/* Four vectors of the row.  With 16 vector registers (AVX2) sum(d) takes
 * one accumulator: with more, the fast layernorm loop's accumulators and
 * constants left no register for temporaries, and the compiler spilled
 * accumulators, a store and a load per vector each. */
LN_INLINE void fast_stats_block(fast_stats *s, vf x0, vf x1, vf x2, vf x3)
{
    /* Two deviations at a time, each pair summed at once: fewer values
     * live together (avx2 at 64 x 768: 2.37 -> 2.34 instructions per
     * element, the same bits). */
    vf d0 = fast_dev(s, x0), d1 = fast_dev(s, x1);
    s->q0 = vf_fma(d0, d0, s->q0);
    s->q1 = vf_fma(d1, d1, s->q1);
    const vf e01 = vf_add(d0, d1);
    vf d2 = fast_dev(s, x2), d3 = fast_dev(s, x3);
    s->q2 = vf_fma(d2, d2, s->q2);
    s->q3 = vf_fma(d3, d3, s->q3);
#if VEC_REGS >= 32
    s->e0 = vf_add(s->e0, e01);
    s->e1 = vf_add(s->e1, vf_add(d2, d3));
#else
    s->e0 = vf_add(s->e0, vf_add(e01, vf_add(d2, d3)));
#endif
}

/* LayerNorm's float sums join double ones every LN_FLUSH_ELEMS elements
 * of the row (and at its end): eight terms in each lane of each of the
 * four accumulators.  The guess m lies a fraction of sigma from the mean
 * (row_guess), so sum(d) drifts by n E[d], and long float sums would round
 * that drift, not just the noise; and a float sum of squares far larger
 * than each square rounds every addition the same way on rows whose
 * deviations take few values (offset40000: x - m in {-1.56, -0.56, 0.44,
 * 1.44}; their squares' roundings all go the same way, and a long float
 * sum of them drifted by -6 u of the variance, 3 ulp in every output).
 * avx2 and avx512 at 64 x 4097, mean error against float sums: offset40000
 * 1.81 -> 0.52 ulp, normal 1.24 -> 1.13 ulp; with 32 terms per lane (avx2)
 * offset40000 was back at 1.0 ulp.  Short float sums also made scaling the
 * deviations by 1/phi (full mantissas, unbiased roundings) unnecessary:
 * without it offset40000 went from 54 to 70 % correctly rounded, and the
 * statistics pass has one multiply fewer per vector. */
#define LN_FLUSH_ELEMS (32 * VF_LANES)
LN_INLINE void fast_stats_flush(fast_stats *s)
{
    const vf q = vf_add(vf_add(s->q0, s->q1), vf_add(s->q2, s->q3));
    const vf e = vf_add(s->e0, s->e1);
    s->ql = vd_add(s->ql, vd_from_vh(vf_lo(q)));
    s->qh = vd_add(s->qh, vd_from_vh(vf_hi(q)));
    s->el = vd_add(s->el, vd_from_vh(vf_lo(e)));
    s->eh = vd_add(s->eh, vd_from_vh(vf_hi(e)));
    s->q0 = s->q1 = s->q2 = s->q3 = s->e0 = s->e1 = vf_zero();
}

/* RMSNorm's steady loops: only sum(x^2) (d = x, and sum(d) unused). */
LN_INLINE void fast_stats_sq_block(fast_stats *s, vf x0, vf x1, vf x2, vf x3)
{
    s->q0 = vf_fma(x0, x0, s->q0);
    s->q1 = vf_fma(x1, x1, s->q1);
    s->q2 = vf_fma(x2, x2, s->q2);
    s->q3 = vf_fma(x3, x3, s->q3);
}

LN_INLINE void fast_stats_vec(fast_stats *s, vf x)
{
    vf d = fast_dev(s, x);
    s->q0 = vf_fma(d, d, s->q0);
    s->e0 = vf_add(s->e0, d);
}

/* The row's last lanes, those of k (the others would add d = -m). */
LN_INLINE void fast_stats_tail(fast_stats *s, vf x, vf_mask k)
{
    vf d = fast_dev(s, x);
    s->q1 = vf_fma_part(d, d, s->q1, k);
    s->e1 = vf_add_part(s->e1, k, d);
}

/* flushed: the sums moved to double during the pass (LayerNorm, the
 * loop's own decision); RMSNorm's stay in float (sum(x^2) has no drift to
 * lose). */
LN_INLINE void fast_stats_total(fast_stats *s, int flushed, double *sdev, double *ssq)
{
    if (!flushed) {
        *sdev = vf_hsum(vf_add(s->e0, s->e1));
        *ssq = vf_hsum(vf_add(vf_add(s->q0, s->q1), vf_add(s->q2, s->q3)));
        return;
    }
    fast_stats_flush(s);
    *sdev = vd_hsum(vd_add(s->el, s->eh));
    *ssq = vd_hsum(vd_add(s->ql, s->qh));
}

/* LayerNorm: from a row's first guess m and its statistics pass's sums, the
 * mean as a float pair mh + ml and rstd.  Returns 0 when the sums are not
 * finite (NaN/Inf in the row, or squares beyond binary32's range): the row
 * then takes the double path. */
LN_INLINE int fast_finish(float m, double sdev, double ssq, double inv_n, float eps,
                          ln_norm *nm)
{
    if (!(ssq <= FLT_MAX) || !(fabs(sdev) <= FLT_MAX))
        return 0;
    /* var = E[d^2] - E[d]^2: E[d] is below sigma (else far, see
     * row_stats), so at most half of E[d^2] cancels. */
    double c = sdev * inv_n; /* E[d] */
    double var = ssq * inv_n - c * c;
    float rstd = (float)(1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps));
    /* The mean, now to a few ulps of sigma, as a float pair mh + ml.  When
     * |mean| <= sigma (normal-like rows) a single float mean costs no more
     * than those ulps and the output pass folds it into one constant (!split);
     * offset rows (and constant rows, sigma 0) keep the low part. */
    double mean = (double)m + c;
    float mh = (float)mean, ml = 0.0f;
    nm->far = c * c > var; /* see row_stats */
    nm->split = mean * mean > var;
    if (nm->split)
        ml = (float)(mean - (double)mh);
    nm->mh = mh;
    nm->ml = ml;
    nm->rstd_f = rstd;
    nm->mean_out = mh;
    nm->rstd_out = rstd;
    return 1;
}

/* RMSNorm: rstd from sum(x^2); 0 when the squares left binary32's range. */
LN_INLINE int fast_finish_rms(double ssq, double inv_n, float eps, ln_norm *nm)
{
    if (!(ssq <= FLT_MAX))
        return 0;
    float rstd = (float)(1.0 / sqrt(ssq * inv_n + (double)eps));
    nm->mh = nm->ml = nm->mean_out = 0.0f;
    nm->split = nm->far = 0;
    nm->rstd_f = nm->rstd_out = rstd;
    return 1;
}

/* The output pass's constants: v = fma(x + neg_sub, rstd, add), neg_sub =
 * -sub. */
typedef struct fast_coef {
    vf neg_sub, rstd, add;
} fast_coef;

LN_INLINE ln_coef fast_coef_of(const ln_norm *nm)
{
    /* split (offset and constant rows, |mean| > sigma): ((x - mh) - ml) *
     * rstd as fma(x - mh, rstd, -ml*rstd); ml is below half an ulp of mh,
     * so rounding ml*rstd costs nothing visible, and x - mh is exact near
     * the mean (Sterbenz), which keeps constant rows exactly beta.
     * Otherwise (|mean| <= sigma) (x - mh) * rstd as fma(x - 0, rstd,
     * -mh*rstd): x*rstd is exact inside the fma and -mh*rstd is rounded
     * once at |mean|/sigma <= 1, no worse than rounding x - mh (measured:
     * mean error 0.97 -> 0.95 ulp on normal rows).  An all-zero row lands
     * here and still gives fma(0, gamma, beta) = beta.  The products are
     * rounded to binary32 here; ln_coef carries them exactly. */
    const float r = nm->rstd_f;
    const ln_coef k = {nm->split ? nm->mh : 0.0f, r, nm->split ? -(nm->ml * r) : -(nm->mh * r)};
    return k;
}

LN_INLINE void fast_coef_init(fast_coef *p, ln_coef k)
{
    p->neg_sub = vf_set1(-(float)k.sub); /* -0 when sub is 0: x + -0 = x */
    p->rstd = vf_set1((float)k.scale);
    p->add = vf_set1((float)k.add);
}

/* The normalised vector of x, then the cast's gamma w and beta b (the
 * lanes of x's elements; each used only when present).  llama rounds the
 * normalised value to the dtype before the product with w (in binary32,
 * exact for bf16 and f16 operands); gemma multiplies by 1 + w formed in
 * binary32. */
LN_INLINE vf fast_apply(unsigned f, const fast_coef *p, ln_cast cast, vf x, int has_w, vf w,
                        int has_b, vf b)
{
    /* RMS (LN_RMS): fma(x - 0, rstd, -0) is x * rstd. */
    vf v = (f & LN_RMS) ? vf_mul(x, p->rstd) : vf_fma(vf_add(x, p->neg_sub), p->rstd, p->add);
    if (has_w) {
        if (cast == LN_CAST_GEMMA)
            w = vf_add(w, vf_set1(1.0f));
        else if (cast == LN_CAST_LLAMA)
            v = rnd(f, v);
        return has_b ? vf_fma(v, w, b) : vf_mul(v, w);
    }
    return has_b ? vf_add(v, b) : v;
}

/* fast_apply on elements j.. of a row (cnt > 0: only the first cnt
 * lanes), gamma and beta NULL when absent. */
LN_INLINE vf fast_out(unsigned f, const fast_coef *p, ln_cast cast, vf x, const void *gamma,
                      const void *beta, size_t j, size_t cnt)
{
    return fast_apply(f, p, cast, x, gamma != NULL, gamma ? ld_at(f, gamma, j, cnt) : vf_zero(),
                      beta != NULL, beta ? ld_at(f, beta, j, cnt) : vf_zero());
}
