/*
 * dialect_metal.h - the Metal Shading Language side of the dialect contract
 * that kernels/gpu/norm_body.h is written against (the contract is at the
 * top of that file; dialect_opencl.h is the OpenCL side).
 *
 * Included first by kernels/metal/layernorm.metal.  The host
 * (kernels/metal/metal_host.m) compiles that source once per kernel and
 * dtype with LN_DTYPE, LN_METAL_FASTMATH and fast math set through
 * MTLCompileOptions.
 *
 * What differs from OpenCL, and why:
 *  - address spaces are C++-style qualifiers (device, threadgroup), and MSL
 *    converts no pointer between address spaces implicitly; the body
 *    qualifies every pointer through LN_GPU_GLOBAL / LN_GPU_LOCAL, so none
 *    is needed;
 *  - binary16 is native (half): bits are reinterpreted with as_type, and a
 *    store first rounds with the body's own ln_gpu_f16_round, so the
 *    float -> half conversion is exact and the rounding is the body's
 *    (ties to even), not whatever the conversion does;
 *  - bf16 stays ushort bits handled by the body: MSL's bfloat type would
 *    need MSL 3.1 (macOS 14) and nothing here needs it;
 *  - a real SIMD stage: 32 lanes reduced with simd_shuffle_xor before the
 *    threadgroup tree (Apple GPUs run SIMD groups of 32).
 */
#ifndef LN_GPU_DIALECT_H
#define LN_GPU_DIALECT_H

#include <metal_stdlib>
using namespace metal;

/* Each float operation rounded as written: the accurate kernel's
 * float-float sums depend on it (clang, on which the Metal compiler is
 * built, may otherwise contract a*b + c into fma), and PoCL runs the body
 * with contraction off.  metal_fastmath leaves contraction, like the rest,
 * to the compiler's fast math: that is what it shows. */
#if !LN_METAL_FASTMATH
#pragma STDC FP_CONTRACT OFF
#endif

#define LN_GPU_GLOBAL device
#define LN_GPU_LOCAL threadgroup
#define LN_GPU_FN static inline
#define LN_GPU_SIZE ulong

/* Every thread of the threadgroup reaches it; orders threadgroup memory. */
#define LN_GPU_BARRIER() threadgroup_barrier(mem_flags::mem_threadgroup)

/* fma is fused (one rounding) in every math mode.  sqrt: precise:: is the
 * IEEE one whatever the compile options say; metal_fastmath takes the
 * plain one, which fast math makes the fast approximation, as in a default
 * Metal build. */
#define LN_GPU_FMA(a, b, c) fma((a), (b), (c))
#if LN_METAL_FASTMATH
#define LN_GPU_SQRT(x) sqrt(x)
#else
#define LN_GPU_SQRT(x) precise::sqrt(x)
#endif

/* Bit casts. */
#define LN_GPU_AS_FLOAT(u) as_type<float>((uint)(u))
#define LN_GPU_AS_UINT(f) as_type<uint>((float)(f))

/* binary16 in buffers of ushort bits.  Widening half -> float is exact. */
#define LN_GPU_LOAD_F16(p, i) ((float)as_type<half>((p)[(i)]))
#define LN_GPU_STORE_F16(p, i, v) ((p)[(i)] = as_type<ushort>((half)ln_gpu_f16_round(v)))

/* SIMD groups of 32 threads; the body's butterfly over simd_shuffle_xor
 * leaves the group's sum in every lane. */
#define LN_GPU_SIMD_WIDTH 32u
#define LN_GPU_SIMD_SHUFFLE_XOR(v, mask) simd_shuffle_xor((v), (ushort)(mask))

#endif
