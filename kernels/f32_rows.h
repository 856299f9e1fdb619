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
        .gamma = (d->tensors & LN_TENSOR_GAMMA) ? t->gamma : NULL,
        .beta = (d->tensors & LN_TENSOR_BETA) ? t->beta : NULL,
        .eps = d->eps,
        .mean = (d->tensors & LN_TENSOR_MEAN) ? t->mean : NULL,
        .rstd = (d->tensors & LN_TENSOR_RSTD) ? t->rstd : NULL,
        .store = d->store,
    };
    return r;
}

#endif
