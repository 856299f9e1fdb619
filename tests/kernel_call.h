/*
 * kernel_call.h - one binary32 LayerNorm call as a flat struct, for tests
 * that build many variants of a call (strides, optional tensors, hints).
 * test_call_run() turns it into the ABI's descriptor and tensors: the tensor
 * bits follow which pointers are set.
 */
#ifndef LNBENCH_TEST_KERNEL_CALL_H
#define LNBENCH_TEST_KERNEL_CALL_H

#include "lnbench_kernel.h"

typedef struct test_call {
    size_t rows, dim;
    const float *x;
    size_t x_stride;
    float *y;
    size_t y_stride;
    const float *gamma, *beta;
    float eps;
    float *mean, *rstd;
    ln_store_hint store;
} test_call;

static inline ln_tensors test_call_tensors(const test_call *c)
{
    ln_tensors t = {.x = c->x, .y = c->y, .gamma = c->gamma, .beta = c->beta,
                    .mean = c->mean, .rstd = c->rstd};
    return t;
}

static inline ln_desc test_call_desc(const test_call *c)
{
    ln_tensors t = test_call_tensors(c);
    ln_desc d = {
        .op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32,
        .rows = c->rows, .dim = c->dim,
        .x_stride = c->x_stride, .y_stride = c->y_stride,
        .eps = c->eps,
        .tensors = ln_tensors_present(&t),
        .store = c->store,
    };
    return d;
}

static inline int test_call_run(const ln_kernel *k, const test_call *c, const char **why)
{
    ln_desc d = test_call_desc(c);
    ln_tensors t = test_call_tensors(c);
    return ln_kernel_run(k, &d, &t, why);
}

#endif
