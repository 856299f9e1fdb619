/*
 * simd_avx512.c - the AVX-512F kernels ln_kernel_avx512 and
 * ln_kernel_avx512_accurate: the algorithms of simd/norm_fast.h and
 * simd/norm_accurate.h on 16 float / 8 double lanes.
 *
 * Built with -mavx512f -mavx512vl -mavx512dq -mavx512bw -mfma for this file only; the
 * kernels run only after the ISA probe (cpu_features.c, honouring
 * LNBENCH_DISABLE_ISA) says the host allows them.  Large outputs are
 * written with non-temporal stores on 64-byte aligned lines.
 */
#include "cpu_features.h"
#include "lnbench_kernel.h"
#include "simd/vec_avx512.h"

/* bf16 descriptors go to simd_avx512_bf16.c (the same source built with
 * AVX512_BF16) where the CPU has it. */
int ln_avx512bf16_forward(const ln_desc *d, const ln_tensors *t, void *state, int accurate);
#define LN_SIMD_DISPATCH(d, t, state, accurate)                                  \
    ((d)->dtype == LN_DTYPE_BF16 && ln_x86_avx512bf16()                          \
         ? ln_avx512bf16_forward(d, t, state, accurate)                          \
         : -1)

#include "simd/norm_pipeline.h"

LN_SIMD_KERNELS(avx512, LN_ISA_AVX512F,
                LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES | LN_CAP_WIDE_RANGE,
                "AVX-512F float, shifted two-pass, FMA, streaming stores for large outputs",
                "AVX-512F, statistics and normalisation in double, one rounding: <= 1 ulp");
