/*
 * norm_kernels.cl - the OpenCL entry points of the norm kernels.  The host
 * (kernels/opencl/opencl_kernels.c) builds this file after
 * kernels/gpu/dialect_opencl.h, kernels/gpu/norm_params.h and
 * kernels/gpu/norm_body.h, as one program per dtype (-DLN_DTYPE=...).
 *
 * NDRange: one work-group per row, group size a power of two; buffers of
 * tensors the call lacks are NULL (their bits are clear in p.tensors);
 * red is 4 * group-size floats of local memory.
 */

#define LN_GPU_ENTRY(name, row_fn)                                                     \
    __kernel void name(ln_gpu_params p, __global const LN_ELEM *x,                     \
                       __global LN_ELEM *y, __global const LN_ELEM *gamma,             \
                       __global const LN_ELEM *beta, __global float *mean,             \
                       __global float *rstd, __global const LN_ELEM *residual,         \
                       __global LN_ELEM *h, __local float *red)                        \
    {                                                                                  \
        size_t row = get_group_id(0);                                                  \
        ln_gpu_row r;                                                                  \
        r.x = x + row * p.x_stride;                                                    \
        r.y = y + row * p.y_stride;                                                    \
        r.res = residual ? residual + row * p.x_stride : residual;                     \
        r.h = h ? h + row * p.y_stride : h;                                            \
        r.gamma = gamma;                                                               \
        r.beta = beta;                                                                 \
        row_fn(p, r, (uint)get_local_id(0), (uint)get_local_size(0),                   \
               mean ? mean + row : mean, rstd ? rstd + row : rstd, red);               \
    }

LN_GPU_ENTRY(ln_norm_fast, ln_gpu_row_fast)
LN_GPU_ENTRY(ln_norm_accurate, ln_gpu_row_accurate)
