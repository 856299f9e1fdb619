/*
 * row_wide.h - one row of any operation, dtype and cast in double, plain C:
 * the SIMD kernels' fallback for the rare row whose vector statistics came
 * out non-finite (a row holding NaN/Inf, which must become all NaN, or a
 * finite row whose float sum of squares overflowed, |x| beyond ~1e19), and
 * the accurate kernels' path when they cannot allocate.  Every output is
 * rounded once from the double value (the cast's own roundings apart):
 * binary32 to nearest, bf16/f16 through a float rounded to odd.
 * Not in any hot loop: out of line, arguments at run time.
 */
#ifndef LNBENCH_ROW_WIDE_H
#define LNBENCH_ROW_WIDE_H

#include "dtype_convert.h"
#include "lnbench_kernel.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* v as a float rounded to odd: toward zero, last bit set when inexact.
 * Rounding it once more to bf16 or f16 rounds v correctly. */
static inline float ln_wide_odd(double v)
{
    float f = (float)v;
    if ((double)f == v || isnan(v))
        return f;
    uint32_t u = ln_f32_bits(f);
    if (fabs((double)f) > fabs(v))
        u--; /* rounded away from zero (or to infinity): step back */
    return ln_f32_from_bits(u | 1u);
}

/* v rounded once to the dtype, stored. */
static inline void ln_wide_st_d(ln_dtype dt, void *p, size_t j, double v)
{
    ln_dtype_store(dt, p, j, dt == LN_DTYPE_F32 ? (float)v : ln_wide_odd(v));
}

/* Row x (h for the add_ ops, already formed) of dim values into y. */
static __attribute__((noinline, unused)) void
ln_row_wide(ln_dtype dt, int rms, ln_cast cast, const void *x, void *y, size_t dim,
            const void *gamma, const void *beta, float eps, float *mean_out, float *rstd_out)
{
    double mean = 0.0;
    if (!rms) {
        double sum = 0.0;
        for (size_t j = 0; j < dim; j++)
            sum += ln_dtype_load(dt, x, j);
        mean = sum / (double)dim;
    }
    double ssq = 0.0;
    for (size_t j = 0; j < dim; j++) {
        double d = ln_dtype_load(dt, x, j) - mean;
        ssq += d * d;
    }
    double rstd = 1.0 / sqrt(ssq / (double)dim + (double)eps);
    /* NaN or Inf anywhere in the row leaves ssq NaN or Inf (squares of
     * finite floats cannot overflow a double): the whole row, mean and
     * rstd are NaN. */
    if (!(ssq <= DBL_MAX))
        mean = rstd = NAN;
    for (size_t j = 0; j < dim; j++) {
        double n = (ln_dtype_load(dt, x, j) - mean) * rstd;
        if (gamma && cast == LN_CAST_LLAMA) {
            /* round(w * round(n)): the float product of two values of the
             * dtype is exact for bf16/f16, the definition's rounding for
             * binary32. */
            float t = ln_dtype_round(dt, dt == LN_DTYPE_F32 ? (float)n : ln_wide_odd(n));
            ln_dtype_store(dt, y, j, t * ln_dtype_load(dt, gamma, j));
            continue;
        }
        if (gamma) {
            float w = ln_dtype_load(dt, gamma, j);
            n *= cast == LN_CAST_GEMMA ? (double)(1.0f + w) : (double)w;
        }
        if (beta)
            n += ln_dtype_load(dt, beta, j);
        ln_wide_st_d(dt, y, j, n);
    }
    if (mean_out)
        *mean_out = (float)mean;
    if (rstd_out)
        *rstd_out = (float)rstd;
}

/* A whole call, row by row (h formed first for the add_ ops). */
static __attribute__((unused)) void ln_rows_wide(const ln_desc *d, const ln_tensors *t)
{
    const size_t es = ln_dtype_size(d->dtype);
    const int rms = ln_op_is_rms(d->op), add = ln_op_has_residual(d->op);
    for (size_t i = 0; i < d->rows; i++) {
        const char *x = (const char *)t->x + i * d->x_stride * es;
        char *y = (char *)t->y + i * d->y_stride * es;
        if (add) {
            const char *r = (const char *)t->residual + i * d->x_stride * es;
            char *h = (char *)t->h + i * d->y_stride * es;
            for (size_t j = 0; j < d->dim; j++)
                ln_dtype_store(d->dtype, h, j,
                               ln_dtype_load(d->dtype, x, j) + ln_dtype_load(d->dtype, r, j));
            x = h;
        }
        ln_row_wide(d->dtype, rms, d->cast, x, y, d->dim, t->gamma, t->beta, d->eps,
                    t->mean ? t->mean + i : NULL, t->rstd ? t->rstd + i : NULL);
    }
}

#endif
