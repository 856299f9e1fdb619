/*
 * norm_accurate.h - the accurate algorithm's arithmetic (kernels
 * avx2_accurate, avx512_accurate, neon_accurate): every operation within
 * 1 ulp, statistics and the normalisation in double, one rounding to the
 * dtype at the end.  norm_pipeline.h runs it over the rows, pipelined as
 * the fast one, on the vocabulary of vec_<isa>.h.
 *
 * Why it stays within 1 ulp: every binary32 is exact in double, the double
 * sums of n <= 12288 terms lose ~2^-40 relatively, and the deviation
 * x - mean is taken in double against a mean good to ~2^-45 sigma, so
 * (x - mean) * rstd * gamma + beta reaches the final rounding (0.5 ulp) with
 * an error near 2^-30 ulp - unless gamma * xhat and beta cancel to within
 * ~2^-25 of each other, which no standard distribution does on its rows.
 *
 * Per row, two passes, the row staying in L1/L2 between them:
 *   1. The statistics pass, around a first guess m of the mean (0, or
 *      after a row whose mean lay farther than sigma from 0 the mean of
 *      the row's first 16 elements: norm_pipeline.h's first_guess_zero):
 *      e = x - m in double, sum(e) and sum(e^2); mean = m + E[e] and
 *      var = E[e^2] - E[e]^2 (the corrected two-pass: E[e] is below sigma,
 *      or the row is summed again around the mean found, see row_stats).
 *      A constant row gives e = 0 exactly.
 *   2. The output pass: y = fma(((x - m) - E[e]) * rstd, gamma, beta) in
 *      double, rounded once.  x - m is exact for offset rows (Sterbenz),
 *      and (x - m) - E[e] carries an error of 2^-53 of itself, not of the
 *      mean: subtracting a rounded double mean would cost up to ~2^-53
 *      |mean| and break the 1-ulp promise where gamma*xhat + beta is small.
 * RMSNorm takes the same two passes with m = c = 0: sum(x^2), then
 * x * rstd.
 * VF_LANES/2 floats are converted to as many doubles at a time.  Those
 * conversions bound the loops: on the AMD EPYC Zen 4 VM a zmm cvtps2pd or
 * cvtpd2ps took about a TSC cycle each in a loop of nothing else, six of
 * them per 16 elements against about 11 TSC cycles per 16 for the whole
 * step at 64 x 768.  Keeping the statistics pass's doubles in a scratch
 * row for the next step's output pass (two conversions fewer per 16, the
 * same bits) gained avx512_accurate 10-16 % in process at 64 x 768 and 64
 * x 1024, avx2_accurate nothing at 768 and -6 % at 1024, and in
 * alternated lnbench speed runs nothing at 64 rows and a loss at 2048 x
 * 768 (avx512_accurate 25.8 -> 21.4 GB/s): not adopted.  Nor was summing
 * e as fma(d, 1, e) (the same rounding as e + d, off the pipes the adds
 * share with the conversions): no change.  A row whose
 * double sums are not finite holds NaN or Inf: ln_row_wide sorts out
 * which.  bf16/f16 outputs narrow the
 * doubles to floats rounded to odd (or to nearest where that is the same,
 * see acc_narrow), so that the store's rounding to the dtype is the one
 * rounding of the double value (13 or more spare bits).
 * Include from norm_pipeline.h only.
 */

/* The statistics pass of a row around its first guess m: sum(e) in
 * e0..e3, sum(e^2) in q0..q3, e = x - m in double (exact: m is a float, or
 * for short rows and the add_ ops a mean of a few floats in double, with
 * few more bits than they). */
typedef struct acc_stats {
    vd vm, e0, e1, e2, e3, q0, q1, q2, q3;
} acc_stats;

LN_INLINE void acc_stats_init(acc_stats *s, double m)
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

/* A vector of the row as two halves of doubles, lo and hi (see
 * norm_pipeline.h's ld_halves). */
typedef struct vd2 {
    vd lo, hi;
} vd2;

/* One vector of the row, VF_LANES/2 elements at a time, into accumulator
 * pairs 0 and 1 (odd: 2 and 3, the odd vectors of a block of four).  With
 * 16 vector registers (AVX2) odd vectors take pairs 0 and 1 too: eight
 * accumulators beside the output pass's constants were spilled, a store and
 * a load per step each (sums of doubles lose nothing visible to the fewer
 * chains).  The block's loop reads each vector just before its steps,
 * which keeps the temporaries few. */
LN_INLINE void acc_stats_vec(unsigned f, acc_stats *s, vd2 x, int odd)
{
    const vd lo = (f & LN_ZERO_GUESS) ? x.lo : vd_sub(x.lo, s->vm);
    const vd hi = (f & LN_ZERO_GUESS) ? x.hi : vd_sub(x.hi, s->vm);
    if (odd && VEC_REGS >= 32) {
        acc_step(&s->e2, &s->q2, lo);
        acc_step(&s->e3, &s->q3, hi);
    } else {
        acc_step(&s->e0, &s->q0, lo);
        acc_step(&s->e1, &s->q1, hi);
    }
}

/* RMSNorm's steady loops: only sum(x^2) (e = x, and sum(e) unused), one
 * vector read just before its steps, as in acc_stats_vec; four accumulators
 * fit every ISA's registers, so odd vectors keep q2 and q3 everywhere. */
LN_INLINE void acc_stats_sq_vec(acc_stats *s, vd2 x, int odd)
{
    if (odd) {
        s->q2 = vd_fma(x.lo, x.lo, s->q2);
        s->q3 = vd_fma(x.hi, x.hi, s->q3);
    } else {
        s->q0 = vd_fma(x.lo, x.lo, s->q0);
        s->q1 = vd_fma(x.hi, x.hi, s->q1);
    }
}

/* The row's last r < VF_LANES elements: lanes past r would add e = -m,
 * so they are kept out. */
LN_INLINE void acc_stats_tail(acc_stats *s, vd2 x, size_t r)
{
    acc_step(&s->e2, &s->q2, vd_keep(vd_first(r < LN_HALF ? r : LN_HALF), vd_sub(x.lo, s->vm)));
    if (r > LN_HALF)
        acc_step(&s->e3, &s->q3, vd_keep(vd_first(r - LN_HALF), vd_sub(x.hi, s->vm)));
}

LN_INLINE void acc_stats_total(const acc_stats *s, double *se, double *sq)
{
    *se = vd_hsum(vd_add(vd_add(s->e0, s->e1), vd_add(s->e2, s->e3)));
    *sq = vd_hsum(vd_add(vd_add(s->q0, s->q1), vd_add(s->q2, s->q3)));
}

/* From the first guess m and the statistics pass's sums: c = E[e], the mean m + c and
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
    nm->far = c * c > var; /* see row_stats */
    nm->zero_far = (m + c) * (m + c) > var; /* see first_guess_zero */
    nm->rstd = rstd;
    nm->mean_out = (float)(m + c);
    nm->rstd_out = (float)rstd;
    return 1;
}

/* gamma and beta widened to double once per call (see accurate_state):
 * g = gamma (for the gemma cast fl32(1 + gamma)), or 1 when absent; b =
 * beta, or -0 when absent.  Then fma(t, g, b) is exact for what is absent:
 * t * 1 + -0 = t, signed zeros kept. */
typedef struct ln_wide {
    const double *g, *b;
} ln_wide;

static inline void acc_widen(ln_dtype dt, ln_cast cast, size_t dim, const void *gamma,
                             const void *beta, double *g, double *b)
{
    for (size_t j = 0; j < dim; j++) {
        float v = gamma ? ln_dtype_load(dt, gamma, j) : 0.0f;
        g[j] = !gamma ? 1.0 : cast == LN_CAST_GEMMA ? (double)(1.0f + v) : (double)v;
        b[j] = beta ? (double)ln_dtype_load(dt, beta, j) : -0.0;
    }
}

/* The output pass's constants: t = fma(x - m, rstd, -c*rstd). */
typedef struct acc_coef {
    vd vm, vr, vnc;
} acc_coef;

LN_INLINE ln_coef acc_coef_of(const ln_norm *nm)
{
    /* ((x - m) - c) * rstd as fma(x - m, rstd, -c*rstd): c is tiny, so the
     * rounding of c*rstd is far below the deviation's. */
    const ln_coef k = {nm->m, nm->rstd, -(nm->c * nm->rstd)};
    return k;
}

LN_INLINE void acc_coef_init(acc_coef *p, ln_coef k)
{
    p->vm = vd_set1(k.sub);
    p->vr = vd_set1(k.scale);
    p->vnc = vd_set1(k.add);
}

#if !VEC_HAS_NARROW_ODD
/* Whether a lane of v may lie on a midpoint of the dtype's grid: bf16
 * keeps a float's top 16 bits, so its midpoints end in 0x8000 (subnormals
 * and the overflow threshold included); f16 normals end in 0x1000 (13
 * bits dropped), and f16's subnormal range, where fewer bits are dropped
 * the smaller the value, is all taken as possible midpoints (exact zeros,
 * as of constant rows, are not). */
LN_INLINE int on_midpoint(unsigned f, vf v)
{
    if (f & LN_BF16)
        return vf_any_bits(v, 0xffffu, 0x8000u);
    return vf_any_bits(v, 0x1fffu, 0x1000u) | vf_any_tiny(v, 0x1p-14f);
}
#endif

/* The doubles lo, hi narrowed to floats for the store, which rounds bf16
 * and f16 once more: to odd, so that the store's rounding is the one
 * rounding of the double.  Two roundings to nearest err only where the
 * first lands exactly on a midpoint between two neighbours in the dtype
 * (every such midpoint is a float, and rounding is monotonic), so where
 * round-to-odd is dear (AVX2: ~14 instructions per 4 lanes, AVX-512 4 per
 * 8) the doubles are narrowed to nearest and only the rare vector with a
 * float on a possible midpoint is redone to odd.  binary32: nearest, the
 * one rounding. */
LN_INLINE vf acc_narrow(unsigned f, vd lo, vd hi)
{
    if (!(f & LN_NARROW))
        return vf_join(vh_narrow(lo), vh_narrow(hi));
#if VEC_HAS_NARROW_ODD
    return vf_join(vh_narrow_odd(lo), vh_narrow_odd(hi));
#else
    vf v = vf_join(vh_narrow(lo), vh_narrow(hi));
    if (__builtin_expect(on_midpoint(f, v), 0))
        v = vf_join(vh_narrow_odd(lo), vh_narrow_odd(hi));
    return v;
#endif
}

/* The outputs of x (elements j.. of its row; cnt > 0: only the first cnt
 * lanes): t, then fma(t, g, b), rounded once.  llama: round(w * round(t)),
 * the float product exact for bf16/f16 and the definition's own rounding
 * for binary32. */
LN_INLINE vf acc_out(unsigned f, const acc_coef *p, ln_cast cast, const void *gamma,
                     const ln_wide *w, vd2 x, size_t j, size_t cnt)
{
    /* RMS (LN_RMS): fma(x - 0, rstd, -0) is x * rstd; LN_ZERO_GUESS: m = 0. */
    const vd xl = (f & LN_ZERO_GUESS) ? x.lo : vd_sub(x.lo, p->vm);
    const vd xh = (f & LN_ZERO_GUESS) ? x.hi : vd_sub(x.hi, p->vm);
    vd lo = (f & LN_RMS) ? vd_mul(x.lo, p->vr) : vd_fma(xl, p->vr, p->vnc);
    vd hi = (f & LN_RMS) ? vd_mul(x.hi, p->vr) : vd_fma(xh, p->vr, p->vnc);
    if (gamma && cast == LN_CAST_LLAMA) {
        vf u = rnd(f, acc_narrow(f, lo, hi));
        return vf_mul(u, ld_at(f, gamma, j, cnt));
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
    return acc_narrow(f, lo, hi);
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

static __attribute__((unused)) int accurate_prepare(const ln_desc *d, void **state,
                                                     const char **why)
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
