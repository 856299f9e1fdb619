/*
 * vec_x86.h - the part of the vector vocabulary that AVX2 and AVX-512 spell
 * alike: one intrinsic, with _mm256_ or _mm512_ in front.  Included by
 * vec_avx2.h and vec_avx512.h once they have defined the types vf (floats),
 * vd (doubles) and LN_X86(op), the intrinsic's full name.
 * The vocabulary itself is described in norm_pipeline.h.
 */
#ifndef LNBENCH_VEC_X86_H
#define LNBENCH_VEC_X86_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define LN_INLINE static inline __attribute__((always_inline))
#define VEC_HAS_STREAM 1

LN_INLINE vf vf_zero(void) { return LN_X86(setzero_ps)(); }
LN_INLINE vd vd_zero(void) { return LN_X86(setzero_pd)(); }
LN_INLINE vf vf_set1(float a) { return LN_X86(set1_ps)(a); }
LN_INLINE vd vd_set1(double a) { return LN_X86(set1_pd)(a); }
LN_INLINE vf vf_loadu(const float *p) { return LN_X86(loadu_ps)(p); }
LN_INLINE vd vd_loadu(const double *p) { return LN_X86(loadu_pd)(p); }
LN_INLINE void vf_storeu(float *p, vf v) { LN_X86(storeu_ps)(p, v); }
LN_INLINE void vf_stream(float *p, vf v) { LN_X86(stream_ps)(p, v); }
LN_INLINE vf vf_add(vf a, vf b) { return LN_X86(add_ps)(a, b); }
LN_INLINE vd vd_add(vd a, vd b) { return LN_X86(add_pd)(a, b); }
LN_INLINE vd vd_sub(vd a, vd b) { return LN_X86(sub_pd)(a, b); }
LN_INLINE vf vf_mul(vf a, vf b) { return LN_X86(mul_ps)(a, b); }
LN_INLINE vd vd_mul(vd a, vd b) { return LN_X86(mul_pd)(a, b); }
/* a * b + c, one rounding */
LN_INLINE vf vf_fma(vf a, vf b, vf c) { return LN_X86(fmadd_ps)(a, b, c); }
LN_INLINE vd vd_fma(vd a, vd b, vd c) { return LN_X86(fmadd_pd)(a, b, c); }
LN_INLINE vh vh_narrow(vd v) { return LN_X86(cvtpd_ps)(v); }

LN_INLINE void ln_prefetch(const void *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
LN_INLINE void ln_prefetch_l2(const void *p) { _mm_prefetch((const char *)p, _MM_HINT_T1); }
/* Orders the non-temporal stores before the kernel returns. */
LN_INLINE void ln_store_fence(void) { _mm_sfence(); }

#endif
