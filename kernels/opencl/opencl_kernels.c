/*
 * opencl_kernels.c - the OpenCL norm kernels: `opencl` (float statistics,
 * two passes), `opencl_accurate` (float-float statistics, one correct
 * rounding, no fp64) and `opencl_fastmath` (opencl's program built with
 * -cl-fast-relaxed-math, as ggml's OpenCL backend builds its kernels).
 * The arithmetic is kernels/gpu/norm_body.h, shared with Metal.
 *
 * prepare makes the state's own cl_kernel (clSetKernelArg is not
 * thread-safe on a shared one) from the process's program for the dtype;
 * forward sets the arguments and enqueues one work-group per row, and
 * returns without waiting; device_seconds reads the last forward's
 * profiling event (CL_PROFILING_COMMAND_START to END).
 */
#include "opencl_host.h"

#include "lnbench_kernel.h"
#include "norm_params.h"

#include <stdint.h>
#include <stdlib.h>

_Static_assert(sizeof(ln_gpu_params) == 32, "ln_gpu_params layout");
_Static_assert(LN_GPU_OP_ADD_RMSNORM == (unsigned)LN_OP_ADD_RMSNORM &&
                   LN_GPU_CAST_GEMMA == (unsigned)LN_CAST_GEMMA &&
                   LN_GPU_TENSOR_RSTD == (unsigned)LN_TENSOR_RSTD &&
                   LN_GPU_DTYPE_F16 == (int)LN_DTYPE_F16,
               "norm_params.h spells the ABI's values");

/* Largest work-group: 256 work-items share a row of 2048 or more; shorter
 * rows get a group of about dim / 8 (a power of two, at least 8). */
#define MAX_GROUP 256

typedef struct cl_state {
    cl_kernel kernel;
    ln_gpu_params params;
    size_t group;
    cl_event last; /* the last forward's event, for device_seconds */
} cl_state;

static const char *opencl_unavailable(void)
{
    return ln_opencl_unavailable();
}

/* The body indexes with 32-bit dims and strides (norm_params.h). */
static int opencl_supports(const ln_desc *d, const char **why)
{
    if (d->dim > UINT32_MAX || d->x_stride > UINT32_MAX || d->y_stride > UINT32_MAX) {
        *why = "OpenCL kernels take dims and strides below 2^32";
        return -1;
    }
    return 0;
}

static size_t group_size(size_t dim, size_t kernel_max)
{
    size_t g = 8;
    while (g < MAX_GROUP && g * 8 < dim)
        g *= 2;
    while (g > kernel_max && g > 1)
        g /= 2;
    return g;
}

static int prepare_entry(const ln_desc *d, void **state, const char **why, const char *entry,
                         int fast_math)
{
    cl_program prog = ln_opencl_program(d->dtype, fast_math, why);
    if (!prog)
        return -1;
    cl_state *s = calloc(1, sizeof *s);
    if (!s) {
        *why = "out of memory";
        return -1;
    }
    cl_int err;
    s->kernel = clCreateKernel(prog, entry, &err);
    if (!s->kernel) {
        free(s);
        *why = "clCreateKernel failed";
        return -1;
    }
    size_t kmax = 0;
    if (clGetKernelWorkGroupInfo(s->kernel, ln_opencl_device(), CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kmax, &kmax, NULL) != CL_SUCCESS || kmax == 0)
        kmax = 1;
    s->group = group_size(d->dim, kmax);
    s->params = (ln_gpu_params){
        .dim = (unsigned)d->dim, .x_stride = (unsigned)d->x_stride,
        .y_stride = (unsigned)d->y_stride, .op = (unsigned)d->op, .cast = (unsigned)d->cast,
        .tensors = d->tensors, .eps = d->eps};
    *state = s;
    return 0;
}

static int prepare_fast(const ln_desc *d, void **state, const char **why)
{
    return prepare_entry(d, state, why, "ln_norm_fast", 0);
}

static int prepare_accurate(const ln_desc *d, void **state, const char **why)
{
    return prepare_entry(d, state, why, "ln_norm_accurate", 0);
}

static int prepare_fastmath(const ln_desc *d, void **state, const char **why)
{
    return prepare_entry(d, state, why, "ln_norm_fast", 1);
}

static void opencl_release(void *state)
{
    cl_state *s = state;
    if (!s)
        return;
    if (s->last)
        clReleaseEvent(s->last);
    clReleaseKernel(s->kernel);
    free(s);
}

/* A buffer argument: the cl_mem, or NULL for an absent tensor. */
static cl_int set_buf(cl_kernel k, cl_uint i, const void *buf)
{
    cl_mem m = (cl_mem)(uintptr_t)buf;
    return clSetKernelArg(k, i, sizeof m, buf ? (const void *)&m : NULL);
}

static int opencl_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    cl_state *s = state;
    if (!s)
        return -1;
    if (d->rows == 0)
        return 0;
    cl_kernel k = s->kernel;
    cl_int err = clSetKernelArg(k, 0, sizeof s->params, &s->params);
    err |= set_buf(k, 1, t->x);
    err |= set_buf(k, 2, t->y);
    err |= set_buf(k, 3, t->gamma);
    err |= set_buf(k, 4, t->beta);
    err |= set_buf(k, 5, t->mean);
    err |= set_buf(k, 6, t->rstd);
    err |= set_buf(k, 7, t->residual);
    err |= set_buf(k, 8, t->h);
    err |= clSetKernelArg(k, 9, 4 * s->group * sizeof(float), NULL);
    if (err != CL_SUCCESS)
        return -1;
    size_t global = d->rows * s->group, local = s->group;
    cl_event ev = NULL;
    if (clEnqueueNDRangeKernel(ln_opencl_queue(), k, 1, NULL, &global, &local, 0, NULL, &ev) !=
        CL_SUCCESS)
        return -1;
    if (s->last)
        clReleaseEvent(s->last);
    s->last = ev;
    return 0;
}

static int opencl_device_seconds(void *state, double *seconds)
{
    cl_state *s = state;
    cl_ulong start = 0, end = 0;
    if (!s || !s->last ||
        clGetEventProfilingInfo(s->last, CL_PROFILING_COMMAND_START, sizeof start, &start,
                                NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(s->last, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) !=
            CL_SUCCESS || end < start)
        return -1;
    *seconds = (double)(end - start) * 1e-9;
    return 0;
}

#define OPENCL_CAPS(flag_bits)                                                                \
    {.ops = LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) | LN_BIT(LN_OP_ADD_LAYERNORM) |   \
            LN_BIT(LN_OP_ADD_RMSNORM),                                                        \
     .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16),           \
     .casts = LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA),                                  \
     .device = LN_DEVICE_OPENCL, .isa = LN_ISA_NONE,                                          \
     .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD,           \
     .flags = (flag_bits)}

const ln_kernel ln_kernel_opencl = {
    .name = "opencl",
    .family = "opencl",
    .description = "OpenCL, work-group per row, float two-pass statistics",
    .caps = OPENCL_CAPS(0),
    .unavailable = opencl_unavailable,
    .supports = opencl_supports,
    .prepare = prepare_fast,
    .release = opencl_release,
    .forward = opencl_forward,
    .device_seconds = opencl_device_seconds,
};

/* Exact constant rows: a constant row takes its first element as the mean
 * (norm_body.h).  Wide range: a row whose sums overflow binary32 is redone
 * scaled by 2^-90.  Not LN_CAP_FAITHFUL: within 1 ulp everywhere measured,
 * but on tiny_var rows with gamma and without beta only 99.43 % of outputs
 * are correctly rounded (the promise is 99.9 %; test_kernel_accuracy). */
const ln_kernel ln_kernel_opencl_accurate = {
    .name = "opencl_accurate",
    .family = "opencl",
    .description = "OpenCL, float-float corrected two-pass, one rounding, no fp64",
    .caps = OPENCL_CAPS(LN_CAP_EXACT_CONSTANT | LN_CAP_WIDE_RANGE),
    .unavailable = opencl_unavailable,
    .supports = opencl_supports,
    .prepare = prepare_accurate,
    .release = opencl_release,
    .forward = opencl_forward,
    .device_seconds = opencl_device_seconds,
};

const ln_kernel ln_kernel_opencl_fastmath = {
    .name = "opencl_fastmath",
    .family = "opencl",
    .description = "opencl built with -cl-fast-relaxed-math (as ggml ships it)",
    .caps = OPENCL_CAPS(0),
    .unavailable = opencl_unavailable,
    .supports = opencl_supports,
    .prepare = prepare_fastmath,
    .release = opencl_release,
    .forward = opencl_forward,
    .device_seconds = opencl_device_seconds,
};
