/*
 * neon_accurate.c - the accurate AArch64 Advanced SIMD kernel: binary32 in
 * and out, statistics and normalisation in double (float64x2_t, two lanes
 * per register, 4 floats per load), one rounding to binary32 at the end.
 *
 * Why it stays within 1 ulp of the exact result:
 *  - every binary32 (subnormals included) is exact in double, and no square
 *    of a binary32 difference can overflow or underflow double (|d| < 2^129,
 *    |d| >= 2^-149 or 0), so huge (|x| up to 1e30 and beyond) and subnormal
 *    rows need no special path;
 *  - S = sum(x - x0) and ssq = sum(d^2) carry relative errors ~n 2^-53, so
 *    the mean, the deviations d = (x - mhi) - mlo (the mean as a double
 *    pair: its low bits are kept) and rstd are good to ~2^-40 relatively
 *    for n <= 12288, far below the final rounding's 2^-24;
 *  - y = fma(d * rstd, gamma, beta) in double, then one rounding (FCVTN,
 *    round to nearest): error 0.5 ulp + ~2^-28 ulp, except where gamma*xhat
 *    and beta cancel to ~2^-28 of their size, which the default gamma/beta
 *    make a ~1e-8-per-element event.
 * Shifting by x0 makes a constant row's S exactly 0 for any dim, so its
 * output is exactly beta.  S is finite for every finite row (no overflow in
 * double), so a non-finite S means NaN or Inf in the row: the row is NaN.
 *
 * Tails: whole 4-float vectors, then scalar code with the same double
 * operations; nothing is read or written past dim.  Stores are ordinary
 * (see neon.c).
 */
#include "f32_rows.h"
#include "lnbench_kernel.h"
#include "cpu_features.h"

#include <math.h>

#ifndef __aarch64__
#error "neon_accurate.c is built only for AArch64 (see kernels/CMakeLists.txt)"
#endif
#include <arm_neon.h>

#define NEON_INLINE static inline __attribute__((always_inline))

/* Mean (as mhi + mlo) and sum of squared deviations in double.  Returns -1
 * for a row holding NaN or Inf. */
static int row_stats_f64(const float *x, size_t n, double *mhi_out,
                         double *mlo_out, double *ssq_out)
{
    const double x0 = x[0];
    const float64x2_t v0 = vdupq_n_f64(x0);
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;

    /* Four double accumulators over 8 floats per step. */
    for (; j + 8 <= n; j += 8) {
        float32x4_t u = vld1q_f32(x + j), w = vld1q_f32(x + j + 4);
        a0 = vaddq_f64(a0, vsubq_f64(vcvt_f64_f32(vget_low_f32(u)), v0));
        a1 = vaddq_f64(a1, vsubq_f64(vcvt_high_f64_f32(u), v0));
        a2 = vaddq_f64(a2, vsubq_f64(vcvt_f64_f32(vget_low_f32(w)), v0));
        a3 = vaddq_f64(a3, vsubq_f64(vcvt_high_f64_f32(w), v0));
    }
    if (j + 4 <= n) {
        float32x4_t u = vld1q_f32(x + j);
        a0 = vaddq_f64(a0, vsubq_f64(vcvt_f64_f32(vget_low_f32(u)), v0));
        a1 = vaddq_f64(a1, vsubq_f64(vcvt_high_f64_f32(u), v0));
        j += 4;
    }
    double sum = vaddvq_f64(vaddq_f64(vaddq_f64(a0, a1), vaddq_f64(a2, a3)));
    for (; j < n; j++)
        sum += (double)x[j] - x0;
    if (!isfinite(sum))
        return -1;
    /* mhi + mlo = x0 + S/n exactly (2Sum).  A double mean alone would be
     * off by up to |mean| 2^-53 (1e-12 at offset 1e4), enough to cost
     * several ulps where gamma*xhat and beta nearly cancel; x - mhi is
     * exact on offset rows (Sterbenz) and mlo is then subtracted. */
    const double m1 = sum / (double)n;
    const double mhi = x0 + m1;
    const double bb = mhi - x0;
    const double mlo = (x0 - (mhi - bb)) + (m1 - bb);

    const float64x2_t vhi = vdupq_n_f64(mhi), vlo = vdupq_n_f64(mlo);
    a0 = a1 = a2 = a3 = vdupq_n_f64(0.0);
    j = 0;
    for (; j + 8 <= n; j += 8) {
        float32x4_t u = vld1q_f32(x + j), w = vld1q_f32(x + j + 4);
        float64x2_t d0 = vsubq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(u)), vhi), vlo);
        float64x2_t d1 = vsubq_f64(vsubq_f64(vcvt_high_f64_f32(u), vhi), vlo);
        float64x2_t d2 = vsubq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(w)), vhi), vlo);
        float64x2_t d3 = vsubq_f64(vsubq_f64(vcvt_high_f64_f32(w), vhi), vlo);
        a0 = vfmaq_f64(a0, d0, d0);
        a1 = vfmaq_f64(a1, d1, d1);
        a2 = vfmaq_f64(a2, d2, d2);
        a3 = vfmaq_f64(a3, d3, d3);
    }
    if (j + 4 <= n) {
        float32x4_t u = vld1q_f32(x + j);
        float64x2_t d0 = vsubq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(u)), vhi), vlo);
        float64x2_t d1 = vsubq_f64(vsubq_f64(vcvt_high_f64_f32(u), vhi), vlo);
        a0 = vfmaq_f64(a0, d0, d0);
        a1 = vfmaq_f64(a1, d1, d1);
        j += 4;
    }
    double ssq = vaddvq_f64(vaddq_f64(vaddq_f64(a0, a1), vaddq_f64(a2, a3)));
    for (; j < n; j++) {
        double d = ((double)x[j] - mhi) - mlo;
        ssq = fma(d, d, ssq);
    }
    *mhi_out = mhi;
    *mlo_out = mlo;
    *ssq_out = ssq;
    return 0;
}

/* Four floats of y = fma(d * rstd, gamma, beta) in double, rounded once. */
NEON_INLINE float32x4_t apply4(float32x4_t xv, float64x2_t vhi,
                               float64x2_t vlo, float64x2_t vr, const float *g,
                               const float *b, int has_g, int has_b)
{
    float64x2_t d0 = vsubq_f64(vsubq_f64(vcvt_f64_f32(vget_low_f32(xv)), vhi), vlo);
    float64x2_t d1 = vsubq_f64(vsubq_f64(vcvt_high_f64_f32(xv), vhi), vlo);
    float64x2_t t0 = vmulq_f64(d0, vr);
    float64x2_t t1 = vmulq_f64(d1, vr);
    if (has_g) {
        float32x4_t gv = vld1q_f32(g);
        float64x2_t g0 = vcvt_f64_f32(vget_low_f32(gv));
        float64x2_t g1 = vcvt_high_f64_f32(gv);
        if (has_b) {
            float32x4_t bv = vld1q_f32(b);
            t0 = vfmaq_f64(vcvt_f64_f32(vget_low_f32(bv)), t0, g0);
            t1 = vfmaq_f64(vcvt_high_f64_f32(bv), t1, g1);
        } else {
            t0 = vmulq_f64(t0, g0);
            t1 = vmulq_f64(t1, g1);
        }
    } else if (has_b) {
        float32x4_t bv = vld1q_f32(b);
        t0 = vaddq_f64(t0, vcvt_f64_f32(vget_low_f32(bv)));
        t1 = vaddq_f64(t1, vcvt_high_f64_f32(bv));
    }
    return vcvt_high_f32_f64(vcvt_f32_f64(t0), t1);
}

NEON_INLINE void row_apply_f64(const float *x, float *y, size_t n,
                               const float *g, const float *b, int has_g,
                               int has_b, double mhi, double mlo, double rstd)
{
    const float64x2_t vhi = vdupq_n_f64(mhi), vlo = vdupq_n_f64(mlo);
    const float64x2_t vr = vdupq_n_f64(rstd);
    size_t j = 0;
/* No arithmetic on a NULL gamma/beta (undefined behaviour). */
#define AT(p, k) (has_##p ? p + (k) : NULL)
    for (; j + 8 <= n; j += 8) {
        float32x4_t u = vld1q_f32(x + j), w = vld1q_f32(x + j + 4);
        vst1q_f32(y + j, apply4(u, vhi, vlo, vr, AT(g, j), AT(b, j), has_g, has_b));
        vst1q_f32(y + j + 4,
                  apply4(w, vhi, vlo, vr, AT(g, j + 4), AT(b, j + 4), has_g, has_b));
    }
    if (j + 4 <= n) {
        vst1q_f32(y + j, apply4(vld1q_f32(x + j), vhi, vlo, vr, AT(g, j), AT(b, j),
                                has_g, has_b));
        j += 4;
    }
#undef AT
    for (; j < n; j++) {
        double t = (((double)x[j] - mhi) - mlo) * rstd;
        if (has_g && has_b)
            t = fma(t, g[j], b[j]);
        else if (has_g)
            t *= g[j];
        else if (has_b)
            t += b[j];
        y[j] = (float)t;
    }
}

static int neon_accurate_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    const ln_f32_rows view = ln_f32_rows_of(d, t), *a = &view;
    (void)state;
    const size_t n = a->dim;
    const float *g = a->gamma, *b = a->beta;
    for (size_t i = 0; i < a->rows; i++) {
        const float *x = a->x + i * a->x_stride;
        float *y = a->y + i * a->y_stride;
        double mhi, mlo, ssq, rstd;
        if (row_stats_f64(x, n, &mhi, &mlo, &ssq) != 0) {
            for (size_t j = 0; j < n; j++)
                y[j] = NAN;
            mhi = rstd = NAN;
        } else {
            rstd = 1.0 / sqrt(ssq / (double)n + (double)a->eps);
            /* One specialised loop per gamma/beta presence. */
            if (g && b)
                row_apply_f64(x, y, n, g, b, 1, 1, mhi, mlo, rstd);
            else if (g)
                row_apply_f64(x, y, n, g, b, 1, 0, mhi, mlo, rstd);
            else if (b)
                row_apply_f64(x, y, n, g, b, 0, 1, mhi, mlo, rstd);
            else
                row_apply_f64(x, y, n, g, b, 0, 0, mhi, mlo, rstd);
        }
        if (a->mean)
            a->mean[i] = (float)mhi;
        if (a->rstd)
            a->rstd[i] = (float)rstd;
    }
    return 0;
}

const ln_kernel ln_kernel_neon_accurate = {
    .name = "neon_accurate",
    .family = "neon",
    .description = "AArch64 NEON, statistics and normalisation in double, one rounding",
    .forward = neon_accurate_forward,
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM), .dtypes = LN_BIT(LN_DTYPE_F32),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NEON,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,
             .flags = LN_CAP_EXACT_CONSTANT},
};
