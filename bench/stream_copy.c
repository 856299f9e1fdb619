/*
 * stream_copy.c - picks the widest stream copy this host may run (see
 * stream_copy.h), and the portable one for other machines.
 */
#include "stream_copy.h"

#include "cpu_features.h"

#include <stdint.h>

void lnb_stream_copy_avx512(float *y, const float *x, size_t n);
void lnb_stream_copy_avx2(float *y, const float *x, size_t n);
void lnb_stream_copy_sse2(float *y, const float *x, size_t n);
void lnb_stream_copy_neon(float *y, const float *x, size_t n);

#if !defined(__x86_64__)
/* Where no vector variant may run: a plain loop (GCC may turn it into a
 * memcpy call; it is a reference only there). */
static void copy_c(float *y, const float *x, size_t n)
{
    for (size_t j = 0; j < n; j++)
        y[j] = x[j];
}
#endif

#if defined(__x86_64__)
static const lnb_stream_copy variants[] = {
    {"avx512", "read x, write y with _mm512_stream_ps, 4 vectors per iteration, sfence",
     lnb_stream_copy_avx512},
    {"avx2", "read x, write y with _mm256_stream_ps, 4 vectors per iteration, sfence",
     lnb_stream_copy_avx2},
    {"sse2", "read x, write y with _mm_stream_ps, 4 vectors per iteration, sfence",
     lnb_stream_copy_sse2},
};
#elif defined(__aarch64__)
static const lnb_stream_copy variants[] = {
    {"neon", "read x, write y with vld1q/vst1q (ld1/st1; no STNP intrinsic), "
             "4 vectors per iteration", lnb_stream_copy_neon},
    {"c", "read x, write y, plain C loop", copy_c},
};
#else
static const lnb_stream_copy variants[] = {
    {"c", "read x, write y, plain C loop", copy_c},
};
#endif

const lnb_stream_copy *lnb_stream_copy_select(void)
{
#if defined(__x86_64__)
    if (!ln_isa_unavailable(LN_ISA_AVX512F))
        return &variants[0];
    if (!ln_isa_unavailable(LN_ISA_AVX2_FMA))
        return &variants[1];
    return &variants[2]; /* SSE2 is baseline x86-64 */
#elif defined(__aarch64__)
    return ln_isa_unavailable(LN_ISA_NEON) ? &variants[1] : &variants[0];
#else
    return &variants[0];
#endif
}
