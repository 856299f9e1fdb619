/*
 * simd_avx512_bf16.c - the bf16 kinds of the avx512 kernels once more,
 * built with -mavx512bf16 too, so that vec_avx512.h narrows floats to bf16
 * with VCVTNEPS2BF16 (one instruction instead of five integer ones; the
 * lanes it flushes, binary32 subnormals, are redone by the integer path).
 * simd_avx512.c hands bf16 descriptors here when the CPU has AVX512_BF16
 * (ln_x86_avx512bf16, honouring LNBENCH_DISABLE_ISA=avx512bf16); without
 * it the integer path of simd_avx512.c runs, with identical results.
 */
#define LN_SIMD_BF16_ONLY
#include "simd/vec_avx512.h"
#include "simd/norm_pipeline.h"

int ln_avx512bf16_forward(const ln_desc *d, const ln_tensors *t, void *state, int accurate);

int ln_avx512bf16_forward(const ln_desc *d, const ln_tensors *t, void *state, int accurate)
{
    return accurate ? accurate_forward(d, t, state) : fast_forward(d, t);
}
