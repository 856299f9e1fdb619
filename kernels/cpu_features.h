/*
 * cpu_features.h - which instruction sets this host may use, and cache sizes.
 *
 * The registry asks ln_isa_unavailable() for each kernel's caps.isa.  The
 * environment variable LNBENCH_DISABLE_ISA (a comma list such as
 * "avx512" or "avx512,avx2", or "all") masks ISAs off so that every code path
 * can be exercised on a host that has them all.
 */
#ifndef LNBENCH_CPU_FEATURES_H
#define LNBENCH_CPU_FEATURES_H

#include "lnbench_kernel.h" /* ln_isa */

#include <stddef.h>

/* Stable lower-case name used by LNBENCH_DISABLE_ISA: "avx2", "avx512", "neon". */
const char *ln_isa_name(ln_isa isa);

/* NULL when the host supports `isa` (and it is not masked), else a static
 * one-line reason. */
const char *ln_isa_unavailable(ln_isa isa);

/* 1 when the host has AVX512_BF16 (and LNBENCH_DISABLE_ISA does not name
 * LN_AVX512BF16_NAME): the avx512 kernels then narrow bf16 with
 * VCVTNEPS2BF16.  Probed once per process. */
#define LN_AVX512BF16_NAME "avx512bf16"
int ln_x86_avx512bf16(void);

/* Size in bytes of the last-level data cache (a sane default if unknown).
 * Kernels use it to choose streaming stores for outputs that cannot stay in
 * cache. */
size_t ln_llc_bytes(void);

/* Size in bytes of one core's L1 data cache (32 KiB if unknown).  The SIMD
 * pipeline sizes what it keeps in L1 by it (kernels/simd/norm_pipeline.h). */
size_t ln_l1d_bytes(void);

#endif
