/*
 * layernorm_accurate.h - the accurate algorithm's arithmetic (kernels
 * avx2_accurate, avx512_accurate, neon_accurate): LayerNorm within 1 ulp,
 * statistics and the normalisation in double, one rounding to binary32 at
 * the end.  layernorm_rows.h runs it over the rows, pipelined as the fast
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
 * q0..q3, e = x - m in double. */
typedef struct acc_p2 {
    vd vm, e0, e1, e2, e3, q0, q1, q2, q3;
} acc_p2;

LN_INLINE void acc_p2_init(acc_p2 *s, double m)
{
    s->vm = vd_set1(m);
    s->e0 = s->e1 = s->e2 = s->e3 = s->q0 = s->q1 = s->q2 = s->q3 = vd_zero();
}

LN_INLINE void acc_step(vd *e, vd *q, vd d)
{
    *e = vd_add(*e, d);
    *q = vd_fma(d, d, *q);
}

#define LN_HALF (VF_LANES / 2)

/* The 4 * VF_LANES floats at p, VF_LANES/2 at a time, into the four
 * accumulator pairs in turn. */
LN_INLINE void acc_p2_block(acc_p2 *s, const float *p)
{
    acc_step(&s->e0, &s->q0, vd_sub(vd_widen(p), s->vm));
    acc_step(&s->e1, &s->q1, vd_sub(vd_widen(p + LN_HALF), s->vm));
    acc_step(&s->e2, &s->q2, vd_sub(vd_widen(p + 2 * LN_HALF), s->vm));
    acc_step(&s->e3, &s->q3, vd_sub(vd_widen(p + 3 * LN_HALF), s->vm));
    acc_step(&s->e0, &s->q0, vd_sub(vd_widen(p + 4 * LN_HALF), s->vm));
    acc_step(&s->e1, &s->q1, vd_sub(vd_widen(p + 5 * LN_HALF), s->vm));
    acc_step(&s->e2, &s->q2, vd_sub(vd_widen(p + 6 * LN_HALF), s->vm));
    acc_step(&s->e3, &s->q3, vd_sub(vd_widen(p + 7 * LN_HALF), s->vm));
}

LN_INLINE void acc_p2_vec(acc_p2 *s, const float *p)
{
    acc_step(&s->e0, &s->q0, vd_sub(vd_widen(p), s->vm));
    acc_step(&s->e1, &s->q1, vd_sub(vd_widen(p + LN_HALF), s->vm));
}

/* The last r < VF_LANES floats at p: lanes past r count as e = 0. */
LN_INLINE void acc_p2_tail(acc_p2 *s, const float *p, size_t r)
{
    vd_mask k0 = vd_first(r < LN_HALF ? r : LN_HALF);
    acc_step(&s->e2, &s->q2, vd_keep(k0, vd_sub(vd_widen_part(p, k0), s->vm)));
    if (r > LN_HALF) {
        vd_mask k1 = vd_first(r - LN_HALF);
        acc_step(&s->e3, &s->q3, vd_keep(k1, vd_sub(vd_widen_part(p + LN_HALF, k1), s->vm)));
    }
}

LN_INLINE void acc_p2_sums(const acc_p2 *s, double *se, double *sq)
{
    *se = vd_hsum(vd_add(vd_add(s->e0, s->e1), vd_add(s->e2, s->e3)));
    *sq = vd_hsum(vd_add(vd_add(s->q0, s->q1), vd_add(s->q2, s->q3)));
}

/* From the first guess m and pass 2's sums: c = E[e], the mean m + c and
 * rstd, in double.  Returns 0 for a row that must take the double path. */
LN_INLINE int acc_finish(double m, double se, double sq, double inv_n, float eps, ln_norm *nm)
{
    if (!(sq <= DBL_MAX))
        return 0;
    double c = se * inv_n;
    double var = sq * inv_n - c * c;
    double rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps);
    nm->m = m;
    nm->c = c;
    nm->rstd = rstd;
    nm->mean_out = (float)(m + c);
    nm->rstd_out = (float)rstd;
    return 1;
}

/* Pass 3's constants, and gamma and beta in double. */
typedef struct acc_p3 {
    vd vm, vr, vnc;
    const double *g, *b;
} acc_p3;

LN_INLINE void acc_p3_init(acc_p3 *p, const ln_norm *nm, const ln_wide *w)
{
    p->vm = vd_set1(nm->m);
    p->vr = vd_set1(nm->rstd);
    p->vnc = vd_set1(-(nm->c * nm->rstd));
    p->g = w->g;
    p->b = w->b;
}

/* VF_LANES/2 outputs (as floats) from x[j..]: one rounding, at the end.
 * With a mask k only its lanes are read. */
LN_INLINE vh acc_norm_half(unsigned f, const acc_p3 *p, const float *x, size_t j,
                           const vd_mask *k)
{
#define LD(q) (k ? vd_load_part((q) + j, *k) : vd_loadu((q) + j))
    /* ((x - m) - c) * rstd as fma(x - m, rstd, -c*rstd): c is tiny, so the
     * rounding of c*rstd is far below the deviation's. */
    vd xv = k ? vd_widen_part(x + j, *k) : vd_widen(x + j);
    vd t = vd_fma(vd_sub(xv, p->vm), p->vr, p->vnc);
    if ((f & LN_GAMMA) && (f & LN_BETA))
        t = vd_fma(t, LD(p->g), LD(p->b));
    else if (f & LN_GAMMA)
        t = vd_mul(t, LD(p->g));
    else if (f & LN_BETA)
        t = vd_add(t, LD(p->b));
    return vh_narrow(t);
#undef LD
}

LN_INLINE vf acc_norm(unsigned f, const acc_p3 *p, const float *x, size_t j)
{
    return vf_join(acc_norm_half(f, p, x, j, NULL), acc_norm_half(f, p, x, j + LN_HALF, NULL));
}

/* cnt <= VF_LANES outputs at y[j..], in two masked halves. */
LN_INLINE void acc_out_part(unsigned f, const acc_p3 *p, const float *x, float *y, size_t j,
                            size_t cnt)
{
    vd_mask k0 = vd_first(cnt < LN_HALF ? cnt : LN_HALF);
    vh_store_part(y + j, k0, acc_norm_half(f, p, x, j, &k0));
    if (cnt > LN_HALF) {
        vd_mask k1 = vd_first(cnt - LN_HALF);
        vh_store_part(y + j + LN_HALF, k1, acc_norm_half(f, p, x, j + LN_HALF, &k1));
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

static __attribute__((unused)) void accurate_release(void *state)
{
    accurate_state *st = state;
    if (st) {
        free(st->gb);
        free(st);
    }
}
