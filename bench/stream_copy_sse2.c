/*
 * stream_copy_sse2.c - the stream copy with _mm_stream_ps (built with
 * this ISA's flags, bench/CMakeLists.txt; run only where its probe allows).
 */
#include <immintrin.h>
#include <stddef.h>

#define SC_FN lnb_stream_copy_sse2
#define SC_VEC __m128
#define SC_LANES 4
#define SC_LOAD(p) _mm_loadu_ps(p)
#define SC_STORE(p, v) _mm_stream_ps(p, v)
#define SC_FENCE() _mm_sfence()
#include "stream_copy_body.h"
