/*
 * accuracy.h - the accuracy engine: kernels measured against the correctly
 * rounded ground truth, one shape of inputs at a time.
 *
 * `lnbench accuracy` and tests/test_kernel_accuracy.c both measure through
 * it, so the numbers in a result file, the numbers scripts/regen-bounds
 * turns into bounds and the numbers the test checks come from one code path.
 *
 *   ln_acc_shape   what to measure on: a distribution (or the caller's own
 *                  x), rows, dim, seed, eps, with or without gamma and beta
 *   ln_acc_case    the shape's inputs and ground truth, computed once
 *   ln_acc_measure one kernel on a case, run through the ABI: inputs copied
 *                  to the kernel's device, y NaN-filled there, forward, y
 *                  copied back, measured with ln_error_measure
 */
#ifndef LNBENCH_ACCURACY_H
#define LNBENCH_ACCURACY_H

#include "inputs.h"
#include "lnbench_kernel.h"
#include "ulp_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ln_acc_shape {
    ln_dtype dtype;            /* only LN_DTYPE_F32 has a ground truth today */
    /* Inputs: generated from dist and seed, or the caller's own x (rows x
     * dim, contiguous) with dist NULL. */
    const ln_dist *dist;
    const float *x;
    size_t rows, dim;
    uint64_t seed;             /* for x (generated) and gamma/beta (not given) */
    float eps;
    int affine, bias;          /* gamma / beta present (MLX's affine, bias) */
    /* With affine / bias: the caller's own gamma / beta (length dim), or
     * NULL to generate them with ln_generate_affine(seed, ...). */
    const float *gamma, *beta;
} ln_acc_shape;

/* A shape's inputs on the host and its ground truth.  Read-only for the
 * caller once made. */
typedef struct ln_acc_case {
    ln_desc desc;              /* what every kernel computes on this case */
    const float *x;            /* rows x dim, contiguous */
    const float *gamma, *beta; /* length dim, NULL when absent */
    float *truth;              /* the correctly rounded outputs */
    double *hi, *lo;           /* the exact outputs, double-double */
    float *own_x, *own_gamma, *own_beta; /* what the case allocated */
} ln_acc_case;

/* The descriptor kernels see for a shape: op LayerNorm, s->dtype, contiguous
 * rows, tensor bits from affine / bias.  For selection with
 * ln_kernel_select / ln_kernel_supports before any case is made. */
ln_desc ln_acc_shape_desc(const ln_acc_shape *s);

/* Make the inputs and compute the ground truth (threads: MPFR worker
 * threads, 0 = one per online CPU).  Returns 0, or -1 with a one-line
 * reason in err (c is then empty; ln_acc_case_free is still safe). */
int ln_acc_case_make(ln_acc_case *c, const ln_acc_shape *s, unsigned threads, char *err,
                     size_t errlen);
void ln_acc_case_free(ln_acc_case *c);

/* Run kernel k on case c through its device and measure its output.  y is
 * host memory for rows x dim values (contiguous); it receives the kernel's
 * output, NaN wherever the kernel wrote nothing.  Returns 0, or -1 with a
 * one-line reason in err (the kernel cannot compute c, it or its device
 * failed, memory ran out). */
int ln_acc_measure(const ln_acc_case *c, const ln_kernel *k, float *y, ln_error_stats *st,
                   char *err, size_t errlen);

/* Called after each kernel: on success y is its output and st its errors,
 * err NULL; on failure y and st are NULL and err says why.  Return 0 to go
 * on, non-zero to stop. */
typedef int (*ln_acc_hook)(void *ctx, const ln_kernel *k, const float *y,
                           const ln_error_stats *st, const char *err);

/* Measure kernels[0..n) on c in order, calling hook after each.  Returns 0
 * when every kernel was measured, 1 when some failed (each one reported to
 * the hook), -1 with a reason in err when the output buffer could not be
 * allocated, -2 when the hook stopped the loop. */
int ln_acc_measure_kernels(const ln_acc_case *c, const ln_kernel *const *kernels, size_t n,
                           ln_acc_hook hook, void *ctx, char *err, size_t errlen);

#endif
