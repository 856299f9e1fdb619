/*
 * dialect_opencl.h - the OpenCL C side of the dialect contract that
 * kernels/gpu/norm_body.h is written against (the contract is at the top of
 * that file; kernels/gpu/dialect_metal.h is the Metal side).
 *
 * OpenCL C 1.2 is enough.  fp16 buffers go through vload_half and
 * vstore_half_rte, which are core OpenCL: no cl_khr_fp16 needed.
 */
#ifndef LN_GPU_DIALECT_H
#define LN_GPU_DIALECT_H

/* OpenCL C contracts a*b + c into fma by default; the compensated sums of
 * the accurate kernel need each operation rounded as written (fma where the
 * body asks for it, nowhere else).  -cl-fast-relaxed-math overrides this,
 * which is what the fast-math kernel is there to show. */
#pragma OPENCL FP_CONTRACT OFF

#define LN_GPU_GLOBAL __global
#define LN_GPU_LOCAL __local
#define LN_GPU_FN static inline
#define LN_GPU_SIZE ulong

/* Every work-item of the group reaches it; orders __local memory. */
#define LN_GPU_BARRIER() barrier(CLK_LOCAL_MEM_FENCE)

/* fma is the fused, singly rounded operation in the full profile.  sqrt and
 * the division are correctly rounded when the program is built with
 * -cl-fp32-correctly-rounded-divide-sqrt (the host asks for it where the
 * device supports it), else within the spec's 3 and 2.5 ulp. */
#define LN_GPU_FMA(a, b, c) fma((a), (b), (c))
#define LN_GPU_SQRT(x) sqrt(x)

/* Bit casts. */
#define LN_GPU_AS_FLOAT(u) as_float((uint)(u))
#define LN_GPU_AS_UINT(f) as_uint((float)(f))

/* binary16 in buffers of ushort bits: exact widening; narrowing rounds to
 * nearest even (the store is only ever given values that the body has
 * already rounded, or the fast kernel's, which wants that rounding). */
#define LN_GPU_LOAD_F16(p, i) vload_half((i), (LN_GPU_GLOBAL const half *)(p))
#define LN_GPU_STORE_F16(p, i, v) vstore_half_rte((v), (i), (LN_GPU_GLOBAL half *)(p))

/* No SIMD-group stage: PoCL has no sub-groups (pocl issue 970), and OpenCL
 * 1.2 none at all.  Width 1 makes the body's shuffle loop empty. */
#define LN_GPU_SIMD_WIDTH 1u
#define LN_GPU_SIMD_SHUFFLE_XOR(v, mask) (v)

#endif
