/*
 * simd_neon.c - the AArch64 Advanced SIMD kernels ln_kernel_neon and
 * ln_kernel_neon_accurate: the algorithms of simd/norm_fast.h and
 * simd/norm_accurate.h on 4 float / 2 double lanes.
 *
 * Advanced SIMD is part of the base AArch64 ISA, so no extra flags; the
 * probe still honours LNBENCH_DISABLE_ISA=neon.  Stores are ordinary (the
 * store hint is ignored, see simd/vec_neon.h).
 */
#ifndef __aarch64__
#error "simd_neon.c is built only for AArch64 (see kernels/CMakeLists.txt)"
#endif

#include "simd/vec_neon.h"
#include "simd/norm_pipeline.h"

LN_SIMD_KERNELS(neon, LN_ISA_NEON, LN_CAP_EXACT_CONSTANT | LN_CAP_WIDE_RANGE,
                "AArch64 NEON, binary32 two-pass (shifted, split mean), FMA, 4 lanes",
                "AArch64 NEON, statistics and normalisation in double, one rounding");
