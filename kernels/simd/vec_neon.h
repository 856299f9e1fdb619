/*
 * vec_neon.h - the vector vocabulary on AArch64 Advanced SIMD: 4 floats,
 * 2 doubles, 4 bf16/f16 values in a vb.  f16 converts with FCVTL/FCVTN
 * (base AArch64); bf16 by integer widening (a shift) and integer round to
 * nearest even, so no BF16 extension is needed; doubles narrow to odd with
 * FCVTXN.  NEON has no masked loads or stores: a partial one goes
 * through a small zeroed buffer on the stack and memcpy, which touches only
 * the lanes asked for; a mask is the number of leading lanes.
 * No non-temporal stores (VEC_HAS_STREAM 0): AArch64 has only the STNP pair
 * store as a hint, and its effect could not be measured here (the aarch64
 * leg runs under qemu).
 */
#ifndef LNBENCH_VEC_NEON_H
#define LNBENCH_VEC_NEON_H

#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LN_INLINE static inline __attribute__((always_inline))
#define VEC_HAS_STREAM 0
#define VF_LANES 4
#define VEC_REGS 32 /* vector registers */

typedef float32x4_t vf;
typedef float64x2_t vd;
typedef float32x2_t vh;
typedef size_t vf_mask; /* the first n lanes */
typedef size_t vd_mask;
typedef uint16x4_t vb; /* 4 bf16 or f16 values */

LN_INLINE vf vf_zero(void) { return vdupq_n_f32(0.0f); }
LN_INLINE vd vd_zero(void) { return vdupq_n_f64(0.0); }
LN_INLINE vf vf_set1(float a) { return vdupq_n_f32(a); }
LN_INLINE vd vd_set1(double a) { return vdupq_n_f64(a); }
LN_INLINE vf vf_loadu(const float *p) { return vld1q_f32(p); }
LN_INLINE vd vd_loadu(const double *p) { return vld1q_f64(p); }
LN_INLINE void vf_storeu(float *p, vf v) { vst1q_f32(p, v); }
LN_INLINE void vf_stream(float *p, vf v) { vst1q_f32(p, v); }
LN_INLINE vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
LN_INLINE vd vd_add(vd a, vd b) { return vaddq_f64(a, b); }
LN_INLINE vd vd_sub(vd a, vd b) { return vsubq_f64(a, b); }
LN_INLINE vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
LN_INLINE vd vd_mul(vd a, vd b) { return vmulq_f64(a, b); }
/* a * b + c, one rounding */
LN_INLINE vf vf_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
LN_INLINE vd vd_fma(vd a, vd b, vd c) { return vfmaq_f64(c, a, b); }
LN_INLINE float vf_hsum(vf v) { return vaddvq_f32(v); }
LN_INLINE double vd_hsum(vd v) { return vaddvq_f64(v); }

LN_INLINE vf_mask vf_first(size_t n) { return n; }
LN_INLINE vd_mask vd_first(size_t n) { return n; }

/* All-ones in the first n lanes. */
LN_INLINE uint32x4_t vf_lanes(vf_mask n)
{
    static const uint32_t lane[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(lane), vdupq_n_u32((uint32_t)n));
}

LN_INLINE vf vf_load_part(const float *p, vf_mask n)
{
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(t, p, n * sizeof *p);
    return vld1q_f32(t);
}

LN_INLINE void vf_store_part(float *p, vf_mask n, vf v)
{
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, n * sizeof *p);
}

LN_INLINE vf vf_add_part(vf acc, vf_mask n, vf v)
{
    return vbslq_f32(vf_lanes(n), vaddq_f32(acc, v), acc);
}

LN_INLINE vf vf_fma_part(vf a, vf b, vf c, vf_mask n)
{
    return vbslq_f32(vf_lanes(n), vfmaq_f32(c, a, b), c);
}

LN_INLINE vd vd_load_part(const double *p, vd_mask n)
{
    double t[2] = {0.0, 0.0};
    memcpy(t, p, n * sizeof *p);
    return vld1q_f64(t);
}

LN_INLINE vd vd_keep(vd_mask n, vd v)
{
    return n >= 2 ? v : n == 1 ? vsetq_lane_f64(0.0, v, 1) : vdupq_n_f64(0.0);
}
LN_INLINE vd vd_widen(const float *p) { return vcvt_f64_f32(vld1_f32(p)); }

LN_INLINE vd vd_widen_part(const float *p, vd_mask n)
{
    float t[2] = {0.0f, 0.0f};
    memcpy(t, p, n * sizeof *p);
    return vcvt_f64_f32(vld1_f32(t));
}

LN_INLINE vh vh_narrow(vd v) { return vcvt_f32_f64(v); }
LN_INLINE vf vf_join(vh lo, vh hi) { return vcombine_f32(lo, hi); }

LN_INLINE vh vf_lo(vf v) { return vget_low_f32(v); }
LN_INLINE vh vf_hi(vf v) { return vget_high_f32(v); }
LN_INLINE vd vd_from_vh(vh v) { return vcvt_f64_f32(v); }
/* doubles -> floats rounded to odd (FCVTXN): rounding that float once more
 * to bf16 or f16 gives the double's correctly rounded value. */
#define VEC_HAS_NARROW_ODD 1
#define VEC_HAS_BF16_PAIR 0 /* norm_pipeline.h's, in memory order */
LN_INLINE vh vh_narrow_odd(vd v) { return vcvtx_f32_f64(v); }

LN_INLINE vb vb_loadu(const uint16_t *p) { return vld1_u16(p); }
LN_INLINE void vb_storeu(uint16_t *p, vb v) { vst1_u16(p, v); }
LN_INLINE void vb_stream(uint16_t *p, vb v) { vst1_u16(p, v); }
LN_INLINE void vb_stream2(uint16_t *p, vb a, vb b) { vst1q_u16(p, vcombine_u16(a, b)); }
LN_INLINE vb vb_load_first(const uint16_t *p, size_t n)
{
    uint16_t t[4] = {0, 0, 0, 0};
    memcpy(t, p, n * sizeof *p);
    return vld1_u16(t);
}
LN_INLINE void vb_store_first(uint16_t *p, size_t n, vb v)
{
    uint16_t t[4];
    vst1_u16(t, v);
    memcpy(p, t, n * sizeof *p);
}
LN_INLINE vf vf_from_bf16(vb b) { return vreinterpretq_f32_u32(vshll_n_u16(b, 16)); }
/* Round to nearest even on the 16 bits dropped (dtype_convert.h's rule; a
 * NaN here comes from bf16 operands or the default NaN, whose low 16 bits
 * are zero, so the carry cannot turn it into an infinity). */
LN_INLINE vb vb_from_f32_bf16(vf v)
{
    uint32x4_t u = vreinterpretq_u32_f32(v);
    uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    u = vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7fff)));
    return vshrn_n_u32(u, 16);
}
LN_INLINE vf vf_from_f16(vb b) { return vcvt_f32_f16(vreinterpret_f16_u16(b)); }
LN_INLINE vb vb_from_f32_f16(vf v) { return vreinterpret_u16_f16(vcvt_f16_f32(v)); }

LN_INLINE void ln_prefetch(const void *p) { __builtin_prefetch(p); }
LN_INLINE void ln_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }
LN_INLINE void ln_store_fence(void) {}

#endif
