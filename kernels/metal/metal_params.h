/*
 * metal_params.h - what metal_host.m passes to the Metal entry points
 * besides the buffers: the body's ln_gpu_params and each tensor's element
 * offset in its buffer.  Read by C and by the Metal Shading Language alike
 * (only 4-byte fields, so both lay it out the same way).
 *
 * Tensors are bound as whole buffers at offset 0 plus an element offset
 * here: setBuffer:offset: wants aligned offsets, and a bf16 or f16 row may
 * start at any even address.
 */
#ifndef LNBENCH_METAL_PARAMS_H
#define LNBENCH_METAL_PARAMS_H

#include "../gpu/norm_params.h"

/* Buffer indices of the entry points ([[buffer(n)]]). */
#define LN_METAL_BUF_X 0
#define LN_METAL_BUF_Y 1
#define LN_METAL_BUF_GAMMA 2
#define LN_METAL_BUF_BETA 3
#define LN_METAL_BUF_MEAN 4
#define LN_METAL_BUF_RSTD 5
#define LN_METAL_BUF_RESIDUAL 6
#define LN_METAL_BUF_H 7
#define LN_METAL_BUF_ARGS 8

/* Threadgroup size: the smallest power of two giving each thread at most
 * LN_METAL_VALUES_PER_THREAD values of the row (MLX's layer_norm.metal
 * reads 8 per thread), at least one SIMD group, at most
 * LN_METAL_MAX_THREADS and the pipeline's limit.  The body wants a power
 * of two and a multiple of the SIMD width. */
#define LN_METAL_VALUES_PER_THREAD 8
#define LN_METAL_MAX_THREADS 1024
#define LN_METAL_SIMD_WIDTH 32
/* Reduction scratch: the body keeps 4 floats per SIMD group. */
#define LN_METAL_SCRATCH_FLOATS (4 * LN_METAL_MAX_THREADS / LN_METAL_SIMD_WIDTH)

typedef struct ln_metal_args {
    ln_gpu_params p; /* what the body reads */
    /* element offsets of each tensor from its buffer's start */
    unsigned int x_off, y_off, gamma_off, beta_off, mean_off, rstd_off, residual_off, h_off;
} ln_metal_args;

#endif
