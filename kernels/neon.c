/*
 * neon.c - the fast AArch64 Advanced SIMD kernel: binary32 throughout,
 * 4 lanes, two-pass statistics with independent accumulators, FMA.
 *
 * Per row (the row stays in L1 between the three passes for usual dims):
 *   1. S = sum(x - x0) with four vector accumulators (16 floats per step).
 *      Shifting by the row's first element makes a constant row sum to
 *      exactly 0, so its mean is exactly x0, every deviation exactly 0 and
 *      the output exactly beta.  On offset rows (x ~ 1e4 + N(0,1)) x - x0 is
 *      exact (Sterbenz) and S is a sum of O(1) terms, so the mean is not
 *      polluted by n u |mean|.
 *   2. The mean is kept as an unevaluated float pair mhi + mlo, and
 *      ssq = sum(d^2), d = (x - mhi) - mlo, with four FMA accumulators;
 *      c = sum(x - mhi) alongside (one add per vector) corrects the mean and
 *      ssq (corrected two-pass).
 *      Both passes add in float within chunks of 256 elements and carry the
 *      chunk sums in double (see CHUNK): the hot loops stay binary32.
 *   3. rstd = 1 / sqrt(ssq/n + eps) once per row, an exact square root and
 *      divide (no vrsqrte estimate) done in double so that rstd is rounded
 *      once (free: it is per row); y = beta + d * rstd * gamma in two FMAs.
 *
 * A row whose binary32 statistics come out non-finite - NaN or Inf in the
 * row, or squares overflowing binary32 (|x| >~ 1e19) - is redone by
 * ln_row_f64 (row_f64.h, shared with the x86 kernels): in double nothing
 * overflows, and NaN/Inf propagate to a row of NaN (mean and rstd NaN too).
 * The check is one compare per row; only such rows pay for the slow path.
 *
 * Tails: whole vectors while they fit, then scalar code with the same
 * operations; nothing is loaded or stored past dim.
 * Stores are ordinary (the store hint is ignored): AArch64 has only the
 * STNP pair store as a non-temporal hint, and its effect could not be
 * measured here (the aarch64 leg runs under qemu).
 */
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "cpu_features.h"
#include "row_f64.h"

#include <math.h>

#ifndef __aarch64__
#error "neon.c is built only for AArch64 (see kernels/CMakeLists.txt)"
#endif
#include <arm_neon.h>

/* Forced inlining with constant flags gives one specialised loop per
 * gamma/beta combination instead of branches inside the loops. */
#define NEON_INLINE static inline __attribute__((always_inline))

/* The float partial sums restart from zero every CHUNK elements and each
 * chunk's sums are carried in double.  A float lane that has absorbed a big
 * term (an outlier, or simply n/16 terms) then rounds away at most one
 * chunk's worth of later small terms instead of the rest of the row: on
 * rows with one +-1e4 outlier that took the 99th-percentile error at dim
 * 4096 from 42 to 14 ulp (measured under qemu).  Per 256 floats it costs
 * two conversions and two double adds per sum.  The scalar tails (< 4
 * elements per chunk) are computed in double, exactly. */
#define CHUNK 256

/* Add a float vector's four lanes into two double accumulators. */
NEON_INLINE void carry(float32x4_t v, float64x2_t *lo, float64x2_t *hi)
{
    *lo = vaddq_f64(*lo, vcvt_f64_f32(vget_low_f32(v)));
    *hi = vaddq_f64(*hi, vcvt_high_f64_f32(v));
}

/* Passes 1 and 2.  Returns 0 with the mean (mhi + mlo) and the sum of
 * squared deviations, or -1 when a sum is not finite (NaN/Inf input or
 * binary32 overflow of the squares). */
static int row_stats(const float *x, size_t n, float *mhi_out, float *mlo_out,
                     double *ssq_out)
{
    const float x0 = x[0];
    const float32x4_t v0 = vdupq_n_f32(x0);
    float64x2_t t0 = vdupq_n_f64(0.0), t1 = t0;
    double tail = 0.0;

    /* Pass 1: S = sum(x - x0), four accumulators per chunk. */
    for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
        const size_t end = n - j0 < CHUNK ? n : j0 + CHUNK;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        size_t j = j0;
        for (; j + 16 <= end; j += 16) {
            a0 = vaddq_f32(a0, vsubq_f32(vld1q_f32(x + j), v0));
            a1 = vaddq_f32(a1, vsubq_f32(vld1q_f32(x + j + 4), v0));
            a2 = vaddq_f32(a2, vsubq_f32(vld1q_f32(x + j + 8), v0));
            a3 = vaddq_f32(a3, vsubq_f32(vld1q_f32(x + j + 12), v0));
        }
        for (; j + 4 <= end; j += 4)
            a0 = vaddq_f32(a0, vsubq_f32(vld1q_f32(x + j), v0));
        carry(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)), &t0, &t1);
        for (; j < end; j++)
            tail += (double)x[j] - x0;
    }
    double sum = vaddvq_f64(vaddq_f64(t0, t1)) + tail;
    if (!isfinite(sum))
        return -1;

    /* The mean as a float pair mhi + mlo (double has room for both: the
     * pair is exact in it).  A constant row has S = 0: mhi = x0, mlo = 0. */
    double mean = (double)x0 + sum / (double)n;
    float mhi = (float)mean;
    float mlo = (float)(mean - (double)mhi);

    /* Pass 2: ssq = sum(d^2) with d = (x - mhi) - mlo (on offset rows x - mhi
     * is exact and mlo keeps the mean's low bits, worth thousands of output
     * ulps at offset 1e4), and c = sum(x - mhi).  c/n corrects the mean for
     * pass 1's rounding (the corrected two-pass of Chan, Golub and
     * LeVeque).  It sums x - mhi, not d: on offset rows x - mhi is exact
     * while x - mhi - mlo rounds every element of a binade the same way, a
     * bias that would not average out.  The mean then moves by
     * delta = c/n - mlo and sum((d - delta)^2) = ssq - n delta^2. */
    const float32x4_t vhi = vdupq_n_f32(mhi), vlo = vdupq_n_f32(mlo);
    float64x2_t q0 = vdupq_n_f64(0.0), q1 = q0, e0 = q0, e1 = q0;
    double qtail = 0.0, ctail = 0.0;
    for (size_t j0 = 0; j0 < n; j0 += CHUNK) {
        const size_t end = n - j0 < CHUNK ? n : j0 + CHUNK;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        float32x4_t c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        size_t j = j0;
        for (; j + 16 <= end; j += 16) {
            float32x4_t w0 = vsubq_f32(vld1q_f32(x + j), vhi);
            float32x4_t w1 = vsubq_f32(vld1q_f32(x + j + 4), vhi);
            float32x4_t w2 = vsubq_f32(vld1q_f32(x + j + 8), vhi);
            float32x4_t w3 = vsubq_f32(vld1q_f32(x + j + 12), vhi);
            float32x4_t d0 = vsubq_f32(w0, vlo), d1 = vsubq_f32(w1, vlo);
            float32x4_t d2 = vsubq_f32(w2, vlo), d3 = vsubq_f32(w3, vlo);
            c0 = vaddq_f32(c0, w0);
            c1 = vaddq_f32(c1, w1);
            c2 = vaddq_f32(c2, w2);
            c3 = vaddq_f32(c3, w3);
            a0 = vfmaq_f32(a0, d0, d0);
            a1 = vfmaq_f32(a1, d1, d1);
            a2 = vfmaq_f32(a2, d2, d2);
            a3 = vfmaq_f32(a3, d3, d3);
        }
        for (; j + 4 <= end; j += 4) {
            float32x4_t w0 = vsubq_f32(vld1q_f32(x + j), vhi);
            float32x4_t d0 = vsubq_f32(w0, vlo);
            c0 = vaddq_f32(c0, w0);
            a0 = vfmaq_f32(a0, d0, d0);
        }
        carry(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)), &q0, &q1);
        carry(vaddq_f32(vaddq_f32(c0, c1), vaddq_f32(c2, c3)), &e0, &e1);
        for (; j < end; j++) {
            double w = (double)x[j] - mhi, d = w - mlo;
            ctail += w;
            qtail += d * d;
        }
    }
    double ssq = vaddvq_f64(vaddq_f64(q0, q1)) + qtail;
    double c = vaddvq_f64(vaddq_f64(e0, e1)) + ctail;
    if (!isfinite(ssq))
        return -1;

    double m2 = c / (double)n;
    double delta = m2 - (double)mlo;
    ssq -= (double)n * delta * delta;
    mean = (double)mhi + m2;
    *mhi_out = (float)mean;
    *mlo_out = (float)(mean - (double)*mhi_out);
    *ssq_out = ssq > 0.0 ? ssq : 0.0;
    return 0;
}

/* Pass 3: y = beta + ((x - mhi) - mlo) * rstd * gamma, evaluated as
 * fma(fma(x - mhi, rstd, -mlo*rstd), gamma, beta): x - mhi is exact on
 * offset rows, and folding mlo into the first FMA saves a rounding against
 * subtracting it separately (|mlo*rstd| is tiny next to the result, so its
 * own rounding is invisible; constant rows have mlo = 0: exactly beta). */
NEON_INLINE void row_apply(const float *x, float *y, size_t n,
                           const float *g, const float *b, int has_g,
                           int has_b, float mhi, float mlo, float r)
{
    const float nlr = -(mlo * r);
    const float32x4_t vhi = vdupq_n_f32(mhi), vnl = vdupq_n_f32(nlr);
    const float32x4_t vr = vdupq_n_f32(r);
    const float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        float32x4_t t0 = vfmaq_f32(vnl, vsubq_f32(vld1q_f32(x + j), vhi), vr);
        float32x4_t t1 = vfmaq_f32(vnl, vsubq_f32(vld1q_f32(x + j + 4), vhi), vr);
        float32x4_t g0 = has_g ? vld1q_f32(g + j) : one;
        float32x4_t g1 = has_g ? vld1q_f32(g + j + 4) : one;
        float32x4_t b0 = has_b ? vld1q_f32(b + j) : zero;
        float32x4_t b1 = has_b ? vld1q_f32(b + j + 4) : zero;
        vst1q_f32(y + j, vfmaq_f32(b0, t0, g0));
        vst1q_f32(y + j + 4, vfmaq_f32(b1, t1, g1));
    }
    for (; j + 4 <= n; j += 4) {
        float32x4_t t0 = vfmaq_f32(vnl, vsubq_f32(vld1q_f32(x + j), vhi), vr);
        float32x4_t g0 = has_g ? vld1q_f32(g + j) : one;
        float32x4_t b0 = has_b ? vld1q_f32(b + j) : zero;
        vst1q_f32(y + j, vfmaq_f32(b0, t0, g0));
    }
    for (; j < n; j++) {
        float t = fmaf(x[j] - mhi, r, nlr);
        y[j] = fmaf(t, has_g ? g[j] : 1.0f, has_b ? b[j] : 0.0f);
    }
}

static void row_apply_any(const float *x, float *y, size_t n, const float *g,
                          const float *b, float mhi, float mlo, float r)
{
    if (g && b)
        row_apply(x, y, n, g, b, 1, 1, mhi, mlo, r);
    else if (g)
        row_apply(x, y, n, g, b, 1, 0, mhi, mlo, r);
    else if (b)
        row_apply(x, y, n, g, b, 0, 1, mhi, mlo, r);
    else
        row_apply(x, y, n, g, b, 0, 0, mhi, mlo, r);
}

static int neon_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    const size_t n = a->dim;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float *y = a->y + i * a->y_stride;
        float mhi = 0.0f, mlo = 0.0f;
        double ssq = 0.0;

        if (row_stats(x, n, &mhi, &mlo, &ssq) != 0) {
            ln_row_f64(x, y, n, a->gamma, a->beta, a->eps,
                       a->mean ? &a->mean[i] : NULL,
                       a->rstd ? &a->rstd[i] : NULL);
            continue;
        }
        float rstd = (float)(1.0 / sqrt(ssq / (double)n + (double)a->eps));
        row_apply_any(x, y, n, a->gamma, a->beta, mhi, mlo, rstd);
        if (a->mean)
            a->mean[i] = mhi;
        if (a->rstd)
            a->rstd[i] = rstd;
    }
    return 0;
}

const ln_kernel ln_kernel_neon = {
    .name = "neon",
    .family = "neon",
    .description = "AArch64 NEON, binary32 two-pass (shifted, split mean), FMA, 4 lanes",
    .forward = neon_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NEON,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT},
};
