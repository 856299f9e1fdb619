/*
 * vec_avx2.h - the vector vocabulary on AVX2 + FMA: 8 floats, 4 doubles.
 * Tails use vmaskmov loads and stores, which neither read nor write (nor
 * fault on) the masked-out lanes; masks are vectors of all-ones lanes.
 * Include only from a file built with -mavx2 -mfma.
 */
#ifndef LNBENCH_VEC_AVX2_H
#define LNBENCH_VEC_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef __m256 vf;
typedef __m256d vd;
typedef __m128 vh;
typedef __m256i vf_mask; /* 8 x 32-bit lanes */
typedef __m128i vd_mask; /* 4 x 32-bit lanes: vmaskmov of 4 floats */
#define VF_LANES 8
#define LN_X86(op) _mm256_##op
#include "vec_x86.h"

/* ln_mask_src + 8 - n: the first n of 8 (or 4) lanes. */
static const int32_t ln_mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                        0,  0,  0,  0,  0,  0,  0,  0};

LN_INLINE vf_mask vf_first(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(ln_mask_src + 8 - n));
}
LN_INLINE vd_mask vd_first(size_t n)
{
    return _mm_loadu_si128((const __m128i *)(ln_mask_src + 8 - n));
}
LN_INLINE vf vf_load_part(const float *p, vf_mask k) { return _mm256_maskload_ps(p, k); }
LN_INLINE void vf_store_part(float *p, vf_mask k, vf v) { _mm256_maskstore_ps(p, k, v); }
LN_INLINE vf vf_add_part(vf acc, vf_mask k, vf v)
{
    return _mm256_blendv_ps(acc, _mm256_add_ps(acc, v), _mm256_castsi256_ps(k));
}
LN_INLINE vf vf_fma_part(vf a, vf b, vf c, vf_mask k)
{
    return _mm256_blendv_ps(c, _mm256_fmadd_ps(a, b, c), _mm256_castsi256_ps(k));
}
LN_INLINE float vf_hsum(vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
LN_INLINE double vd_hsum(vd v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* A vd_mask's lanes widened to the 64-bit lanes of a vd. */
LN_INLINE __m256i vd_lanes(vd_mask k) { return _mm256_cvtepi32_epi64(k); }
LN_INLINE vd vd_load_part(const double *p, vd_mask k) { return _mm256_maskload_pd(p, vd_lanes(k)); }
LN_INLINE vd vd_keep(vd_mask k, vd v) { return _mm256_and_pd(v, _mm256_castsi256_pd(vd_lanes(k))); }
LN_INLINE vd vd_widen(const float *p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
LN_INLINE vd vd_widen_part(const float *p, vd_mask k)
{
    return _mm256_cvtps_pd(_mm_maskload_ps(p, k));
}
LN_INLINE vf vf_join(vh lo, vh hi) { return _mm256_set_m128(hi, lo); }
LN_INLINE void vh_store_part(float *p, vd_mask k, vh v) { _mm_maskstore_ps(p, k, v); }

#endif
