/*
 * avx2_common.h - helpers shared by avx2.c and avx2_accurate.c.
 *
 * Include only from files built with -mavx2 -mfma (their own per-file
 * flags): the intrinsics below need them, and nothing else may see them.
 */
#ifndef LNBENCH_AVX2_COMMON_H
#define LNBENCH_AVX2_COMMON_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define LN_INLINE static inline __attribute__((always_inline))

/* Lane masks for vmaskmov: mask_src + 8 - n selects the first n lanes. */
static const int32_t mask_src[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                     0,  0,  0,  0,  0,  0,  0,  0};

LN_INLINE __m256i first8(size_t n) /* n <= 8 float lanes */
{
    return _mm256_loadu_si256((const __m256i *)(mask_src + 8 - n));
}

LN_INLINE __m128i first4(size_t n) /* n <= 4 float lanes */
{
    return _mm_loadu_si128((const __m128i *)(mask_src + 8 - n));
}

LN_INLINE float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Pass 1 of both kernels: sum(x - x0) in float, four accumulators.  The
 * fused loops of each kernel (next row's pass 1 inside this row's pass 2)
 * repeat exactly this order, so every path gives the same bits. */
static inline float sum_shifted(const float *x, size_t n, float x0)
{
    const __m256 vx0 = _mm256_set1_ps(x0);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        s0 = _mm256_add_ps(s0, _mm256_sub_ps(_mm256_loadu_ps(x + j), vx0));
        s1 = _mm256_add_ps(s1, _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vx0));
        s2 = _mm256_add_ps(s2, _mm256_sub_ps(_mm256_loadu_ps(x + j + 16), vx0));
        s3 = _mm256_add_ps(s3, _mm256_sub_ps(_mm256_loadu_ps(x + j + 24), vx0));
    }
    for (; j + 8 <= n; j += 8)
        s0 = _mm256_add_ps(s0, _mm256_sub_ps(_mm256_loadu_ps(x + j), vx0));
    if (j < n) {
        __m256i m = first8(n - j);
        __m256 d = _mm256_sub_ps(_mm256_maskload_ps(x + j, m), vx0);
        s1 = _mm256_add_ps(s1, _mm256_and_ps(d, _mm256_castsi256_ps(m)));
    }
    return hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

#endif
