/*
 * stream_copy_avx2.c - the stream copy with _mm256_stream_ps (built with
 * this ISA's flags, bench/CMakeLists.txt; run only where its probe allows).
 */
#include <immintrin.h>
#include <stddef.h>

#define SC_FN lnb_stream_copy_avx2
#define SC_VEC __m256
#define SC_LANES 8
#define SC_LOAD(p) _mm256_loadu_ps(p)
#define SC_STORE(p, v) _mm256_stream_ps(p, v)
#define SC_FENCE() _mm_sfence()
#include "stream_copy_body.h"
