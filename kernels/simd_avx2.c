/*
 * simd_avx2.c - the AVX2 + FMA kernels ln_kernel_avx2 and
 * ln_kernel_avx2_accurate: the algorithms of simd/norm_fast.h and
 * simd/norm_accurate.h on 8 float / 4 double lanes.
 *
 * Built with -mavx2 -mfma for this file only; the kernels run only after
 * the ISA probe (cpu_features.c, honouring LNBENCH_DISABLE_ISA) says the
 * host allows them.  Large outputs are streamed, two 32-byte stores to a
 * cache line.
 */
#include "simd/vec_avx2.h"
#include "simd/norm_pipeline.h"

LN_SIMD_KERNELS(avx2, LN_ISA_AVX2_FMA,
                LN_CAP_EXACT_CONSTANT | LN_CAP_STREAMING_STORES | LN_CAP_WIDE_RANGE,
                "AVX2+FMA float, shifted corrected two-pass, streaming stores for large outputs",
                "AVX2+FMA, statistics and normalisation in double, one rounding: <= 1 ulp");
