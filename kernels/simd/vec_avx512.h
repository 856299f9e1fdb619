/*
 * vec_avx512.h - the vector vocabulary on AVX-512F (+ VL, DQ, BW, FMA): 16
 * floats, 8 doubles, 16 bf16/f16 values in a vb.  Tails use k-masks, whose
 * masked-out lanes are neither read nor written (nor fault).  f16 converts
 * with VCVTPH2PS/VCVTPS2PH; bf16 widens by a shift and narrows with
 * VCVTNEPS2BF16 where the file is built with AVX512_BF16 (fixing the lanes
 * the instruction flushes: it treats binary32 subnormals as zero), else
 * with integer adds.  Include only from a file built with the AVX-512
 * flags (kernels/CMakeLists.txt gives them per file).
 */
#ifndef LNBENCH_VEC_AVX512_H
#define LNBENCH_VEC_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

typedef __m512 vf;
typedef __m512d vd;
typedef __m256 vh;
typedef __mmask16 vf_mask;
typedef __mmask8 vd_mask;
typedef __m256i vb; /* 16 bf16 or f16 values */
#define VF_LANES 16
#define VEC_REGS 32 /* vector registers */
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

LN_INLINE vh vf_lo(vf v) { return _mm512_castps512_ps256(v); }
LN_INLINE vh vf_hi(vf v) { return _mm512_extractf32x8_ps(v, 1); }
LN_INLINE vd vd_from_vh(vh v) { return _mm512_cvtps_pd(v); }

/* Whether a lane of v has bits & mask == pat, and whether one lies in
 * 0 < |v| < t: the accurate kernels' test for a float on a possible
 * midpoint of bf16/f16 (norm_accurate.h's acc_narrow). */
LN_INLINE int vf_any_bits(vf v, uint32_t mask, uint32_t pat)
{
    __m512i u = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)mask));
    return _mm512_cmpeq_epi32_mask(u, _mm512_set1_epi32((int)pat)) != 0;
}
LN_INLINE int vf_any_tiny(vf v, float t)
{
    const __m512 a = _mm512_abs_ps(v);
    return (_mm512_cmp_ps_mask(a, _mm512_set1_ps(t), _CMP_LT_OQ) &
            _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ)) != 0;
}

/* doubles -> floats rounded to odd (truncated, last bit set when inexact):
 * rounding that float once more to bf16 or f16 gives the double's
 * correctly rounded value, without double rounding.  Four instructions per
 * eight lanes, so, as on AVX2, acc_narrow narrows to nearest and takes
 * this only for a vector with a lane on a possible midpoint (Zen 4,
 * avx512_accurate rmsnorm at 64 x 4096 in bf16: 8.1 -> 9.3 GB/s, the same
 * bits). */
#define VEC_HAS_NARROW_ODD 0
LN_INLINE vh vh_narrow_odd(vd v)
{
    __m256 t = _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask8 inexact = _mm512_cmp_pd_mask(_mm512_cvtps_pd(t), v, _CMP_NEQ_UQ);
    __m256i u = _mm256_castps_si256(t);
    return _mm256_castsi256_ps(_mm256_mask_or_epi32(u, inexact, u, _mm256_set1_epi32(1)));
}

LN_INLINE vb vb_loadu(const uint16_t *p) { return _mm256_loadu_si256((const __m256i *)p); }
LN_INLINE void vb_storeu(uint16_t *p, vb v) { _mm256_storeu_si256((__m256i *)p, v); }
LN_INLINE void vb_stream(uint16_t *p, vb v) { _mm256_stream_si256((__m256i *)p, v); }
/* a then b, as one 64-byte non-temporal store (a whole cache line). */
LN_INLINE void vb_stream2(uint16_t *p, vb a, vb b)
{
    _mm512_stream_si512((void *)p, _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1));
}
/* The first n < 16 values, zeros after them. */
LN_INLINE vb vb_load_first(const uint16_t *p, size_t n)
{
    return _mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1u), p);
}
LN_INLINE void vb_store_first(uint16_t *p, size_t n, vb v)
{
    _mm256_mask_storeu_epi16(p, (__mmask16)((1u << n) - 1u), v);
}

LN_INLINE vf vf_from_bf16(vb b)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
}
/* Each lane rounded to nearest even on the 16 bits dropped, the bf16 in its
 * high half (dtype_convert.h's rule; a NaN here comes from bf16 operands or
 * the default NaN, whose low 16 bits are zero, so the carry cannot turn it
 * into an infinity). */
LN_INLINE __m512i bf16_round(vf v)
{
    __m512i u = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    return _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
}
LN_INLINE vb vb_from_f32_bf16_int(vf v)
{
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(bf16_round(v), 16));
}
#ifdef __AVX512BF16__
/* VCVTNEPS2BF16 rounds to nearest even too, but flushes binary32
 * subnormals to zero: lanes below 2^-126 (and not zero) take the integer
 * path, a branch not taken on ordinary rows. */
LN_INLINE vb vb_from_f32_bf16(vf v)
{
    vb r = (vb)_mm512_cvtneps_pbh(v);
    __mmask16 sub = _mm512_fpclass_ps_mask(v, 0x20); /* the denormal class */
    if (__builtin_expect(sub != 0, 0)) /* out of the hot path */
        r = _mm256_mask_mov_epi16(r, sub, vb_from_f32_bf16_int(v));
    return r;
}
#else
LN_INLINE vb vb_from_f32_bf16(vf v) { return vb_from_f32_bf16_int(v); }
#endif
/* 32 bf16 values at p as two float vectors without crossing lanes: a
 * holds the even elements (each 32-bit lane's low bf16 shifted up), b the
 * odd ones (its high bf16 masked).  On Zen 4 the memory-order widening,
 * vpmovzxwd zmm, bound bf16 RMSNorm at 64 x 4096 to 27 GB/s, where
 * binary32 ran 65; in-lane unpacks gave 32, these 34, and with the store
 * below 37-39.  vf_pair_store_bf16 takes the pair back in that order. */
#define VEC_HAS_BF16_PAIR 1
LN_INLINE void vf_pair_load_bf16(const uint16_t *p, vf *a, vf *b)
{
    __m512i u = _mm512_loadu_si512((const void *)p);
    *a = _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
    *b = _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xffff0000u)));
}
/* The even elements a and odd elements b rounded to bf16 and interleaved
 * to memory order: VCVTNE2PS2BF16 rounds both (a's 16 in the low half, b's
 * in the high) and one vpermw interleaves them; it flushes binary32
 * subnormals, so a pair holding one rounds with integers instead (the
 * rounded odd lane's high half over the even lane's shifted down). */
LN_INLINE void vf_pair_store_bf16(uint16_t *p, vf a, vf b, int stream)
{
    __m512i r;
#ifdef __AVX512BF16__
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12,
                                         27, 11, 26, 10, 25, 9, 24, 8,
                                         23, 7, 22, 6, 21, 5, 20, 4,
                                         19, 3, 18, 2, 17, 1, 16, 0);
    const __mmask16 sub_a = _mm512_fpclass_ps_mask(a, 0x20);
    const __mmask16 sub_b = _mm512_fpclass_ps_mask(b, 0x20);
    if (__builtin_expect((sub_a | sub_b) == 0, 1))
        r = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    else
#endif
        r = _mm512_ternarylogic_epi32(_mm512_srli_epi32(bf16_round(a), 16), bf16_round(b),
                                      _mm512_set1_epi32((int)0xffff0000u), 0xf8);
    if (stream)
        _mm512_stream_si512((void *)p, r);
    else
        _mm512_storeu_si512((void *)p, r);
}
LN_INLINE vf vf_from_f16(vb b) { return _mm512_cvtph_ps(b); }
LN_INLINE vb vb_from_f32_f16(vf v)
{
    return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

#endif
