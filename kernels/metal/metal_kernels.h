/*
 * metal_kernels.h - the three Metal kernels as the registry lists them:
 * names, descriptions and capabilities, written once for both builds.
 *
 * On Apple platforms metal_host.m defines the kernels with this table; 
 * elsewhere metal_unavailable.c defines the same names and capabilities as
 * unavailable, so `lnbench list` shows the same three rows everywhere.
 *
 *   metal           two-pass float statistics, compiled with fast math off
 *   metal_accurate  float-float statistics (Metal has no double), one
 *                   rounding at the end
 *   metal_fastmath  metal's source compiled with fast math on, so its cost
 *                   in accuracy shows beside metal
 */
#ifndef LNBENCH_METAL_KERNELS_H
#define LNBENCH_METAL_KERNELS_H

#include "lnbench_kernel.h"

#define LN_METAL_OPS                                                          \
    (LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) | LN_BIT(LN_OP_ADD_LAYERNORM) | \
     LN_BIT(LN_OP_ADD_RMSNORM))
#define LN_METAL_DTYPES (LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16))
#define LN_METAL_CASTS (LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA))
#define LN_METAL_TENSORS (LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD)

#define LN_METAL_CAPS(promises)                                                  \
    {                                                                            \
        .ops = LN_METAL_OPS, .dtypes = LN_METAL_DTYPES, .casts = LN_METAL_CASTS, \
        .device = LN_DEVICE_METAL, .isa = LN_ISA_NONE, .tensors = LN_METAL_TENSORS, \
        .flags = (promises)                                                      \
    }

/* X(name, variant, description, promises); variant indexes the compiled
 * libraries in metal_host.m (LN_METAL_VARIANT_*). */
enum { LN_METAL_VARIANT_FAST = 0, LN_METAL_VARIANT_ACCURATE, LN_METAL_VARIANT_FASTMATH,
       LN_METAL_VARIANT_COUNT };

/* The promises are those of the shared body (kernels/gpu/norm_body.h), as
 * for the OpenCL kernels: the accurate path takes a constant row's first
 * element as its mean (exact constant rows) and rounds float-float
 * statistics once (not promised faithful: the shared body falls short of
 * 99.9 % correctly rounded on tiny_var rows on PoCL); squares overflow binary32 beyond
 * |x - mean| ~ 1.8e19, so no kernel claims wide range. */
#define LN_METAL_KERNEL_TABLE(X)                                                         \
    X(metal, LN_METAL_VARIANT_FAST,                                                      \
      "Metal, threadgroup per row, float two-pass statistics, fast math off", 0u)        \
    X(metal_accurate, LN_METAL_VARIANT_ACCURATE,                                         \
      "Metal, float-float corrected two-pass, one rounding (no double in Metal)",        \
      LN_CAP_EXACT_CONSTANT)                                                             \
    X(metal_fastmath, LN_METAL_VARIANT_FASTMATH,                                         \
      "metal compiled with fast math on (Metal's default)", 0u)

#endif
