/*
 * metal_params.h - what metal_host.m passes to every Metal kernel besides
 * the buffers, one struct read by C and by Metal Shading Language alike
 * (every field 4 bytes, so both lay it out the same way).
 *
 * Tensors are passed as whole buffers at offset 0 plus an element offset
 * here: Metal's setBuffer:offset: wants aligned offsets, and a bf16 or f16
 * row may start at any even address.
 */
#ifndef LNBENCH_METAL_PARAMS_H
#define LNBENCH_METAL_PARAMS_H

#ifndef __METAL_VERSION__
#include <stdint.h>
#endif

/* Buffer indices of the entry points ([[buffer(n)]]). */
#define LN_METAL_BUF_X 0
#define LN_METAL_BUF_Y 1
#define LN_METAL_BUF_GAMMA 2
#define LN_METAL_BUF_BETA 3
#define LN_METAL_BUF_MEAN 4
#define LN_METAL_BUF_RSTD 5
#define LN_METAL_BUF_RESIDUAL 6
#define LN_METAL_BUF_H 7
#define LN_METAL_BUF_PARAMS 8

/* Rows at most this long run the single-row entry point (the row held in
 * registers, LN_METAL_READS values per thread, at most 1024 threads);
 * longer ones the looped one.  MLX's layer_norm.metal and rms_norm.metal
 * switch at the same lengths. */
#define LN_METAL_READS 8
#define LN_METAL_SINGLE_MAX_LAYERNORM 6656
#define LN_METAL_SINGLE_MAX_RMSNORM 4096
/* Threads of a threadgroup, at most: 32 SIMD groups of 32 (Apple GPUs),
 * one float each in the threadgroup reduction buffer. */
#define LN_METAL_MAX_THREADS 1024
#define LN_METAL_SIMD_WIDTH 32

typedef struct ln_metal_params {
    uint32_t rows, dim;
    uint32_t x_stride, y_stride; /* elements between row starts */
    /* element offsets of each tensor from its buffer's start */
    uint32_t x_off, y_off, gamma_off, beta_off, mean_off, rstd_off, residual_off, h_off;
    uint32_t op;      /* ln_op */
    uint32_t cast;    /* ln_cast */
    uint32_t tensors; /* LN_TENSOR_* present */
    float eps;
} ln_metal_params;

#endif
