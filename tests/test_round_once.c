/*
 * test_round_once.c - kernels with LN_CAP_FAITHFUL round bf16 and f16
 * outputs once: on rows built so that the exact result lies within 2^-26
 * of a midpoint between two neighbours in the dtype, its nearest binary32
 * is that midpoint, and a second rounding to nearest-even from there picks
 * the wrong neighbour in half of the columns.  A kernel that narrows its
 * double result to float by nearest and then to the dtype (double
 * rounding) fails here; one that rounds to odd, or redoes such vectors,
 * matches the MPFR ground truth bit for bit.
 *
 * The row: x = +1, -1, +1, ... (mean 0, var 1), so xhat = +-(1 - ~eps/2),
 * just inside +-1; gamma = +-u/2 (u the dtype's ulp at 1) with the sign of
 * x, so t = xhat * gamma is u/2 less a sliver; beta alternates between 1
 * and 1 + u, the neighbours with an even and an odd last bit.  The exact
 * y = beta + u/2 - sliver is just below a midpoint: correctly rounded to
 * beta, while the tie from the midpoint goes to the even neighbour, which
 * above 1 + u is 1 + 2u.  Dims cover the vector tails and bodies of every
 * ISA; the expected outputs come from the ground truth, not from here.
 */
#define _DEFAULT_SOURCE
#include "check.h"
#include "dtype_convert.h"
#include "ground_truth.h"
#include "kernel_call.h"
#include "lnbench_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t dims[] = {2, 6, 14, 34, 66, 130, 4098};

static void run_case(const ln_kernel *k, ln_dtype dt, size_t dim)
{
    const size_t rows = 3;
    const float u = dt == LN_DTYPE_BF16 ? 0x1p-7f : 0x1p-10f; /* ulp of the dtype at 1 */
    float *x = malloc(rows * dim * sizeof *x), *y = malloc(rows * dim * sizeof *y);
    float *truth = malloc(rows * dim * sizeof *truth);
    float *gamma = malloc(dim * sizeof *gamma), *beta = malloc(dim * sizeof *beta);
    if (!x || !y || !truth || !gamma || !beta) {
        CHECK_FAIL("out of memory");
        goto out;
    }
    for (size_t j = 0; j < dim; j++) {
        float s = (j % 2) ? -1.0f : 1.0f;
        gamma[j] = s * u / 2; /* with x's sign: t = xhat * gamma > 0 */
        /* beta: 1 + u (odd last bit) on two columns of every four */
        beta[j] = (j / 2) % 2 ? 1.0f + u : 1.0f;
        for (size_t i = 0; i < rows; i++)
            x[i * dim + j] = s * (float)(i + 1); /* xhat the same on every row */
    }
    char err[256];
    ln_gt_spec spec = {.op = LN_OP_LAYERNORM, .dtype = dt, .cast = LN_CAST_SINGLE, .x = x,
                       .rows = rows, .dim = dim, .x_stride = dim, .gamma = gamma,
                       .beta = beta, .eps = 1e-5f};
    if (ln_ground_truth_op(&spec, truth, NULL, NULL, NULL, dim, 1, err, sizeof err) != 0) {
        CHECK_FAIL("ground truth: %s", err);
        goto out;
    }
    /* The rows do what the header says: every odd-beta column's exact
     * value rounds down to beta, away from the even neighbour. */
    CHECK(dim < 4 || truth[2] == 1.0f + u, "%s dim %zu: the constructed row is not on a "
          "midpoint (truth %.9g)", ln_dtype_name(dt), dim, truth[2]);
    test_call c = {.op = LN_OP_LAYERNORM, .dtype = dt, .rows = rows, .dim = dim, .x = x,
                   .x_stride = dim, .y = y, .y_stride = dim, .gamma = gamma, .beta = beta,
                   .eps = 1e-5f};
    const char *why = NULL;
    if (test_call_run(k, &c, &why) != 0) {
        CHECK_FAIL("%s %s dim %zu: %s", k->name, ln_dtype_name(dt), dim, why);
        goto out;
    }
    size_t wrong = 0, first = 0;
    for (size_t e = 0; e < rows * dim; e++)
        if (memcmp(&y[e], &truth[e], sizeof(float)) != 0 && wrong++ == 0)
            first = e;
    CHECK(wrong == 0, "%s %s dim %zu: %zu of %zu outputs not correctly rounded (first at %zu: "
          "%.9g, want %.9g)", k->name, ln_dtype_name(dt), dim, wrong, rows * dim, first,
          y[first], truth[first]);
out:
    free(x);
    free(y);
    free(truth);
    free(gamma);
    free(beta);
}

int main(void)
{
    static const ln_dtype dtypes[] = {LN_DTYPE_BF16, LN_DTYPE_F16};
    size_t tested = 0;
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        if (!(k->caps.flags & LN_CAP_FAITHFUL) || ln_kernel_unavailable(k) ||
            !ln_device_get(k->caps.device))
            continue;
        for (size_t t = 0; t < sizeof dtypes / sizeof dtypes[0]; t++) {
            ln_desc d = {.op = LN_OP_LAYERNORM, .dtype = dtypes[t], .rows = 1, .dim = 2,
                         .x_stride = 2, .y_stride = 2, .eps = 1e-5f,
                         .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA};
            if (ln_kernel_supports(k, &d, NULL) != 0)
                continue;
            for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
                run_case(k, dtypes[t], dims[di]);
            printf("%-17s %-4s rounds once\n", k->name, ln_dtype_name(dtypes[t]));
            tested++;
        }
    }
    CHECK(tested > 0, "no faithful kernel computes bf16 or f16 here");
    return CHECK_DONE("test_round_once");
}
