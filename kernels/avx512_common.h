/*
 * avx512_common.h - helpers shared by avx512.c and avx512_accurate.c.
 *
 * Include only from files built with the AVX-512 flags (their own per-file
 * flags): the intrinsics below need them, and nothing else may see them.
 */
#ifndef LNBENCH_AVX512_COMMON_H
#define LNBENCH_AVX512_COMMON_H

#include <immintrin.h>
#include <stddef.h>

#define LN_INLINE static inline __attribute__((always_inline))

/* The first n lanes (n <= 16). */
LN_INLINE __mmask16 first_lanes(size_t n)
{
    return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

/* Pass 1 of both kernels: sum(x - x0) in float, four accumulators.  The
 * fused loops of each kernel (row i+2's pass 1 inside row i's loop) repeat
 * exactly this order, so every path gives the same bits. */
static inline float sum_shifted(const float *x, size_t n, float x0)
{
    const __m512 vx0 = _mm512_set1_ps(x0);
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        s0 = _mm512_add_ps(s0, _mm512_sub_ps(_mm512_loadu_ps(x + j), vx0));
        s1 = _mm512_add_ps(s1, _mm512_sub_ps(_mm512_loadu_ps(x + j + 16), vx0));
        s2 = _mm512_add_ps(s2, _mm512_sub_ps(_mm512_loadu_ps(x + j + 32), vx0));
        s3 = _mm512_add_ps(s3, _mm512_sub_ps(_mm512_loadu_ps(x + j + 48), vx0));
    }
    for (; j + 16 <= n; j += 16)
        s0 = _mm512_add_ps(s0, _mm512_sub_ps(_mm512_loadu_ps(x + j), vx0));
    if (j < n) {
        __mmask16 m = first_lanes(n - j);
        __m512 v = _mm512_maskz_loadu_ps(m, x + j);
        s1 = _mm512_mask_add_ps(s1, m, s1, _mm512_sub_ps(v, vx0));
    }
    return _mm512_reduce_add_ps(
        _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

#endif
