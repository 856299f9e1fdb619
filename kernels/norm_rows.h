/*
 * norm_rows.h - the dtype-generic typed view a host kernel works on: the
 * descriptor's operation, dtype, cast and shape with the tensors, and the
 * loads, stores and roundings of one element of the dtype.
 *
 * Every function takes the dtype as an argument.  Called from a loop whose
 * dtype is a constant (a kernel's forward switches on it once per call and
 * calls an inline row driver per case), the compiler folds the switch and
 * each dtype gets its own loop; the arithmetic is written once.
 *
 * Roundings (kernels/dtype_convert.h does the bits; nearest even):
 *   ln_round_f   binary32 -> dtype, returned widened (exact) to binary32.
 *                For bf16 and f16 a binary32 result rounded again to the
 *                dtype is the dtype's correctly rounded sum, difference or
 *                product of dtype operands: binary32's 24 bits hold at least
 *                2p + 1 of the dtype's p (bf16 p = 8, f16 p = 11), which
 *                makes the double rounding innocuous for + and - (Figueroa
 *                1995); a product of two dtype values is exact in binary32
 *                (16 or 22 bits) unless it leaves binary32's normal range.
 *   ln_round_d   binary64 -> dtype in one rounding: binary64 -> binary32
 *                rounded to odd, then to the dtype (round-to-odd at 24 >=
 *                p + 2 bits, then to nearest, is the nearest; Boldo and
 *                Melquiond 2008).  A plain (float) cast first could round
 *                twice onto a dtype midpoint.
 */
#ifndef LNBENCH_NORM_ROWS_H
#define LNBENCH_NORM_ROWS_H

#include "dtype_convert.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* One call's view.  residual rows use x_stride, h rows y_stride (the ABI). */
typedef struct ln_norm_rows {
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;
    size_t rows, dim;
    size_t x_stride, y_stride;
    const void *x, *residual;
    void *y, *h;
    const void *gamma; /* w for the RMS forms; NULL for 1 */
    const void *beta;  /* NULL for 0 */
    float eps;
    float *mean, *rstd; /* NULL when not asked for */
    ln_store_hint store;
} ln_norm_rows;

static inline ln_norm_rows ln_norm_rows_of(const ln_desc *d, const ln_tensors *t)
{
    ln_norm_rows r = {
        .op = d->op, .dtype = d->dtype, .cast = d->cast,
        .rows = d->rows, .dim = d->dim,
        .x_stride = d->x_stride, .y_stride = d->y_stride,
        .x = t->x, .residual = t->residual, .y = t->y, .h = t->h,
        /* Absent tensors are NULL (ln_check_call): taken as they are, they
         * stay plain loop invariants the compiler unswitches on. */
        .gamma = t->gamma, .beta = t->beta,
        .eps = d->eps, .mean = t->mean, .rstd = t->rstd,
        .store = d->store,
    };
    return r;
}

/* v rounded to binary32 toward zero, its last bit set when inexact. */
static inline float ln_f64_to_f32_odd(double v)
{
    float f = (float)v;
    if ((double)f != v && v == v) {
        uint32_t u = ln_f32_bits(f);
        if (fabs((double)f) > fabs(v))
            u -= 1; /* one ulp toward zero (infinity becomes FLT_MAX) */
        f = ln_f32_from_bits(u | 1u);
    }
    return f;
}

/* v rounded once to the dtype, as binary32. */
static inline float ln_round_d(ln_dtype dt, double v)
{
    return dt == LN_DTYPE_F32 ? (float)v : ln_dtype_round(dt, ln_f64_to_f32_odd(v));
}

/* Bytes of one element (the registry's ln_dtype_size, inline). */
static inline size_t ln_elem_size(ln_dtype dt)
{
    return dt == LN_DTYPE_F32 ? 4 : 2;
}

/* Row i of a dtype array with the given stride (elements). */
static inline const void *ln_row_in(ln_dtype dt, const void *base, size_t i, size_t stride)
{
    return (const char *)base + i * stride * ln_elem_size(dt);
}

static inline void *ln_row_out(ln_dtype dt, void *base, size_t i, size_t stride)
{
    return (char *)base + i * stride * ln_elem_size(dt);
}

/* The add_ operations' first step, h = round(x + residual): the binary32
 * sum rounded to the dtype is the dtype's correctly rounded sum (exact
 * binary32 addition for f32; see ln_dtype_round for bf16 and f16), so every
 * kernel writes the same h.  NaN and Inf pass into h. */
static inline void ln_add_residual_row(ln_dtype dt, const void *x, const void *residual,
                                       void *h, size_t dim)
{
    for (size_t j = 0; j < dim; j++)
        ln_dtype_store(dt, h, j, ln_dtype_load(dt, x, j) + ln_dtype_load(dt, residual, j));
}

/* What row i normalises: x, or for the add_ ops h = round(x + residual),
 * written out first and read back as the rounded values. */
static inline const void *ln_row_source(const ln_norm_rows *a, ln_dtype dt, size_t i)
{
    const void *x = ln_row_in(dt, a->x, i, a->x_stride);
    if (!ln_op_has_residual(a->op))
        return x;
    void *h = ln_row_out(dt, a->h, i, a->y_stride);
    ln_add_residual_row(dt, x, ln_row_in(dt, a->residual, i, a->x_stride), h, a->dim);
    return h;
}

#if defined(__GNUC__)
#define LN_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define LN_ALWAYS_INLINE inline
#endif

#endif
