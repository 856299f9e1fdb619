/*
 * layernorm.metal - the Metal entry points of the norm kernels: thin
 * wrappers that hand a row to the body shared with OpenCL
 * (kernels/gpu/norm_body.h), so the arithmetic Metal compiles is the
 * arithmetic PoCL runs in the OpenCL tests.
 *
 * metal_host.m compiles this file (with its includes inlined at build time
 * by embed_source.cmake) once per kernel and dtype, with LN_DTYPE and
 * LN_METAL_FASTMATH as macros.  One threadgroup per row; its size is a
 * power of two, a multiple of 32 (metal_params.h).  Tensors the call lacks
 * are bound to x's buffer and never read (their bits are clear in
 * p.tensors).
 */
#include "../gpu/dialect_metal.h"
#include "metal_params.h"
#include "../gpu/norm_body.h"

#define LN_METAL_ENTRY(name, row_fn)                                                   \
    kernel void name(device const LN_ELEM *x [[buffer(LN_METAL_BUF_X)]],               \
                     device LN_ELEM *y [[buffer(LN_METAL_BUF_Y)]],                     \
                     device const LN_ELEM *gamma [[buffer(LN_METAL_BUF_GAMMA)]],       \
                     device const LN_ELEM *beta [[buffer(LN_METAL_BUF_BETA)]],         \
                     device float *mean [[buffer(LN_METAL_BUF_MEAN)]],                 \
                     device float *rstd [[buffer(LN_METAL_BUF_RSTD)]],                 \
                     device const LN_ELEM *residual [[buffer(LN_METAL_BUF_RESIDUAL)]], \
                     device LN_ELEM *h [[buffer(LN_METAL_BUF_H)]],                     \
                     constant ln_metal_args &a [[buffer(LN_METAL_BUF_ARGS)]],          \
                     uint row [[threadgroup_position_in_grid]],                        \
                     uint tid [[thread_position_in_threadgroup]],                      \
                     uint lsize [[threads_per_threadgroup]])                           \
    {                                                                                  \
        threadgroup float red[LN_METAL_SCRATCH_FLOATS];                                \
        /* The body takes its parameters by value: copied field by field   \
         * from constant memory into the thread's own. */                   \
        ln_gpu_params p;                                                               \
        p.dim = a.p.dim;                                                               \
        p.x_stride = a.p.x_stride;                                                     \
        p.y_stride = a.p.y_stride;                                                     \
        p.op = a.p.op;                                                                 \
        p.cast = a.p.cast;                                                             \
        p.tensors = a.p.tensors;                                                       \
        p.eps = a.p.eps;                                                               \
        p.unused = 0u;                                                                 \
        ln_gpu_row r;                                                                  \
        r.x = x + a.x_off + row * p.x_stride;                                          \
        r.y = y + a.y_off + row * p.y_stride;                                          \
        r.res = residual + a.residual_off + row * p.x_stride;                          \
        r.h = h + a.h_off + row * p.y_stride;                                          \
        r.gamma = gamma + a.gamma_off;                                                 \
        r.beta = beta + a.beta_off;                                                    \
        row_fn(p, r, tid, lsize, mean + a.mean_off + row, rstd + a.rstd_off + row, red); \
    }

LN_METAL_ENTRY(ln_metal_fast, ln_gpu_row_fast)
LN_METAL_ENTRY(ln_metal_accurate, ln_gpu_row_accurate)
