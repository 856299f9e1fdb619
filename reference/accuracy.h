/*
 * accuracy.h - the accuracy engine: kernels measured against the correctly
 * rounded ground truth, one shape of inputs at a time.
 *
 * `lnbench accuracy` and tests/test_kernel_accuracy.c both measure through
 * it, so the numbers in a result file, the numbers scripts/regen-bounds
 * turns into bounds and the numbers the test checks come from one code path.
 *
 *   ln_acc_shape   what to measure on: operation, dtype, cast, a
 *                  distribution (or the caller's own x), rows, dim, seed,
 *                  eps, with or without gamma and beta
 *   ln_acc_case    the shape's inputs and ground truth, computed once
 *   ln_acc_measure one kernel on a case, run through the ABI: inputs copied
 *                  to the kernel's device in the dtype's bytes, y (and h)
 *                  NaN-filled there, forward, outputs copied back, widened
 *                  to binary32 and measured with ln_error_measure_fmt
 *
 * Values of every dtype travel on the host as binary32 arrays, which hold
 * bf16 and fp16 values exactly; the device sees only the dtype's bytes.
 */
#ifndef LNBENCH_ACCURACY_H
#define LNBENCH_ACCURACY_H

#include "inputs.h"
#include "lnbench_kernel.h"
#include "ulp_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ln_acc_shape {
    ln_op op;
    ln_dtype dtype;
    ln_cast cast;              /* llama / gemma: RMS forms only */
    /* Inputs: generated from dist and seed, or the caller's own x (rows x
     * dim, contiguous, values of the dtype) with dist NULL.  For the add_
     * operations a generated shape draws v from dist and splits it,
     * residual = RN(3/4 v) and x = RN(v - residual), so that h = RN(x +
     * residual) follows the distribution; the caller's own x needs its own
     * residual. */
    const ln_dist *dist;
    const float *x, *residual;
    size_t rows, dim;
    uint64_t seed;             /* for x (generated) and gamma/beta (not given) */
    float eps;
    /* gamma (w) / beta present (MLX's affine, bias); the RMS forms have no
     * beta and ignore bias. */
    int affine, bias;
    /* With affine / bias: the caller's own gamma / beta (length dim, values
     * of the dtype), or NULL to generate them: gamma ~ 1 + 0.1 N(0,1) (for
     * the gemma cast, whose factor is 1 + w, w ~ 0.1 N(0,1)), beta ~ 0.1
     * N(0,1), rounded to the dtype. */
    const float *gamma, *beta;
} ln_acc_shape;

/* A shape's inputs on the host and its ground truth.  Read-only for the
 * caller once made. */
typedef struct ln_acc_case {
    ln_desc desc;              /* what every kernel computes on this case */
    const float *x;            /* rows x dim, contiguous */
    const float *residual;     /* add_ operations: rows x dim, else NULL */
    const float *gamma, *beta; /* length dim, NULL when absent */
    float *truth;              /* the correctly rounded outputs */
    double *hi, *lo;           /* the exact outputs, double-double */
    float *h;                  /* add_ operations: RN(x + residual), else NULL */
    float *own_x, *own_res, *own_gamma, *own_beta; /* what the case allocated */
} ln_acc_case;

/* The descriptor kernels see for a shape: its op, dtype and cast,
 * contiguous rows, tensor bits from affine / bias (no beta for the RMS
 * forms).  For selection with ln_kernel_select / ln_kernel_supports before
 * any case is made. */
ln_desc ln_acc_shape_desc(const ln_acc_shape *s);

/* The ln_format of a dtype (for ln_generate_fmt, ln_dist_refuses). */
const ln_format *ln_acc_format(ln_dtype dt);

/* Make the inputs and compute the ground truth (threads: MPFR worker
 * threads, 0 = one per online CPU).  Returns 0, or -1 with a one-line
 * reason in err (c is then empty; ln_acc_case_free is still safe): among
 * them a distribution the dtype refuses, a caller's value that is not a
 * value of the dtype, an invalid op / cast combination. */
int ln_acc_case_make(ln_acc_case *c, const ln_acc_shape *s, unsigned threads, char *err,
                     size_t errlen);
void ln_acc_case_free(ln_acc_case *c);

/* What one kernel wrote: y and, for the add_ operations, h (else NULL),
 * rows x dim binary32 arrays (widened from the dtype), NaN wherever the
 * kernel wrote nothing. */
typedef struct ln_acc_output {
    float *y, *h;
} ln_acc_output;

/* Run kernel k on case c through its device and measure its output into
 * out (host buffers for rows x dim values; out->h needed for the add_
 * operations).  st gets the errors of y in the dtype's format, and
 * st->h_mismatch the elements of h that are not RN(x + residual) (h must
 * be correctly rounded).  Returns 0, or -1 with a one-line reason in err
 * (the kernel cannot compute c, it or its device failed, memory ran out). */
int ln_acc_measure(const ln_acc_case *c, const ln_kernel *k, ln_acc_output *out,
                   ln_error_stats *st, char *err, size_t errlen);

/* Called after each kernel: on success out holds its outputs and st its
 * errors, err NULL; on failure out and st are NULL and err says why.
 * Return 0 to go on, non-zero to stop. */
typedef int (*ln_acc_hook)(void *ctx, const ln_kernel *k, const ln_acc_output *out,
                           const ln_error_stats *st, const char *err);

/* Measure kernels[0..n) on c in order, calling hook after each.  Returns 0
 * when every kernel was measured, 1 when some failed (each one reported to
 * the hook), -1 with a reason in err when the output buffers could not be
 * allocated, -2 when the hook stopped the loop. */
int ln_acc_measure_kernels(const ln_acc_case *c, const ln_kernel *const *kernels, size_t n,
                           ln_acc_hook hook, void *ctx, char *err, size_t errlen);

#endif
