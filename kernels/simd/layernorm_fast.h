/*
 * layernorm_fast.h - the fast algorithm's arithmetic (kernels avx2, avx512,
 * neon): binary32 statistics and arithmetic, FMA, one rounding to the dtype
 * at the store.  layernorm_rows.h runs it over the rows, pipelined, on the
 * vocabulary of vec_<isa>.h.
 *
 * Per row, three passes over x, the row staying in L1/L2 between them:
 *   1. m = x0 + sum(x - x0) / n, four accumulators (layernorm_rows.h).
 *      Shifting by the row's first element makes a constant row sum to
 *      exactly 0, so m = x0 exactly and the output is exactly beta; on an
 *      offset row (x ~ 1e4 +- 1) every x - x0 is exact (Sterbenz) and the
 *      sum carries errors of the size of sigma, not of the offset.
 *   2. d = x - m (exact on offset rows): sum(d^2) by FMA and sum(d), the
 *      corrected two-pass of Chan, Golub and LeVeque: mean = m + E[d],
 *      var = E[d^2] - E[d]^2, nothing cancelling since E[d] is a few ulps
 *      of sigma.
 *   3. y = fma(((x - mh) - ml) * rstd, gamma, beta), mh + ml the mean as a
 *      float pair, rstd = 1/sqrt(var + eps) computed once per row in double
 *      (an exact sqrt and divide, no rsqrt estimate).  Rows with mean^2 <=
 *      var (normal-like) take fma(x, rstd, -mh*rstd) instead: one operation
 *      fewer per element, and no less accurate (see fast_norm).
 * The RMS forms: pass 2 sums x^2 (exact products for bf16 and f16 inputs)
 * in four accumulators, pass 3 is x * rstd * w.  The casts: llama rounds
 * x * rstd to the dtype before the product with w (in binary32, exact for
 * bf16 and f16 operands); gemma forms 1 + w in binary32.
 * Include from layernorm_rows.h only.
 */

/* Pass 2 sums the scaled deviations s*(x - m), s = 1/phi (24 significant
 * bits), and divides s out in double at the end.  Why: on offset rows
 * (x ~ 1e4, ulp 2^-10) every x - m is a multiple of 2^-10 with ~11 bits,
 * so its square k^2 2^-20 has k^2 = 1 mod 8 for odd k and lands just above
 * the accumulator's grid: every such square rounded down, a systematic
 * -6 u bias in the variance (measured; 3 ulp in every output).  The scaled
 * deviations have full mantissas, their roundings are unbiased, and a
 * constant row still sums exactly 0. */
#define DEV_SCALE 0.618034005f

/* Pass 2 of a row around its first guess m: sum(d^2) in q0..q3, sum(d) in
 * e0, e1, d = DEV_SCALE * (x - m); for the RMS forms sum(x^2) in q0..q3. */
typedef struct fast_p2 {
    vf vm, vs, q0, q1, q2, q3, e0, e1;
} fast_p2;

LN_INLINE void fast_p2_init(unsigned f, fast_p2 *s, float m)
{
    (void)f;
    s->vm = vf_set1(m);
    s->vs = vf_set1(DEV_SCALE);
    s->q0 = s->q1 = s->q2 = s->q3 = s->e0 = s->e1 = vf_zero();
}

LN_INLINE vf fast_dev(const fast_p2 *s, vf x) { return vf_mul(vf_sub(x, s->vm), s->vs); }

/* The 4 * VF_LANES values of pass 2's source at j. */
LN_INLINE void fast_p2_block(unsigned f, fast_p2 *s, const ln_cols *c, size_t j)
{
    vf x0 = p2_src(f, c, j), x1 = p2_src(f, c, j + VF_LANES);
    vf x2 = p2_src(f, c, j + 2 * VF_LANES), x3 = p2_src(f, c, j + 3 * VF_LANES);
    if (f & LN_RMS) {
        s->q0 = vf_fma(x0, x0, s->q0);
        s->q1 = vf_fma(x1, x1, s->q1);
        s->q2 = vf_fma(x2, x2, s->q2);
        s->q3 = vf_fma(x3, x3, s->q3);
        return;
    }
    vf d0 = fast_dev(s, x0), d1 = fast_dev(s, x1), d2 = fast_dev(s, x2), d3 = fast_dev(s, x3);
    s->q0 = vf_fma(d0, d0, s->q0);
    s->q1 = vf_fma(d1, d1, s->q1);
    s->q2 = vf_fma(d2, d2, s->q2);
    s->q3 = vf_fma(d3, d3, s->q3);
    s->e0 = vf_add(s->e0, vf_add(d0, d1));
    s->e1 = vf_add(s->e1, vf_add(d2, d3));
}

LN_INLINE void fast_p2_vec(unsigned f, fast_p2 *s, const ln_cols *c, size_t j)
{
    vf x = p2_src(f, c, j);
    if (f & LN_RMS) {
        s->q0 = vf_fma(x, x, s->q0);
        return;
    }
    vf d = fast_dev(s, x);
    s->q0 = vf_fma(d, d, s->q0);
    s->e0 = vf_add(s->e0, d);
}

/* The last r < VF_LANES values at j. */
LN_INLINE void fast_p2_tail(unsigned f, fast_p2 *s, const ln_cols *c, size_t j, size_t r)
{
    vf_mask k = vf_first(r);
    vf x = p2_src_part(f, c, j, r);
    if (f & LN_RMS) {
        s->q1 = vf_fma(x, x, s->q1); /* zeros past r add nothing */
        return;
    }
    vf d = fast_dev(s, x);
    s->q1 = vf_fma_part(d, d, s->q1, k);
    s->e1 = vf_add_part(s->e1, k, d);
}

LN_INLINE void fast_p2_sums(unsigned f, const fast_p2 *s, double *sdev, double *ssq)
{
    *sdev = (f & LN_RMS) ? 0.0 : vf_hsum(vf_add(s->e0, s->e1));
    *ssq = vf_hsum(vf_add(vf_add(s->q0, s->q1), vf_add(s->q2, s->q3)));
}

/* From a row's first guess m and its pass-2 sums (floats), the mean as a
 * float pair mh + ml and rstd.  Returns 0 when the sums are not finite
 * (NaN/Inf in the row, or squares beyond binary32's range): the row then
 * takes the double path. */
LN_INLINE int fast_finish(unsigned f, float m, double sdev, double ssq, double inv_n, float eps,
                          ln_norm *nm)
{
    if (!(ssq <= FLT_MAX) || !(fabs(sdev) <= FLT_MAX))
        return 0;
    if (f & LN_RMS) {
        float rstd = (float)(1.0 / sqrt(ssq * inv_n + (double)eps));
        nm->mh = nm->ml = 0.0f;
        nm->split = 0;
        nm->rstd_f = nm->rstd_out = rstd;
        nm->mean_out = 0.0f;
        return 1;
    }
    /* var = E[d^2] - E[d]^2: E[d] is tiny next to sigma (pass 1 got the
     * mean right to a few ulps of sigma), so nothing cancels. */
    const double inv_s = 1.0 / (double)DEV_SCALE;
    double cs = sdev * inv_n; /* E[s d] */
    double var = (ssq * inv_n - cs * cs) * (inv_s * inv_s);
    double c = cs * inv_s;
    float rstd = (float)(1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps));
    /* The mean, now to a few ulps of sigma, as a float pair mh + ml.  When
     * |mean| <= sigma (normal-like rows) a single float mean costs no more
     * than those ulps and pass 3 takes the one-fma form (!split); offset
     * rows (and constant rows, sigma 0) keep the low part. */
    double mean = (double)m + c;
    float mh = (float)mean, ml = 0.0f;
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

/* Pass 3's constants: the float pair, rstd, gamma and beta as given, and
 * (run-time kinds) the cast. */
typedef struct fast_p3 {
    vf vh, vl, vr;
    const void *g, *b;
    int llama, gemma;
} fast_p3;

LN_INLINE void fast_p3_init(unsigned f, fast_p3 *p, const ln_norm *nm, const ln_rows *a)
{
    const float mh = nm->mh, ml = nm->ml, rstd = nm->rstd_f;
    p->vh = vf_set1(mh);
    p->vl = vf_set1(f & LN_SPLIT ? -(ml * rstd) : -(mh * rstd));
    p->vr = vf_set1(rstd);
    p->g = a->gamma;
    p->b = a->beta;
    p->llama = a->gamma && a->cast == LN_CAST_LLAMA;
    p->gemma = a->gamma && a->cast == LN_CAST_GEMMA;
}

/* VF_LANES outputs from x[j..] as floats; with cnt > 0 only the first cnt
 * lanes are read. */
LN_INLINE vf fast_norm(unsigned f, const fast_p3 *p, const void *x, size_t j, size_t cnt)
{
#define LD(q) (cnt ? ld_part(f, (q), j, cnt) : ld(f, (q), j))
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
    vf xv = LD(x);
    vf v;
    if (f & LN_RMS)
        v = vf_mul(xv, p->vr);
    else if (f & LN_SPLIT)
        v = vf_fma(vf_sub(xv, p->vh), p->vr, p->vl);
    else
        v = vf_fma(xv, p->vr, p->vl);
    const int g = has_gamma(f, p->g), b = has_beta(f, p->b);
    if (g) {
        vf w = LD(p->g);
        if (LN_DYN(f) && p->gemma)
            w = vf_add(w, vf_set1(1.0f));
        if (LN_DYN(f) && p->llama)
            v = rnd(f, v);
        return b ? vf_fma(v, w, LD(p->b)) : vf_mul(v, w);
    }
    return b ? vf_add(v, LD(p->b)) : v;
#undef LD
}
