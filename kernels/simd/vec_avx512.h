/*
 * vec_avx512.h - the vector vocabulary on AVX-512F (+ VL, DQ, FMA): 16
 * floats, 8 doubles.  Tails use k-masks, whose masked-out lanes are neither
 * read nor written (nor fault).  Include only from a file built with the
 * AVX-512 flags (kernels/CMakeLists.txt gives them per file).
 */
#ifndef LNBENCH_VEC_AVX512_H
#define LNBENCH_VEC_AVX512_H

#include <immintrin.h>
#include <stddef.h>

typedef __m512 vf;
typedef __m512d vd;
typedef __m256 vh;
typedef __mmask16 vf_mask;
typedef __mmask8 vd_mask;
#define VF_LANES 16
#define LN_X86(op) _mm512_##op
#include "vec_x86.h"

LN_INLINE vf_mask vf_first(size_t n) { return (vf_mask)(n >= 16 ? 0xFFFFu : (1u << n) - 1u); }
LN_INLINE vd_mask vd_first(size_t n) { return (vd_mask)(n >= 8 ? 0xFFu : (1u << n) - 1u); }
LN_INLINE vf vf_load_part(const float *p, vf_mask k) { return _mm512_maskz_loadu_ps(k, p); }
LN_INLINE void vf_store_part(float *p, vf_mask k, vf v) { _mm512_mask_storeu_ps(p, k, v); }
LN_INLINE vf vf_add_part(vf acc, vf_mask k, vf v) { return _mm512_mask_add_ps(acc, k, acc, v); }
LN_INLINE vf vf_fma_part(vf a, vf b, vf c, vf_mask k) { return _mm512_mask3_fmadd_ps(a, b, c, k); }
LN_INLINE float vf_hsum(vf v) { return _mm512_reduce_add_ps(v); }
LN_INLINE double vd_hsum(vd v) { return _mm512_reduce_add_pd(v); }

LN_INLINE vd vd_load_part(const double *p, vd_mask k) { return _mm512_maskz_loadu_pd(k, p); }
LN_INLINE vd vd_keep(vd_mask k, vd v) { return _mm512_maskz_mov_pd(k, v); }
LN_INLINE vd vd_widen(const float *p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
LN_INLINE vd vd_widen_part(const float *p, vd_mask k)
{
    return _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, p));
}
LN_INLINE vf vf_join(vh lo, vh hi)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
}
LN_INLINE void vh_store_part(float *p, vd_mask k, vh v) { _mm256_mask_storeu_ps(p, k, v); }

#endif
