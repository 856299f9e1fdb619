/*
 * layernorm_fast.h - the fast algorithm's arithmetic (kernels avx2, avx512,
 * neon): binary32 statistics and output, FMA.  layernorm_rows.h runs it over
 * the rows, pipelined, on the vocabulary of vec_<isa>.h.
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
 * e0, e1, d = DEV_SCALE * (x - m). */
typedef struct fast_p2 {
    vf vm, vs, q0, q1, q2, q3, e0, e1;
} fast_p2;

LN_INLINE void fast_p2_init(fast_p2 *s, float m)
{
    s->vm = vf_set1(m);
    s->vs = vf_set1(DEV_SCALE);
    s->q0 = s->q1 = s->q2 = s->q3 = s->e0 = s->e1 = vf_zero();
}

LN_INLINE vf fast_dev(const fast_p2 *s, vf x) { return vf_mul(vf_sub(x, s->vm), s->vs); }

/* The 4 * VF_LANES floats at p. */
LN_INLINE void fast_p2_block(fast_p2 *s, const float *p)
{
    vf d0 = fast_dev(s, vf_loadu(p)), d1 = fast_dev(s, vf_loadu(p + VF_LANES));
    vf d2 = fast_dev(s, vf_loadu(p + 2 * VF_LANES)), d3 = fast_dev(s, vf_loadu(p + 3 * VF_LANES));
    s->q0 = vf_fma(d0, d0, s->q0);
    s->q1 = vf_fma(d1, d1, s->q1);
    s->q2 = vf_fma(d2, d2, s->q2);
    s->q3 = vf_fma(d3, d3, s->q3);
    s->e0 = vf_add(s->e0, vf_add(d0, d1));
    s->e1 = vf_add(s->e1, vf_add(d2, d3));
}

LN_INLINE void fast_p2_vec(fast_p2 *s, const float *p)
{
    vf d = fast_dev(s, vf_loadu(p));
    s->q0 = vf_fma(d, d, s->q0);
    s->e0 = vf_add(s->e0, d);
}

/* The last r < VF_LANES floats at p. */
LN_INLINE void fast_p2_tail(fast_p2 *s, const float *p, size_t r)
{
    vf_mask k = vf_first(r);
    vf d = fast_dev(s, vf_load_part(p, k));
    s->q1 = vf_fma_part(d, d, s->q1, k);
    s->e1 = vf_add_part(s->e1, k, d);
}

LN_INLINE void fast_p2_sums(const fast_p2 *s, double *sdev, double *ssq)
{
    *sdev = vf_hsum(vf_add(s->e0, s->e1));
    *ssq = vf_hsum(vf_add(vf_add(s->q0, s->q1), vf_add(s->q2, s->q3)));
}

/* From a row's first guess m and its pass-2 sums (floats), the mean as a
 * float pair mh + ml and rstd.  Returns 0 when the sums are not finite
 * (NaN/Inf in the row, or squares beyond binary32's range): the row then
 * takes the double path. */
LN_INLINE int fast_finish(float m, double sdev, double ssq, double inv_n, float eps,
                          ln_norm *nm)
{
    if (!(ssq <= FLT_MAX) || !(fabs(sdev) <= FLT_MAX))
        return 0;
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

/* Pass 3's constants: the float pair, rstd, and gamma and beta as given. */
typedef struct fast_p3 {
    vf vh, vl, vr;
    const float *g, *b;
} fast_p3;

LN_INLINE void fast_p3_init(unsigned f, fast_p3 *p, const ln_norm *nm, const ln_f32_rows *a)
{
    const float mh = nm->mh, ml = nm->ml, rstd = nm->rstd_f;
    p->vh = vf_set1(mh);
    p->vl = vf_set1(f & LN_SPLIT ? -(ml * rstd) : -(mh * rstd));
    p->vr = vf_set1(rstd);
    p->g = a->gamma;
    p->b = a->beta;
}

/* VF_LANES outputs from x[j..]; with a mask k only its lanes are read. */
LN_INLINE vf fast_norm(unsigned f, const fast_p3 *p, const float *x, size_t j, const vf_mask *k)
{
#define LD(q) (k ? vf_load_part((q) + j, *k) : vf_loadu((q) + j))
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
    vf v = (f & LN_SPLIT) ? vf_fma(vf_sub(xv, p->vh), p->vr, p->vl) : vf_fma(xv, p->vr, p->vl);
    if ((f & LN_GAMMA) && (f & LN_BETA))
        return vf_fma(v, LD(p->g), LD(p->b));
    if (f & LN_GAMMA)
        return vf_mul(v, LD(p->g));
    if (f & LN_BETA)
        return vf_add(v, LD(p->b));
    return v;
#undef LD
}

/* cnt <= VF_LANES outputs at y[j..]. */
LN_INLINE void fast_out_part(unsigned f, const fast_p3 *p, const float *x, float *y, size_t j,
                             size_t cnt)
{
    vf_mask k = vf_first(cnt);
    vf_store_part(y + j, k, fast_norm(f, p, x, j, &k));
}
