/*
 * vec_avx2.h - the vector vocabulary on AVX2 + FMA + F16C: 8 floats, 4
 * doubles, 8 bf16/f16 values in a vb.  Float tails use vmaskmov loads and
 * stores, which neither read nor write (nor fault on) the masked-out lanes;
 * masks are vectors of all-ones lanes.  AVX2 has no 16-bit masked moves:
 * 16-bit tails go through a zeroed stack buffer and memcpy, which touches
 * only the elements asked for.  bf16 is converted with integer shifts and
 * adds (round to nearest even, subnormals kept), f16 with F16C.
 * Include only from a file built with -mavx2 -mfma -mf16c.
 */
#ifndef LNBENCH_VEC_AVX2_H
#define LNBENCH_VEC_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef __m256 vf;
typedef __m256d vd;
typedef __m128 vh;
typedef __m256i vf_mask; /* 8 x 32-bit lanes */
typedef __m128i vd_mask; /* 4 x 32-bit lanes: vmaskmov of 4 floats */
typedef __m128i vb;      /* 8 bf16 or f16 values */
#define VF_LANES 8
#define VEC_REGS 16 /* vector registers */
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

LN_INLINE vh vf_lo(vf v) { return _mm256_castps256_ps128(v); }
LN_INLINE vh vf_hi(vf v) { return _mm256_extractf128_ps(v, 1); }
LN_INLINE vd vd_from_vh(vh v) { return _mm256_cvtps_pd(v); }

/* The low 32 bits of each 64-bit lane of a compare mask, as 4 lanes. */
LN_INLINE __m128i vd_mask_lanes(vd m)
{
    __m256 f = _mm256_castpd_ps(m);
    return _mm_castps_si128(_mm_shuffle_ps(_mm256_castps256_ps128(f),
                                           _mm256_extractf128_ps(f, 1), _MM_SHUFFLE(2, 0, 2, 0)));
}

/* doubles -> floats rounded to odd: the float toward zero, with its last
 * bit set when inexact.  Rounding that float once more to bf16 or f16 (13
 * or more bits fewer) gives the double's correctly rounded value: no
 * double rounding.  From the nearest float f: one step toward zero when
 * f was rounded away from it, then the sticky bit. */
LN_INLINE vh vh_narrow_odd(vd v)
{
    const vd abs = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    __m128 f = _mm256_cvtpd_ps(v);
    vd b = _mm256_cvtps_pd(f);
    __m128i inexact = vd_mask_lanes(_mm256_cmp_pd(b, v, _CMP_NEQ_UQ));
    __m128i away = vd_mask_lanes(
        _mm256_cmp_pd(_mm256_and_pd(b, abs), _mm256_and_pd(v, abs), _CMP_GT_OQ));
    __m128i u = _mm_add_epi32(_mm_castps_si128(f), away); /* away: -1 */
    u = _mm_or_si128(u, _mm_and_si128(inexact, _mm_set1_epi32(1)));
    return _mm_castsi128_ps(u);
}

/* Round-to-odd takes ~14 instructions per 4 lanes here: norm_accurate.h
 * narrows to nearest and tests for the rare midpoint instead. */
#define VEC_HAS_NARROW_ODD 0
LN_INLINE int vf_any_bits(vf v, uint32_t mask, uint32_t pat)
{
    __m256i u = _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32((int)mask));
    __m256i eq = _mm256_cmpeq_epi32(u, _mm256_set1_epi32((int)pat));
    return !_mm256_testz_si256(eq, eq);
}
LN_INLINE int vf_any_tiny(vf v, float t)
{
    __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
    __m256 in = _mm256_and_ps(_mm256_cmp_ps(a, _mm256_set1_ps(t), _CMP_LT_OQ),
                              _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GT_OQ));
    return _mm256_movemask_ps(in) != 0;
}

LN_INLINE vb vb_loadu(const uint16_t *p) { return _mm_loadu_si128((const __m128i *)p); }
LN_INLINE void vb_storeu(uint16_t *p, vb v) { _mm_storeu_si128((__m128i *)p, v); }
LN_INLINE void vb_stream(uint16_t *p, vb v) { _mm_stream_si128((__m128i *)p, v); }
/* a then b, as one 32-byte non-temporal store. */
LN_INLINE void vb_stream2(uint16_t *p, vb a, vb b)
{
    _mm256_stream_si256((__m256i *)p, _mm256_set_m128i(b, a));
}
/* The first n < 8 values, zeros after them. */
LN_INLINE vb vb_load_first(const uint16_t *p, size_t n)
{
    uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(t, p, n * sizeof *p);
    return vb_loadu(t);
}
LN_INLINE void vb_store_first(uint16_t *p, size_t n, vb v)
{
    uint16_t t[8];
    vb_storeu(t, v);
    memcpy(p, t, n * sizeof *p);
}

LN_INLINE vf vf_from_bf16(vb b)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
}
/* Round to nearest even on the 16 bits dropped (dtype_convert.h's rule; a
 * NaN here comes from bf16 operands or the default NaN, whose low 16 bits
 * are zero, so the carry cannot turn it into an infinity). */
LN_INLINE __m256i bf16_bits(vf v)
{
    __m256i u = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    u = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
    return _mm256_srli_epi32(u, 16); /* the bf16 in each lane's low half */
}
LN_INLINE vb vb_from_f32_bf16(vf v)
{
    __m256i u = bf16_bits(v);
    return _mm_packus_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
}

/* 16 bf16 values at p as two float vectors, with in-lane unpacks
 * (vpmovzxwd crosses the 128-bit lanes, and the narrowing's extract and
 * pack too: the pipeline's bf16 output pass was bound on those shuffles).
 * The order is the lanes': a holds elements 0-3 and 8-11, b 4-7 and
 * 12-15.  vf_pair_store_bf16 takes them back in that order, one in-lane
 * pack restoring memory order. */
#define VEC_HAS_BF16_PAIR 1
LN_INLINE void vf_pair_load_bf16(const uint16_t *p, vf *a, vf *b)
{
    __m256i u = _mm256_loadu_si256((const __m256i *)p), z = _mm256_setzero_si256();
    *a = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, u));
    *b = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, u));
}
LN_INLINE void vf_pair_store_bf16(uint16_t *p, vf a, vf b, int stream)
{
    __m256i r = _mm256_packus_epi32(bf16_bits(a), bf16_bits(b));
    if (stream)
        _mm256_stream_si256((__m256i *)p, r);
    else
        _mm256_storeu_si256((__m256i *)p, r);
}
LN_INLINE vf vf_from_f16(vb b) { return _mm256_cvtph_ps(b); }
LN_INLINE vb vb_from_f32_f16(vf v)
{
    return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

#endif
