/*
 * norm_params.h - the per-call scalars of the GPU norm kernels, one struct
 * passed by value.  Plain C that host C, OpenCL C and the Metal Shading
 * Language all read the same way: 32-bit unsigned ints and a float, no
 * padding, 32 bytes.
 */
#ifndef LN_GPU_NORM_PARAMS_H
#define LN_GPU_NORM_PARAMS_H

typedef struct ln_gpu_params {
    unsigned int dim;      /* elements per row */
    unsigned int x_stride; /* elements between rows of x and residual */
    unsigned int y_stride; /* elements between rows of y and h */
    unsigned int op;       /* ln_op (kernels/lnbench_kernel.h) */
    unsigned int cast;     /* ln_cast */
    unsigned int tensors;  /* LN_TENSOR_* bits present */
    float eps;
    unsigned int unused;   /* keeps the size a multiple of 8 */
} ln_gpu_params;

/* The ln_op and ln_tensors values the body needs, spelt again here: the
 * kernel languages cannot include lnbench_kernel.h (the host checks that
 * the two agree). */
#define LN_GPU_OP_LAYERNORM 0u
#define LN_GPU_OP_RMSNORM 1u
#define LN_GPU_OP_ADD_LAYERNORM 2u
#define LN_GPU_OP_ADD_RMSNORM 3u
#define LN_GPU_CAST_SINGLE 0u
#define LN_GPU_CAST_LLAMA 1u
#define LN_GPU_CAST_GEMMA 2u
#define LN_GPU_TENSOR_GAMMA 1u
#define LN_GPU_TENSOR_BETA 2u
#define LN_GPU_TENSOR_MEAN 4u
#define LN_GPU_TENSOR_RSTD 8u

/* LN_DTYPE, set by the build options of each program: */
#define LN_GPU_DTYPE_F32 0
#define LN_GPU_DTYPE_BF16 1
#define LN_GPU_DTYPE_F16 2

#endif
