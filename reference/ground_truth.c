/*
 * ground_truth.c - the correctly rounded norms of binary32, bf16 and fp16
 * inputs (every bf16 and fp16 value is a binary32 value).
 *
 * The algebra.  For one row of n values x_i (biased variance):
 *
 *   S    = sum x_i                        mean     = S / n
 *   d_i  = n x_i - S                      x_i-mean = d_i / n
 *   Q    = sum d_i^2 = n^2 sum x_i^2 - n S^2
 *                                         var = sum (d_i/n)^2 / n = Q / n^3
 *   W    = Q + n^3 eps                    var+eps  = W / n^3
 *
 *   sqrt(var + eps) = sqrt(W) / n^(3/2) = sqrt(n W) / n^2, hence
 *
 *   t_i = gamma_i d_i n / sqrt(n W) + beta_i.
 *
 * Every binary32 value is an integer times 2^-149 of magnitude below 2^128,
 * so S, d_i, Q, W and n W are integers times 2^-149 or 2^-298 of bounded
 * size.
 *
 * RMSNorm is the same with d_i = x_i and W = sum x_i^2 + n eps:
 * sqrt(mean(x^2) + eps) = sqrt(W / n) = sqrt(n W) / n, hence again
 * t_i = gamma_i d_i n / sqrt(n W).  The add_ operations first replace x by
 * h = RN_dtype(x + residual), formed exactly and rounded once.  The casts
 * change the column factor (gemma: fl32(1 + w)) or add one inner rounding
 * (llama: RN_dtype(d_i n / sqrt(n W)), proven by the same Ziv loop; the
 * product w_i RN(n_i) is then exact in double and rounded once more).
 * Every final rounding is into the output format (gt_fmt: binary32, bf16
 * or fp16), subnormals and overflow included.  The two row sums are
 * accumulated exactly in integer bins (one per binary exponent) and
 * finished with mpfr_sum; everything else is MPFR at a
 * precision sized to the row's span of bits (a ternary value of 0 proves
 * each step exact; we check it).  The one irrational step per row is
 * sqrt(n W); each element then takes a Ziv loop: evaluate at p bits with a
 * proven error bound, check that the whole error interval lies inside one
 * rounding cell of the output format (then the rounding is decided), else
 * double p.
 *
 * Termination.  sqrt(n W) of a dyadic rational is either dyadic (then it is
 * computed exactly at some p) or irrational.  If it is irrational, t_i is
 * irrational (gamma_i d_i != 0 is handled before the loop).  If it is dyadic,
 * t_i is rational: a dyadic t_i is computed exactly (all ternaries 0) at
 * some p and rounded directly; a non-dyadic t_i is neither a rounding
 * boundary (a midpoint) nor zero, so the test succeeds once p is large
 * enough.
 * A cap on p turns a would-be endless loop (a bug) into a loud failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "ground_truth.h"

#include "dtype_convert.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpfr.h>

/* The output formats: precision p (bits, the leading one included) and
 * the exponent range of the normal numbers, [2^emin, 2^(emax+1)).  Below
 * 2^emin the grid keeps the spacing 2^(emin - p + 1) (subnormals); at and
 * above the overflow threshold, (2 - 2^-p) 2^emax (the midpoint between
 * the largest finite value and 2^(emax+1)), reals round to infinity. */
typedef struct gt_fmt {
    int p, emin, emax;
} gt_fmt;

static const gt_fmt gt_fmts[LN_DTYPE_COUNT] = {
    [LN_DTYPE_F32] = {24, -126, 127},
    [LN_DTYPE_BF16] = {8, -126, 127},
    [LN_DTYPE_F16] = {11, -14, 15},
};

/* Ziv loop precisions: p0, 2 p0, 4 p0, ... up to GT_PMAX = 32768 bits,
 * far beyond anything a real row needs (a dyadic quotient has at most ~400
 * bits, and an irrational one is decided at 128 bits except once in ~2^80
 * elements). */
#define GT_P0 128
#define GT_PMAX 32768
#define GT_MAXLEVELS 12 /* enough for p0 = 16 */

/* Correct bits of t demanded relative to |t|, so that hi + lo (which adds
 * its own 2^-106 relative rounding) stays good to 106 bits or so. */
#define GT_GOOD_BITS 114

/* Loop parameters, normally the defaults above; ln_ground_truth_tune lets
 * a test start low so that the rounding test and the error bound, not the
 * generous starting precision, decide most roundings. */
static unsigned gt_p0 = GT_P0, gt_good_bits = GT_GOOD_BITS;

int ln_ground_truth_tune(unsigned p0, unsigned good_bits)
{
    if (p0 == 0 && good_bits == 0) {
        gt_p0 = GT_P0;
        gt_good_bits = GT_GOOD_BITS;
        return 0;
    }
    if (p0 < 16 || p0 > GT_PMAX || good_bits > GT_GOOD_BITS)
        return -1;
    gt_p0 = p0;
    gt_good_bits = good_bits;
    return 0;
}

/* x = +-m 2^e with m < 2^24 and -149 <= e <= 104: bin e + 149 of the sum.
 * x^2 = m^2 2^(2e), m^2 < 2^48 split into 24-bit halves at 2^(2e) and
 * 2^(2e+24): bins 2e + 298 and 2e + 322. */
#define GT_SBINS 254
#define GT_QBINS 555

typedef struct gt_ws {
    size_t n;
    unsigned long nl;      /* n as an MPFR integer operand */
    int L;                 /* n <= 2^L */
    /* Exact row sums: integer bins, one per binary exponent (see gt_row),
     * turned into MPFR numbers (64-bit, exact) and added by mpfr_sum. */
    int64_t sbin[GT_SBINS], qbin[GT_QBINS];
    mpfr_t bv[GT_QBINS];
    mpfr_ptr pv[GT_QBINS];
    mpfr_t S, sumsq, A, B, Q, W, nW, e3;
    mpfr_t nm, nx, d, N;   /* n; n x_i; d_i; N_i = gamma_i d_i n */
    mpfr_t H;              /* 53 bits: RN53 of the result */
    mpfr_t F;              /* scratch of gt_round_fmt */
    mpfr_t hs;             /* x_i + residual_i, exact (add_ operations) */
    const gt_fmt *fmt;     /* the output format */
    int levels;            /* precisions p0 << k, k < levels */
    mpfr_prec_t p0;
    long good_bits;
    mpfr_t s[GT_MAXLEVELS];   /* sqrt(n W) rounded to p0 << k bits */
    mpfr_t rs[GT_MAXLEVELS];  /* 1/sqrt(n W) rounded likewise */
    int s_state[GT_MAXLEVELS];/* 0 not computed, 1 inexact, 2 exact */
    mpfr_t P[GT_MAXLEVELS], T[GT_MAXLEVELS], R[GT_MAXLEVELS];
    char err[200];
} gt_ws;

static void gt_fail(gt_ws *w, const char *fmt, ...)
{
    va_list ap;
    if (w->err[0] != '\0')
        return; /* keep the first message */
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

/* floor(log2 m) for 1 <= m < 2^24 (the conversion to float is exact). */
static int ilog2_u24(uint32_t m)
{
    float f = (float)m;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (int)(u >> 23) - 127;
}

/* For a finite nonzero binary32 f: |f| < 2^*top, and f is an integer
 * multiple of 2^*bot (the weight of its lowest set bit). */
static void flt_bits(float f, int *top, int *bot)
{
    uint32_t u, m;
    int ef, e;

    memcpy(&u, &f, sizeof u);
    ef = (int)((u >> 23) & 0xff);
    m = u & 0x7fffffu;
    if (ef != 0)
        m |= 0x800000u;
    e = ef != 0 ? ef - 150 : -149; /* f = +-m 2^e */
    *top = e + ilog2_u24(m) + 1;
    *bot = e + ilog2_u24(m & (0u - m));
}

/* Smallest L with n <= 2^L. */
static unsigned log2_ceil(size_t n)
{
    unsigned L = 0;
    while (L < 63 && ((size_t)1 << L) < n)
        L++;
    return L;
}

static int gt_ws_init(gt_ws *w, size_t n, unsigned p0, unsigned good_bits)
{
    unsigned L = log2_ceil(n);
    size_t i;
    int k;
    /* Sizes (in bits) of the exact quantities; see the header comment.
     *  S: integer times 2^-149 below n 2^128: 277 + L bits.
     *  x_i^2: times 2^-298, below 2^256; their sum below n 2^256: 554 + L.
     *  n^2 sum x^2, n S^2, Q, n^3 eps, W, n W: times 2^-298 (or 2^-149),
     *  below 2^(260 + 4L): at most 558 + 4L bits.
     *  d_i = n x_i - S: times 2^-149, below 2n 2^128: 278 + L bits.
     *  N_i = gamma_i d_i n: plus 24 + L bits.
     * Each gets a few bits of slack; exactness is checked anyway. */
    mpfr_prec_t p_S = 277 + L + 8, p_sq = 554 + L + 8, p_big = 558 + 4 * L + 16;
    mpfr_prec_t p_d = 278 + L + 8, p_N = p_d + 24 + L + 8;

    memset(w, 0, sizeof *w);
    w->p0 = p0;
    w->good_bits = good_bits;
    while (w->levels < GT_MAXLEVELS &&
           ((mpfr_prec_t)p0 << w->levels) <= GT_PMAX)
        w->levels++;
    w->n = n;
    w->nl = (unsigned long)n;
    w->L = (int)L;
    for (i = 0; i < GT_QBINS; i++)
        mpfr_init2(w->bv[i], 64);
    mpfr_init2(w->S, p_S);
    mpfr_init2(w->sumsq, p_sq);
    mpfr_inits2(p_big, w->A, w->B, w->Q, w->W, w->nW, w->e3, (mpfr_ptr)0);
    mpfr_init2(w->nm, 64);
    mpfr_set_ui(w->nm, (unsigned long)n, MPFR_RNDN);
    mpfr_init2(w->H, 53);
    mpfr_init2(w->F, 64);
    /* A binary32 x + r is an integer times 2^-149 below 2^129: 278 bits. */
    mpfr_init2(w->hs, 300);
    mpfr_init2(w->nx, 24 + L + 2);
    mpfr_init2(w->d, p_d);
    mpfr_init2(w->N, p_N);
    for (k = 0; k < w->levels; k++) {
        mpfr_prec_t p = w->p0 << k;
        mpfr_inits2(p, w->s[k], w->rs[k], w->P[k], w->T[k], w->R[k],
                    (mpfr_ptr)0);
    }
    return 0;
}

static void gt_ws_clear(gt_ws *w)
{
    size_t i;
    int k;
    for (i = 0; i < GT_QBINS; i++)
        mpfr_clear(w->bv[i]);
    mpfr_clears(w->S, w->sumsq, w->A, w->B, w->Q, w->W, w->nW, w->e3,
                w->nm, w->nx, w->d, w->N, w->H, w->F, w->hs, (mpfr_ptr)0);
    for (k = 0; k < w->levels; k++)
        mpfr_clears(w->s[k], w->rs[k], w->P[k], w->T[k], w->R[k],
                    (mpfr_ptr)0);
}

/* Spacing of the format's grid in the binade of a >= 0 (exact). */
static double fmt_spacing(const gt_fmt *f, double a)
{
    int e = a < ldexp(1.0, f->emin) ? f->emin : ilogb(a);
    return ldexp(1.0, e - f->p + 1);
}

static double fmt_overflow(const gt_fmt *f)
{
    return ldexp(2.0 - ldexp(1.0, -f->p), f->emax);
}

/* Half the distance from the grid value v to its upper neighbour (for the
 * largest finite value, to 2^(emax+1), which puts the midpoint on the
 * overflow threshold).  Going up from a negative power of two -2^k leaves
 * its binade for the one below, of half the spacing, unless 2^k = 2^emin
 * (the subnormals below keep the spacing). */
static double fmt_half_up(const gt_fmt *f, double v)
{
    double a = fabs(v), s = fmt_spacing(f, a);
    if (v < 0 && a > ldexp(1.0, f->emin) && ldexp(1.0, ilogb(a)) == a)
        s /= 2;
    return s / 2;
}

static double fmt_half_dn(const gt_fmt *f, double v)
{
    return fmt_half_up(f, -v);
}

/* T rounded to nearest (ties to even) onto the format's grid, with its
 * subnormals and overflow to infinity; the result is a binary32 value.
 * T lives in MPFR's wide exponent range, so the rounding happens once,
 * here.  binary32 is mpfr_get_flt's own job; for the narrow formats the
 * grid spacing at T is 2^q, q = max(floor(log2|T|), emin) - p + 1, and
 * rounding T to nearest with e - q bits (|T| in [2^(e-1), 2^e)) is
 * exactly rounding onto that grid (a carry to 2^e stays on it). */
static float gt_round_fmt(mpfr_srcptr T, const gt_fmt *f, mpfr_ptr tmp)
{
    mpfr_exp_t e;
    long q, bits;
    double v;

    if (f->p == 24 || !mpfr_number_p(T) || mpfr_zero_p(T))
        return mpfr_get_flt(T, MPFR_RNDN);
    e = mpfr_get_exp(T);
    if (e > 100000)
        return mpfr_sgn(T) > 0 ? INFINITY : -INFINITY;
    if (e < -100000)
        return mpfr_sgn(T) > 0 ? 0.0f : -0.0f;
    q = ((long)e - 1 > f->emin ? (long)e - 1 : f->emin) - f->p + 1;
    bits = (long)e - q;
    if (bits >= 1) {
        mpfr_set_prec(tmp, (mpfr_prec_t)bits);
        mpfr_set(tmp, T, MPFR_RNDN);
        v = mpfr_get_d(tmp, MPFR_RNDN); /* <= 11 bits: exact */
    } else if (bits == 0) {
        /* |T| in [2^(q-1), 2^q): 2^q above the midpoint 2^(q-1), else 0
         * (the tie goes to 0, the even one). */
        int above = mpfr_sgn(T) > 0 ? mpfr_cmp_ui_2exp(T, 1, q - 1) > 0
                                    : mpfr_cmp_si_2exp(T, -1, q - 1) < 0;
        v = above ? ldexp(1.0, (int)q) : 0.0;
        if (mpfr_sgn(T) < 0)
            v = -v;
    } else {
        v = mpfr_sgn(T) > 0 ? 0.0 : -0.0; /* below half the least spacing */
    }
    if (fabs(v) >= fmt_overflow(f)) /* on the grid: above the largest finite */
        v = copysign(INFINITY, v);
    return (float)v;
}

/* Is v = RN_fmt(x) for every real x with |x - T| <= 2^rho_exp?
 *
 * v = gt_round_fmt(T) is T rounded onto the format's grid (subnormal
 * spacing and overflow included).  The reals that round to v form an
 * interval whose ends are the midpoints between v and its two neighbours
 * (for the largest finite value the upper end is the overflow threshold;
 * for infinity the cell is [threshold, inf)).  Those midpoints are exact
 * in double.  If the whole error interval lies strictly inside the cell,
 * x rounds to v whatever it is; ties need no care, since a midpoint
 * strictly inside the interval fails the test.  The differences are
 * rounded downwards, so a "yes" is never an artefact of rounding. */
static int gt_decided_slow(mpfr_t T, mpfr_exp_t rho_exp, float v,
                           const gt_fmt *f, mpfr_t tmp)
{
    double lo_m, hi_m;

    if (isinf(v)) {
        lo_m = v > 0 ? fmt_overflow(f) : -INFINITY;
        hi_m = v > 0 ? INFINITY : -fmt_overflow(f);
    } else {
        lo_m = (double)v - fmt_half_dn(f, v);
        hi_m = (double)v + fmt_half_up(f, v);
    }
    if (lo_m != -INFINITY) {
        mpfr_sub_d(tmp, T, lo_m, MPFR_RNDD);        /* <= T - lo_m */
        if (mpfr_cmp_ui_2exp(tmp, 1, rho_exp) <= 0)
            return 0;
    }
    if (hi_m != INFINITY) {
        mpfr_d_sub(tmp, hi_m, T, MPFR_RNDD);        /* <= hi_m - T */
        if (mpfr_cmp_ui_2exp(tmp, 1, rho_exp) <= 0)
            return 0;
    }
    return 1;
}

/* The same decision from doubles, for the usual case; it falls back on
 * gt_decided_slow when it cannot tell.
 *
 * hd + ld is T as a double-double: hd = RN53(T), and ld = RN53(T - hd)
 * with T - hd computed exactly, so |(T - hd) - ld| <= 2^-53 |ld|.  With
 * v = RN_fmt(T) finite, hd - v is exact in double (Sterbenz: hd and v
 * are within a factor 2 of each other, or v = 0; v has at most 24 bits).
 * So D = T - v equals (hd - v) + (T - hd) and a = |RN((hd - v) + ld)|
 * satisfies
 *     |D| <= a + 2^-53 a + 2^-53 |ld|.
 * Every real x with |x - T| <= rho rounds to v if |D| + rho is below both
 * half-spacings around v (h_dn, h_up: exact powers of two).  The test adds
 * a margin m = 2^-50 (a + |ld| + rho), which covers the two error terms
 * above and the rounding of the sum a + rho + m itself (three roundings,
 * each at most 2^-53 of the sum).  Using the smaller half-spacing on both
 * sides costs nothing except next to a power of two, where the slow test
 * takes over.  Tiny or huge hd (double subnormals, rho outside double's
 * range) and infinite v also go the slow way. */
static int gt_decided(mpfr_t T, mpfr_exp_t rho_exp, float v, double hd,
                      double ld, const gt_fmt *f, mpfr_t tmp)
{
    double h, hu, rho, a, m;

    if (isinf(v) || rho_exp < -1000 || rho_exp > 1000 ||
        fabs(hd) < 0x1p-900)
        return gt_decided_slow(T, rho_exp, v, f, tmp);
    h = fmt_half_dn(f, v);
    hu = fmt_half_up(f, v);
    if (hu < h)
        h = hu;
    rho = ldexp(1.0, (int)rho_exp);
    a = fabs((hd - (double)v) + ld);
    m = 0x1p-50 * (a + fabs(ld) + rho);
    if (a + rho + m < h)
        return 1;
    return gt_decided_slow(T, rho_exp, v, f, tmp);
}

/* T as a double-double (see gt_decided): hd = RN53(T) through the 53-bit
 * w->H, and ld = RN53(T - hd), the subtraction being exact at T's
 * precision (T - hd is a multiple of T's ulp below 2^-53 |T|). */
static void gt_hilo(gt_ws *w, mpfr_t T, mpfr_t tmp, double *hd, double *ld)
{
    mpfr_set(w->H, T, MPFR_RNDN);
    *hd = mpfr_get_d(w->H, MPFR_RNDN);
    mpfr_sub(tmp, T, w->H, MPFR_RNDN);
    *ld = mpfr_get_d(tmp, MPFR_RNDN);
}

/* The Ziv loop for one element, N = gamma_i d_i n already in w->N (exact,
 * nonzero); b is beta_i, or NULL when it is 0.  Returns 0, or -1 when the
 * precision cap is reached. */
static int gt_element(gt_ws *w, mpfr_srcptr b, float *r, double *hi,
                      double *lo)
{
    int k;

    for (k = 0; k < w->levels; k++) {
        mpfr_prec_t p = w->p0 << k;
        mpfr_ptr P = w->P[k], T;
        mpfr_exp_t eP, eT, e, err;
        int inexact;
        float v;
        double hd, ld;

        /* s = RN_p(sqrt(n W)), shared by the whole row.  When it is
         * inexact (sqrt(n W) irrational), multiply by RN_p(1/sqrt(n W))
         * instead of dividing by s: cheaper, and also two roundings.
         * When it is exact, divide, so that a dyadic t is computed
         * exactly at some p (1/s need not be dyadic). */
        if (w->s_state[k] == 0) {
            w->s_state[k] = mpfr_sqrt(w->s[k], w->nW, MPFR_RNDN) ? 1 : 2;
            if (w->s_state[k] == 1)
                mpfr_rec_sqrt(w->rs[k], w->nW, MPFR_RNDN);
        }
        if (w->s_state[k] == 1) {
            inexact = 1;
            mpfr_mul(P, w->N, w->rs[k], MPFR_RNDN);
        } else {
            inexact = mpfr_div(P, w->N, w->s[k], MPFR_RNDN) != 0;
        }
        if (b != NULL) {
            T = w->T[k];
            inexact |= mpfr_add(T, P, b, MPFR_RNDN) != 0;
        } else {
            T = P;
        }
        if (!inexact) {
            /* Every step was exact: T is t itself, and gt_round_fmt
             * rounds it correctly (ties to even included). */
            gt_hilo(w, T, w->R[k], &hd, &ld);
            *r = gt_round_fmt(T, w->fmt, w->F);
            if (hi != NULL)
                *hi = hd;
            if (lo != NULL)
                *lo = ld;
            return 0;
        }
        if (mpfr_zero_p(T))
            continue; /* P + beta cancelled to nothing at this precision */

        /* Error bound.  With u = 2^-p and each multiplicative rounding
         * (sqrt and division, or reciprocal square root and product: two;
         * the bound would allow four) contributing a factor (1+d) or
         * 1/(1+d), |d| <= u:
         *   |P - t_P| <= 4.001 u |P| < 2^(EXP(P) + 2 - p)
         * (|P| < 2^EXP(P) in MPFR's convention |P| in [2^(e-1), 2^e)).
         * The final addition adds at most half an ulp of T, 2^(EXP(T)-1-p).
         * Both terms are below 2^(E + 2 - p) with E = max(EXP(P), EXP(T)),
         * so |T - t| < 2^(E + 3 - p), i.e. 2^(EXP(T) - err) with
         * err = EXP(T) - (E + 3 - p). */
        eP = mpfr_get_exp(P);
        eT = mpfr_get_exp(T);
        e = eP > eT ? eP : eT;
        err = eT - (e + 3 - p);
        if (err < w->good_bits)
            continue;

        /* Round once onto the output format's grid: gt_round_fmt handles
         * the subnormal range and overflow, while T itself lives in MPFR's
         * wide exponent range (so the bound above has no underflow). */
        v = gt_round_fmt(T, w->fmt, w->F);
        gt_hilo(w, T, w->R[k], &hd, &ld);
        if (!gt_decided(T, eT - err, v, hd, ld, w->fmt, w->R[k]))
            continue;
        *r = v;
        if (hi != NULL)
            *hi = hd;
        if (lo != NULL)
            *lo = ld;
        return 0;
    }
    return -1;
}

typedef struct gt_job {
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;
    const float *x, *residual;
    size_t row0, rows, dim, x_stride;
    const float *gamma, *beta;
    /* The factor each column scales by: gamma (single, and llama's outer
     * w), or fl32(1 + w) (gemma); NULL when it is 1. */
    const float *gfac;
    float eps;
    float *rounded;
    double *hi, *lo;
    float *h;
    size_t out_stride;
    /* n gfac_i and beta_i as MPFR numbers, built once per call and only
     * read by the threads (NULL without gamma / beta). */
    const mpfr_t *gn, *bm;
    gt_ws ws;
    int ws_ok;
    int status;
} gt_job;

static void gt_nan_out(gt_job *j, size_t row, size_t col)
{
    size_t o = row * j->out_stride + col;
    j->rounded[o] = NAN;
    if (j->hi != NULL)
        j->hi[o] = NAN;
    if (j->lo != NULL)
        j->lo[o] = NAN;
}

/* Exactness checks: a nonzero ternary value here means a precision above
 * was sized wrong, a bug. */
#define GT_EXACT(w, call)                                                   \
    do {                                                                    \
        if ((call) != 0) {                                                  \
            gt_fail((w), "ground truth: inexact step '%s' (bug)", #call);   \
            return -1;                                                      \
        }                                                                   \
    } while (0)

/* sum over k of bin[k] 2^(k + e0) into out (correctly rounded by
 * mpfr_sum; the caller checks the ternary value is 0, i.e. exact), and
 * clear the bins.  Each bin is exact in a 64-bit MPFR number. */
static int gt_bins_sum(gt_ws *w, int64_t *bin, int nbins, int e0, mpfr_t out)
{
    int k;
    unsigned long c = 0;

    for (k = 0; k < nbins; k++) {
        if (bin[k] != 0) {
            mpfr_set_sj_2exp(w->bv[c], (intmax_t)bin[k], k + e0, MPFR_RNDN);
            w->pv[c] = w->bv[c];
            c++;
            bin[k] = 0;
        }
    }
    return mpfr_sum(out, w->pv, c, MPFR_RNDN);
}

/* Is v a value of the dtype (NaN and infinities count)?  The ground truth
 * of a narrow dtype is the exact value on inputs of that dtype. */
static int gt_in_dtype(float v, ln_dtype dt)
{
    switch (dt) {
    case LN_DTYPE_BF16:
        return isnan(v) || ln_bf16_to_f32(ln_f32_to_bf16(v)) == v;
    case LN_DTYPE_F16:
        return isnan(v) || ln_f16_to_f32(ln_f32_to_f16(v)) == v;
    default:
        return 1;
    }
}

/* h = RN_dtype(a + b), the residual stream of the add_ operations: the sum
 * of two binary32 values is exact at 300 bits (both are integers times
 * 2^-149 below 2^128), then rounded once.  Nonfinite operands give IEEE's
 * answer (an infinity, or NaN for inf - inf); an overflowing sum rounds to
 * infinity like any other result.  Returns 0, or -1 (a bug). */
static int gt_add_round(gt_ws *w, float a, float b, float *h)
{
    if (!isfinite(a) || !isfinite(b)) {
        *h = a + b;
        return 0;
    }
    GT_EXACT(w, mpfr_set_flt(w->hs, a, MPFR_RNDN));
    GT_EXACT(w, mpfr_add_d(w->hs, w->hs, (double)b, MPFR_RNDN));
    *h = gt_round_fmt(w->hs, w->fmt, w->F);
    return 0;
}

static int gt_row(gt_job *j, size_t row)
{
    gt_ws *w = &j->ws;
    const float *x = j->x + row * j->x_stride;
    size_t n = j->dim, i;
    unsigned long nl = w->nl;
    int k, rms = ln_op_is_rms(j->op);

    for (i = 0; i < n; i++) {
        if (!gt_in_dtype(x[i], j->dtype) ||
            (j->residual != NULL &&
             !gt_in_dtype(j->residual[row * j->x_stride + i], j->dtype))) {
            gt_fail(w, "ground truth: %s[%zu][%zu] is not a %s value",
                    gt_in_dtype(x[i], j->dtype) ? "residual" : "x", row, i,
                    ln_dtype_name(j->dtype));
            return -1;
        }
    }
    if (j->residual != NULL) {
        /* The norm is of h, the correctly rounded x + residual. */
        const float *r = j->residual + row * j->x_stride;
        float *h = j->h + row * j->out_stride;
        for (i = 0; i < n; i++)
            if (gt_add_round(w, x[i], r[i], &h[i]) != 0)
                return -1;
        x = h;
    }
    for (i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            /* No exact value: the whole row is NaN, like the kernels. */
            for (i = 0; i < n; i++)
                gt_nan_out(j, row, i);
            return 0;
        }
    }
    if (!isfinite(j->eps)) {
        for (i = 0; i < n; i++)
            gt_nan_out(j, row, i);
        return 0;
    }

    /* Precisions for this row.  The sizes allocated in gt_ws_init cover
     * any binary32 row; the row's own span of bits is usually far smaller
     * (every x_i a multiple of 2^bot below 2^top), and MPFR's cost grows
     * with precision, so size each exact quantity to the row:
     *   S        multiple of 2^bot,    |S| < 2^(top + L)
     *   d_i      multiple of 2^bot,    |d_i| < 2^(top + L + 1)
     *   N_i      d_i times n gamma_i (at most 24 + L significant bits)
     *   sum x^2  multiple of 2^(2 bot), below 2^(2 top + L)
     *   n^2 sum x^2, n S^2, Q   multiples of 2^(2 bot), below 2^(2 top + 3L)
     *   n^3 eps  multiple of 2^eb,     below 2^(et + 3L)
     *   W = Q + n^3 eps, and n W (L more bits).
     * The RMS forms' W = sum x^2 + n eps is smaller than the LayerNorm one
     * on both ends, so the same sizes hold.  Two bits of slack each; the
     * exactness checks would catch a slip. */
    {
        int top = INT_MIN, bot = INT_MAX, t, bt, L = w->L, bx, wt, wb;

        /* One pass: the bit span, and the exact sums in integer bins.
         * A bin of S receives at most n values below 2^24, a bin of the
         * squares at most 2n halves below 2^24: no int64 overflow below
         * n = 2^38. */
        for (i = 0; i < n; i++) {
            uint32_t u, m;
            uint64_t m2;
            int ef, e;

            if (x[i] == 0.0f)
                continue;
            flt_bits(x[i], &t, &bt);
            if (t > top)
                top = t;
            if (bt < bot)
                bot = bt;
            memcpy(&u, &x[i], sizeof u);
            ef = (int)((u >> 23) & 0xff);
            m = u & 0x7fffffu;
            if (ef != 0)
                m |= 0x800000u;
            e = ef != 0 ? ef - 150 : -149; /* x = +-m 2^e */
            w->sbin[e + 149] += (u >> 31) ? -(int64_t)m : (int64_t)m;
            m2 = (uint64_t)m * m;
            w->qbin[2 * e + 298] += (int64_t)(m2 & 0xffffffu);
            w->qbin[2 * e + 322] += (int64_t)(m2 >> 24);
        }
        if (top == INT_MIN) { /* all zero */
            top = 1;
            bot = 0;
        }
        bx = top - bot;
        wt = 2 * top + 3 * L + 1;
        wb = 2 * bot;
        mpfr_set_prec(w->S, bx + L + 2);
        mpfr_set_prec(w->d, bx + L + 3);
        mpfr_set_prec(w->N, bx + 2 * L + 24 + 5);
        mpfr_set_prec(w->sumsq, 2 * bx + L + 2);
        mpfr_set_prec(w->A, 2 * bx + 3 * L + 4);
        mpfr_set_prec(w->B, 2 * bx + 3 * L + 4);
        mpfr_set_prec(w->Q, 2 * bx + 3 * L + 4);
        if (j->eps != 0.0f) {
            flt_bits(j->eps, &t, &bt);
            mpfr_set_prec(w->e3, t - bt + 3 * L + 2);
            if (t + 3 * L + 1 > wt)
                wt = t + 3 * L + 1;
            if (bt < wb)
                wb = bt;
        } else {
            mpfr_set_prec(w->e3, 2);
        }
        mpfr_set_prec(w->W, wt - wb + 2);
        mpfr_set_prec(w->nW, wt - wb + L + 3);
    }

    /* S and sum x_i^2 from the bins, exactly (and the bins cleared). */
    GT_EXACT(w, gt_bins_sum(w, w->sbin, GT_SBINS, -149, w->S));
    GT_EXACT(w, gt_bins_sum(w, w->qbin, GT_QBINS, -298, w->sumsq));

    GT_EXACT(w, mpfr_set_flt(w->e3, j->eps, MPFR_RNDN));
    GT_EXACT(w, mpfr_mul_ui(w->e3, w->e3, nl, MPFR_RNDN));
    if (!rms) {
        /* Q = n^2 sum x^2 - n S^2 (= sum (n x_i - S)^2, so Q >= 0). */
        GT_EXACT(w, mpfr_mul_ui(w->A, w->sumsq, nl, MPFR_RNDN));
        GT_EXACT(w, mpfr_mul_ui(w->A, w->A, nl, MPFR_RNDN));
        GT_EXACT(w, mpfr_sqr(w->B, w->S, MPFR_RNDN));
        GT_EXACT(w, mpfr_mul_ui(w->B, w->B, nl, MPFR_RNDN));
        GT_EXACT(w, mpfr_sub(w->Q, w->A, w->B, MPFR_RNDN));
        if (mpfr_sgn(w->Q) < 0) {
            gt_fail(w, "ground truth: negative sum of squared deviations (bug)");
            return -1;
        }
        /* W = Q + n^3 eps. */
        GT_EXACT(w, mpfr_mul_ui(w->e3, w->e3, nl, MPFR_RNDN));
        GT_EXACT(w, mpfr_mul_ui(w->e3, w->e3, nl, MPFR_RNDN));
        GT_EXACT(w, mpfr_add(w->W, w->Q, w->e3, MPFR_RNDN));
    } else {
        /* RMS: mean(x^2) + eps = W / n with W = sum x^2 + n eps. */
        GT_EXACT(w, mpfr_add(w->W, w->sumsq, w->e3, MPFR_RNDN));
    }
    if (mpfr_sgn(w->W) <= 0) {
        /* var + eps <= 0: 0/0 for a constant (RMS: all-zero) row with
         * eps = 0, the square root of a negative number for a negative
         * eps.  No real value. */
        for (i = 0; i < n; i++)
            gt_nan_out(j, row, i);
        return 0;
    }
    GT_EXACT(w, mpfr_mul_ui(w->nW, w->W, nl, MPFR_RNDN));
    for (k = 0; k < w->levels; k++)
        w->s_state[k] = 0;

    for (i = 0; i < n; i++) {
        float g = j->gfac != NULL ? j->gfac[i] : 1.0f;
        float b = j->beta != NULL ? j->beta[i] : 0.0f;
        size_t o = row * j->out_stride + i;
        double *hi = j->hi != NULL ? &j->hi[o] : NULL;
        double *lo = j->lo != NULL ? &j->lo[o] : NULL;

        if (!isfinite(g) || !isfinite(b)) {
            gt_nan_out(j, row, i);
            continue;
        }
        if (!rms) {
            /* d_i = n x_i - S (mul_ui + sub measure faster than one
             * mpfr_fms) */
            GT_EXACT(w, mpfr_set_flt(w->nx, x[i], MPFR_RNDN));
            GT_EXACT(w, mpfr_mul_ui(w->nx, w->nx, nl, MPFR_RNDN));
            GT_EXACT(w, mpfr_sub(w->d, w->nx, w->S, MPFR_RNDN));
        } else {
            GT_EXACT(w, mpfr_set_flt(w->d, x[i], MPFR_RNDN)); /* d_i = x_i */
        }
        if (mpfr_zero_p(w->d) || g == 0.0f) {
            /* x_i equals the mean (RMS: x_i = 0), or the column's factor
             * is 0: t = beta_i exactly (0 for the RMS forms). */
            j->rounded[o] = b;
            if (hi != NULL)
                *hi = b;
            if (lo != NULL)
                *lo = 0.0;
            continue;
        }
        if (j->cast == LN_CAST_LLAMA) {
            /* t = w_i RN(n_i): the inner rounding of n_i = d_i n /
             * sqrt(n W) is proven by the same Ziv loop; w_i RN(n_i), two
             * values of at most 24 bits within binary32's range, is exact
             * in double, and rounds once more. */
            float inner;
            double t;
            GT_EXACT(w, mpfr_mul(w->N, w->d, w->nm, MPFR_RNDN));
            if (gt_element(w, NULL, &inner, NULL, NULL) != 0)
                goto cap;
            if (!isfinite(inner)) {
                /* |n_i| <= sqrt(dim): overflows fp16 only for dim > 2^32.
                 * No finite exact value. */
                gt_nan_out(j, row, i);
                continue;
            }
            t = (double)g * (double)inner;
            GT_EXACT(w, mpfr_set_d(w->H, t, MPFR_RNDN));
            j->rounded[o] = gt_round_fmt(w->H, w->fmt, w->F);
            if (hi != NULL)
                *hi = t;
            if (lo != NULL)
                *lo = 0.0;
            continue;
        }
        GT_EXACT(w, mpfr_mul(w->N, w->d, j->gn != NULL ? j->gn[i] : w->nm,
                             MPFR_RNDN));
        if (gt_element(w, b != 0.0f ? j->bm[i] : NULL, &j->rounded[o], hi,
                       lo) != 0)
            goto cap;
    }
    return 0;
cap:
    gt_fail(w, "ground truth: precision cap of %d bits reached at "
            "row %zu column %zu (bug)",
            (int)(w->p0 << (w->levels - 1)), row, i);
    return -1;
}

static void *gt_worker(void *arg)
{
    gt_job *j = arg;
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    size_t r;

    /* The error bound assumes no underflow or overflow inside MPFR; a
     * caller that narrowed the exponent range (to emulate binary32, say)
     * would break it.  The default range is ample; restore whatever the
     * thread had. */
    if (emin > -100000)
        mpfr_set_emin(mpfr_get_emin_min());
    if (emax < 100000)
        mpfr_set_emax(mpfr_get_emax_max());
    j->status = 0;
    for (r = j->row0; r < j->row0 + j->rows; r++) {
        if (gt_row(j, r) != 0) {
            j->status = -1;
            break;
        }
    }
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    return NULL;
}

static void *gt_thread_main(void *arg)
{
    gt_worker(arg);
    /* MPFR keeps per-thread caches; free them before the thread ends. */
    mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
    return NULL;
}

/* Column constants shared by all rows: n gamma_i (exact: 24 + 64 bits)
 * and beta_i.  Returns NULL only when memory runs out. */
static mpfr_t *gt_columns(const float *v, size_t dim, unsigned long scale)
{
    mpfr_t *a = malloc(dim * sizeof *a);
    size_t i;

    if (a == NULL)
        return NULL;
    for (i = 0; i < dim; i++) {
        mpfr_init2(a[i], 24 + 64);
        mpfr_set_flt(a[i], v[i], MPFR_RNDN);
        mpfr_mul_ui(a[i], a[i], scale, MPFR_RNDN);
    }
    return a;
}

static void gt_columns_free(mpfr_t *a, size_t dim)
{
    size_t i;
    if (a == NULL)
        return;
    for (i = 0; i < dim; i++)
        mpfr_clear(a[i]);
    free(a);
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

/* gemma's factor fl32(1 + w_i) for each column: 1 + w is exact at 300 bits
 * (w an integer times 2^-149 below 2^128), then rounded to binary32 once,
 * whatever the dtype (HF's GemmaRMSNorm forms it in float32). */
static float *gt_gemma_factors(const float *w, size_t dim)
{
    float *f = malloc(dim * sizeof *f);
    mpfr_t a;
    size_t i;

    if (f == NULL)
        return NULL;
    mpfr_init2(a, 300);
    for (i = 0; i < dim; i++) {
        if (!isfinite(w[i])) {
            f[i] = 1.0f + w[i];
            continue;
        }
        mpfr_set_flt(a, w[i], MPFR_RNDN);
        mpfr_add_ui(a, a, 1, MPFR_RNDN);
        f[i] = mpfr_get_flt(a, MPFR_RNDN);
    }
    mpfr_clear(a);
    return f;
}

int ln_ground_truth(const float *x, size_t rows, size_t dim, size_t x_stride,
                    const float *gamma, const float *beta, float eps,
                    float *rounded, double *hi, double *lo, size_t out_stride,
                    unsigned threads, char *err, size_t errlen)
{
    ln_gt_spec s = {.op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32,
                    .cast = LN_CAST_SINGLE, .x = x, .rows = rows, .dim = dim,
                    .x_stride = x_stride, .gamma = gamma, .beta = beta,
                    .eps = eps};
    return ln_ground_truth_op(&s, rounded, hi, lo, NULL, out_stride, threads,
                              err, errlen);
}

int ln_ground_truth_op(const ln_gt_spec *s, float *rounded, double *hi,
                       double *lo, float *h, size_t out_stride,
                       unsigned threads, char *err, size_t errlen)
{
    gt_job *jobs;
    pthread_t *tids;
    size_t nt, t, row0 = 0, rows = s->rows, dim = s->dim, i;
    int status = 0;
    unsigned p0 = gt_p0, good_bits = gt_good_bits;
    mpfr_t *gn = NULL, *bm = NULL;
    float *gemma = NULL;
    const float *gfac;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if ((unsigned)s->op >= LN_OP_COUNT || (unsigned)s->dtype >= LN_DTYPE_COUNT ||
        (unsigned)s->cast >= LN_CAST_COUNT ||
        (s->cast != LN_CAST_SINGLE && !ln_op_is_rms(s->op)) ||
        (ln_op_is_rms(s->op) && s->beta != NULL)) {
        set_err(err, errlen, "ground truth: bad operation, dtype or cast (casts "
                "llama and gemma and no beta for the RMS forms)");
        return -1;
    }
    if (rows == 0)
        return 0;
    if (dim == 0 || s->x == NULL || rounded == NULL || s->x_stride < dim ||
        out_stride < dim ||
        !ln_op_has_residual(s->op) != (s->residual == NULL) ||
        !ln_op_has_residual(s->op) != (h == NULL)) {
        set_err(err, errlen, "ground truth: bad arguments (dim 0, NULL "
                "pointer, stride below dim, residual and h not both given "
                "exactly for the add_ operations)");
        return -1;
    }
    if ((uint64_t)dim > ((uint64_t)1 << 38)) {
        /* the integer bins of gt_row could overflow */
        set_err(err, errlen, "ground truth: rows longer than 2^38 elements "
                "are not supported");
        return -1;
    }
    for (i = 0; i < dim; i++) {
        if ((s->gamma != NULL && !gt_in_dtype(s->gamma[i], s->dtype)) ||
            (s->beta != NULL && !gt_in_dtype(s->beta[i], s->dtype))) {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "ground truth: gamma or beta [%zu] is not "
                         "a %s value", i, ln_dtype_name(s->dtype));
            return -1;
        }
    }
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    /* Threads only where MPFR keeps its state per thread. */
    if (!mpfr_buildopt_tls_p())
        threads = 1;
    nt = threads < rows ? threads : rows;

    jobs = calloc(nt, sizeof *jobs);
    tids = calloc(nt, sizeof *tids);
    /* The column factor: gamma, or gemma's fl32(1 + w); without the
     * tensor every cast scales by 1. */
    if (s->gamma != NULL && s->cast == LN_CAST_GEMMA)
        gemma = gt_gemma_factors(s->gamma, dim);
    gfac = gemma != NULL ? gemma : s->gamma;
    if (gfac != NULL && s->cast != LN_CAST_LLAMA)
        gn = gt_columns(gfac, dim, (unsigned long)dim);
    if (s->beta != NULL)
        bm = gt_columns(s->beta, dim, 1);
    if (jobs == NULL || tids == NULL ||
        (s->gamma != NULL && s->cast == LN_CAST_GEMMA && gemma == NULL) ||
        (gfac != NULL && s->cast != LN_CAST_LLAMA && gn == NULL) ||
        (s->beta != NULL && bm == NULL)) {
        free(jobs);
        free(tids);
        free(gemma);
        gt_columns_free(gn, dim);
        gt_columns_free(bm, dim);
        set_err(err, errlen, "ground truth: out of memory");
        return -1;
    }
    for (t = 0; t < nt; t++) {
        gt_job *j = &jobs[t];
        /* Contiguous blocks, sizes differing by at most one row. */
        size_t cnt = rows / nt + (t < rows % nt ? 1 : 0);
        j->op = s->op;
        j->dtype = s->dtype;
        j->cast = s->cast;
        j->x = s->x;
        j->residual = s->residual;
        j->row0 = row0;
        j->rows = cnt;
        j->dim = dim;
        j->x_stride = s->x_stride;
        j->gamma = s->gamma;
        j->beta = s->beta;
        j->gfac = gfac;
        j->eps = s->eps;
        j->rounded = rounded;
        j->hi = hi;
        j->lo = lo;
        j->h = h;
        j->out_stride = out_stride;
        j->gn = (const mpfr_t *)gn;
        j->bm = (const mpfr_t *)bm;
        j->status = -1;
        row0 += cnt;
        if (gt_ws_init(&j->ws, dim, p0, good_bits) != 0) {
            status = -1;
            break;
        }
        j->ws.fmt = &gt_fmts[s->dtype];
        j->ws_ok = 1;
    }
    if (status != 0) {
        set_err(err, errlen, "ground truth: out of memory");
    } else if (nt == 1) {
        gt_worker(&jobs[0]);
    } else {
        size_t started = 0;
        for (t = 0; t < nt; t++) {
            if (pthread_create(&tids[t], NULL, gt_thread_main, &jobs[t]) != 0)
                break;
            started++;
        }
        /* Rows of threads that failed to start are done here. */
        for (t = started; t < nt; t++)
            gt_worker(&jobs[t]);
        for (t = 0; t < started; t++)
            pthread_join(tids[t], NULL);
    }
    for (t = 0; t < nt; t++) {
        if (status == 0 && jobs[t].status != 0) {
            status = -1;
            set_err(err, errlen, jobs[t].ws.err[0] ? jobs[t].ws.err
                                                   : "ground truth: failed");
        }
        if (jobs[t].ws_ok)
            gt_ws_clear(&jobs[t].ws);
    }
    free(jobs);
    free(tids);
    free(gemma);
    gt_columns_free(gn, dim);
    gt_columns_free(bm, dim);
    return status;
}
