/*
 * f32_rows.h - the typed view a binary32 host kernel works on: the
 * descriptor's shape and the tensors as float pointers, in one struct that
 * the row loops pass around.
 */
#ifndef LNBENCH_F32_ROWS_H
#define LNBENCH_F32_ROWS_H

#include "lnbench_kernel.h"

#include <stddef.h>

typedef struct ln_f32_rows {
    size_t rows, dim;
    const float *x;
    size_t x_stride;
    float *y;
    size_t y_stride;
    const float *gamma; /* NULL for 1 */
    const float *beta;  /* NULL for 0 */
    float eps;
    float *mean, *rstd; /* NULL when not asked for */
    ln_store_hint store;
} ln_f32_rows;

static inline ln_f32_rows ln_f32_rows_of(const ln_desc *d, const ln_tensors *t)
{
    ln_f32_rows r = {
        .rows = d->rows, .dim = d->dim,
        .x = t->x, .x_stride = d->x_stride,
        .y = t->y, .y_stride = d->y_stride,
        /* Absent tensors are NULL (the ABI's rule, ln_check_call); taking
         * the pointers as they are, not through a test of d->tensors, keeps
         * them plain loop invariants: GCC then unswitches the scalar
         * kernels' gamma/beta tests and vectorises the output loop (the
         * tests cost those kernels half their speed). */
        .gamma = t->gamma,
        .beta = t->beta,
        .eps = d->eps,
        .mean = t->mean,
        .rstd = t->rstd,
        .store = d->store,
    };
    return r;
}

#endif
