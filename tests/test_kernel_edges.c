/*
 * test_kernel_edges.c - the ABI rules of kernels/lnbench_kernel.h, checked on
 * every available kernel of the registry, for every operation x dtype x
 * cast it declares (ln_kernel_supports), each against the reference for
 * that combination: the first portable kernel with LN_CAP_FAITHFUL,
 * LN_CAP_EXACT_CONSTANT and LN_CAP_WIDE_RANGE that computes it.
 *
 *  - dims around every vector width (1..33, 4095..4097, 8193; device
 *    kernels and the llama and gemma casts the tails of one and two
 *    vectors), rows with a stride larger than dim, base pointers of every
 *    alignment;
 *  - every tensor placed (tests/kernel_call.h, on the host device) so that
 *    its last element ends exactly at a PROT_NONE guard page or, in a
 *    second placement, its first follows one: a read or write past either
 *    end faults; y and h have canaries before them and in the gaps between
 *    their rows, so a write outside the rows is caught either way;
 *  - results within a loose tolerance of the reference (this is not the
 *    accuracy test, only "did every element get the right formula");
 *  - add_ operations: h is exactly round(x + residual) in every kernel;
 *  - the store hints (auto, cached, streaming) give bit-identical results
 *    in kernels that declare LN_CAP_STREAMING_STORES;
 *  - asking for mean and rstd does not change y;
 *  - constant rows give exactly beta (0 without beta) in kernels that
 *    declare LN_CAP_EXACT_CONSTANT (LayerNorm forms);
 *  - a NaN or Inf anywhere in a row (x, or the residual) makes the whole
 *    row NaN, and its mean and rstd too when asked for;
 *  - finite rows after a NaN, an Inf and a huge row in the same call come
 *    out bit-identical to the same kernel's call on those rows alone (the
 *    SIMD kernels' fallback must hand the pipeline back intact); the huge
 *    row itself is right in kernels that declare LN_CAP_WIDE_RANGE;
 *  - mean and rstd outputs agree with the reference's.
 * Data reaches every kernel through its device's ops (kernel_call.h), so a
 * device kernel is tested by the same code.  Kernels are chosen by what
 * they declare (ln_caps, ln_kernel_supports()), never by name.  With
 * LNBENCH_DISABLE_ISA set, the kernels of each masked ISA must say they are
 * unavailable and why (the ctest entries run it that way too).
 */
#define _DEFAULT_SOURCE
#include "check.h"
#include "cpu_features.h"
#include "kernel_call.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What one pass of the tests computes: an operation, dtype and cast, and
 * the reference kernel for it. */
typedef struct combo {
    ln_op op;
    ln_dtype dt;
    ln_cast cast;
    const ln_kernel *ref;
} combo;

static const char *combo_name(const combo *c)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s/%s/%s", ln_op_name(c->op), ln_dtype_name(c->dt),
             ln_cast_name(c->cast));
    return buf;
}

/* Deterministic values in about [-2, 2] with a small mean. */
static uint64_t rng_state = 88172645463325252ull;
static float rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) * 0x1p-53 * 4.0 - 1.9);
}

static const float CANARY = TEST_CANARY;

/* "Did every element get the right formula": |y - ref| <= tol * max|ref|,
 * 1e-3 plus two ulps of the dtype (kernels with float statistics round
 * (x - mean) * rstd and the result differently from the double reference). */
static double tolerance(ln_dtype dt)
{
    return 1e-3 + (dt == LN_DTYPE_BF16 ? 2 * 0x1p-7 : dt == LN_DTYPE_F16 ? 2 * 0x1p-10 : 0);
}

/* h as the definition says: x + residual rounded once to the dtype.  The
 * double sum of two dtype values of these magnitudes is exact, and exact in
 * binary32 for bf16/f16, so one rounding follows. */
static float exact_h(ln_dtype dt, float x, float r)
{
    return ln_dtype_round(dt, (float)((double)x + (double)r));
}

/* Bits equal, or both NaN (a NaN's payload is not part of the contract). */
static int same_value(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

enum { MAXROWS = 4 };

/* The tails around one and two vectors of every ISA (and the GPU bodies'
 * 8-, 16- and 32-wide loops). */
static const size_t short_dims[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33};

/* Whether the brief sweep (device kernels, the llama and gemma casts)
 * covers dim: the short dims above, and every dim past the 1..33 sweep. */
static int in_brief_sweep(size_t dim)
{
    for (size_t i = 0; i < sizeof short_dims / sizeof short_dims[0]; i++)
        if (short_dims[i] == dim)
            return 1;
    return dim > 33;
}

/* One shape of one combo: every kernel that supports it, every gamma/beta
 * combination the operation has and every store hint, and once more
 * without mean and rstd (variant 3).  A variant a kernel does not declare
 * (ln_kernel_supports) is not run. */
static void test_shape(const combo *cb, size_t rows, size_t dim, size_t xpad, size_t ypad,
                       int front, size_t shift)
{
    const ln_dtype dt = cb->dt;
    const int add = ln_op_has_residual(cb->op), rms = ln_op_is_rms(cb->op);
    size_t xs = dim + xpad, ys = dim + ypad;
    size_t xn = (rows - 1) * xs + dim, yn = (rows - 1) * ys + dim, n = rows * dim;
    float *x = malloc(xn * sizeof *x), *res = malloc(xn * sizeof *res);
    float *gamma = malloc(dim * sizeof *gamma), *beta = malloc(dim * sizeof *beta);
    float *y = malloc(yn * sizeof *y), *h = malloc(yn * sizeof *h);
    float *yref = malloc(n * sizeof *yref), *href = malloc(n * sizeof *href);
    float *ycached = malloc(n * sizeof *ycached);
    float mref[MAXROWS], rref[MAXROWS], mk[MAXROWS], rk[MAXROWS];

    for (size_t i = 0; i < xn; i++)
        x[i] = res[i] = CANARY; /* gaps between rows: must not matter */
    /* Signs alternating by column keep every row's variance (of x, and of
     * h = x + residual) away from 0 even at dim 2: this test checks the
     * formula and the edges, and ill-conditioned rows, where the one-pass
     * kernel may lose all its digits, are test_kernel_accuracy's. */
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < dim; j++) {
            float mag = 0.75f + 0.25f * rnd(); /* about [0.28, 1.28] */
            x[r * xs + j] = ln_dtype_round(dt, (j & 1 ? -mag : mag) + 0.25f);
            res[r * xs + j] = ln_dtype_round(dt, 0.1f * rnd());
        }
    for (size_t j = 0; j < dim; j++) {
        gamma[j] = ln_dtype_round(dt, 1.0f + 0.25f * rnd());
        beta[j] = ln_dtype_round(dt, 0.5f * rnd());
    }

    for (int gb = 0; gb < (rms ? 2 : 4); gb++) {
        const float *g = gb & 1 ? gamma : NULL, *b = gb & 2 ? beta : NULL;
        test_call ra = {.op = cb->op, .dtype = dt, .cast = cb->cast, .rows = rows, .dim = dim,
                        .x = x, .x_stride = xs, .y = yref, .y_stride = dim, .gamma = g,
                        .beta = b, .eps = 1e-5f, .mean = rms ? NULL : mref, .rstd = rref,
                        .residual = add ? res : NULL, .h = add ? href : NULL};
        const char *why = NULL;
        if (test_call_run(cb->ref, &ra, &why) != 0) {
            CHECK_FAIL("%s: reference failed: %s", combo_name(cb), why ? why : "?");
            continue;
        }
        /* (A plain compare, not an fmax reduction: aarch64 GCC 12's
         * vectoriser dies on the latter.) */
        double scale = 1.0;
        for (size_t i = 0; i < n; i++)
            if (fabs(yref[i]) > scale)
                scale = fabs(yref[i]);
        if (add) {
            size_t wrong = 0;
            for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < dim; j++)
                    wrong += !same_value(href[r * dim + j],
                                         exact_h(dt, x[r * xs + j], res[r * xs + j]));
            CHECK(wrong == 0, "%s dim %zu: reference %s: %zu of h not round(x + residual)",
                  combo_name(cb), dim, cb->ref->name, wrong);
        }

        for (size_t ki = 0; ki < ln_kernel_count; ki++) {
            const ln_kernel *k = ln_kernels[ki];
            if (ln_kernel_unavailable(k))
                continue;
            /* Device kernels copy the tensors in and out through their
             * device's ops (the guard pages check those copies, which do
             * not depend on dim, once behind and once in front): the short
             * dims are enough for their arithmetic and strides, and each
             * call costs a device round trip. */
            if (k->caps.device != LN_DEVICE_HOST &&
                (!in_brief_sweep(dim) || front || getenv("LNBENCH_DISABLE_ISA")))
                continue; /* (masking host ISAs changes nothing on a device) */
            int have_auto = 0;
            for (int variant = 0; variant < 4; variant++) {
                int hint = variant < 3 ? variant : LN_STORE_AUTO, stats = variant < 3;
                /* The cached and streaming hints only for kernels that
                 * honour them (the others take every hint alike). */
                if ((variant == 1 || variant == 2) &&
                    !(k->caps.flags & LN_CAP_STREAMING_STORES))
                    continue;
                for (size_t i = 0; i < yn; i++)
                    y[i] = h[i] = CANARY;
                for (size_t r = 0; r < rows; r++)
                    mk[r] = rk[r] = CANARY;
                test_call a = ra;
                a.y = y;
                a.y_stride = ys;
                a.h = add ? h : NULL;
                a.mean = stats && !rms ? mk : NULL;
                a.rstd = stats ? rk : NULL;
                a.store = (ln_store_hint)hint;
                a.guard_front = front;
                a.shift = shift;
                ln_desc d = test_call_desc(&a);
                if (ln_kernel_supports(k, &d, NULL) != 0)
                    continue;
                if (test_call_run(k, &a, &why) != 0) {
                    CHECK_FAIL("%s %s dim %zu: run failed: %s", k->name, combo_name(cb), dim,
                               why ? why : "?");
                    continue;
                }
                int bad = 0;
                for (size_t r = 0; r + 1 < rows; r++)
                    for (size_t j = dim; j < ys; j++)
                        bad |= y[r * ys + j] != CANARY || (add && h[r * ys + j] != CANARY);
                CHECK(!bad, "%s %s dim %zu stride %zu hint %d: wrote between the rows of y "
                      "or h", k->name, combo_name(cb), dim, ys, hint);
                double worst = 0.0;
                size_t wi = 0, hwrong = 0;
                for (size_t r = 0; r < rows; r++)
                    for (size_t j = 0; j < dim; j++) {
                        double e = fabs((double)y[r * ys + j] - yref[r * dim + j]);
                        if (!(e <= worst)) { /* NaN lands here too */
                            worst = isnan(e) ? INFINITY : e;
                            wi = r * dim + j;
                        }
                        if (add)
                            hwrong += !same_value(h[r * ys + j], href[r * dim + j]);
                    }
                CHECK(worst <= tolerance(dt) * scale,
                      "%s %s dim %zu gamma/beta %d hint %d: |y - ref| = %g at %zu (ref %g)",
                      k->name, combo_name(cb), dim, gb, hint, worst, wi, yref[wi]);
                CHECK(hwrong == 0, "%s %s dim %zu hint %d: %zu elements of h are not exactly "
                      "round(x + residual)", k->name, combo_name(cb), dim, hint, hwrong);
                for (size_t r = 0; r < rows && stats; r++) {
                    CHECK(rms || fabs(mk[r] - mref[r]) <= 1e-4 * (1.0 + fabs(mref[r])),
                          "%s %s dim %zu row %zu: mean %g, reference %g", k->name,
                          combo_name(cb), dim, r, mk[r], mref[r]);
                    CHECK(fabs(rk[r] / rref[r] - 1.0) <= 1e-3,
                          "%s %s dim %zu row %zu: rstd %g, reference %g", k->name,
                          combo_name(cb), dim, r, rk[r], rref[r]);
                }
                /* Every store hint computes the same numbers, with or
                 * without the statistics asked for. */
                if (variant == 0) {
                    for (size_t r = 0; r < rows; r++)
                        memcpy(ycached + r * dim, y + r * ys, dim * sizeof *y);
                    have_auto = 1;
                } else if (have_auto) {
                    int same = 1;
                    for (size_t r = 0; r < rows; r++)
                        same &= memcmp(ycached + r * dim, y + r * ys, dim * sizeof *y) == 0;
                    CHECK(same, "%s %s dim %zu hint %d%s: differs from the auto hint",
                          k->name, combo_name(cb), dim, hint,
                          stats ? "" : " without mean/rstd");
                }
            }
        }
    }
    free(x);
    free(res);
    free(gamma);
    free(beta);
    free(y);
    free(h);
    free(yref);
    free(href);
    free(ycached);
}

/* Constant rows, and rows holding a NaN or an Inf (in x, or for the add_
 * ops in the residual too), for one kernel on one combo. */
static void test_special_rows(const combo *cb, const ln_kernel *k, size_t dim)
{
    enum { R = 7 };
    const ln_dtype dt = cb->dt;
    const int add = ln_op_has_residual(cb->op), rms = ln_op_is_rms(cb->op);
    float *x = malloc(R * dim * sizeof *x), *res = malloc(R * dim * sizeof *res);
    float *y = malloc(R * dim * sizeof *y), *h = malloc(R * dim * sizeof *h);
    float *beta = malloc(dim * sizeof *beta), *gamma = malloc(dim * sizeof *gamma);
    float mean[R], rstd[R];
    /* 1e-20 underflows f16 to 0: still a constant row. */
    static const float consts[3] = {3.3f, -1234.567f, 1e-20f};
    for (size_t j = 0; j < dim; j++) {
        gamma[j] = ln_dtype_round(dt, 1.0f + 0.25f * rnd());
        beta[j] = ln_dtype_round(dt, 0.5f * rnd());
    }
    for (size_t r = 0; r < R; r++)
        for (size_t j = 0; j < dim; j++) {
            x[r * dim + j] = ln_dtype_round(dt, r < 3 ? consts[r] : rnd());
            /* Constant rows get a constant residual: h is constant too. */
            res[r * dim + j] = ln_dtype_round(dt, r < 3 ? 0.5f : 0.25f * rnd());
        }
    /* a NaN at the start, an Inf in the middle, a -Inf at the very end of
     * x; for the add_ ops a NaN in the residual alone */
    x[3 * dim] = NAN;
    x[4 * dim + dim / 2] = INFINITY;
    x[5 * dim + dim - 1] = -INFINITY;
    if (add)
        res[6 * dim + dim / 3] = NAN;
    size_t nan_rows_end = add ? R : R - 1;

    for (int with_beta = 0; with_beta < (rms ? 1 : 2); with_beta++) {
        for (int hint = 0; hint < 3; hint++) {
            test_call a = {.op = cb->op, .dtype = dt, .cast = cb->cast, .rows = R, .dim = dim,
                           .x = x, .x_stride = dim, .y = y, .y_stride = dim, .gamma = gamma,
                           .beta = with_beta ? beta : NULL, .eps = 1e-5f,
                           .mean = rms ? NULL : mean, .rstd = rstd,
                           .residual = add ? res : NULL, .h = add ? h : NULL,
                           .store = (ln_store_hint)hint};
            ln_desc d = test_call_desc(&a);
            if (ln_kernel_supports(k, &d, NULL) != 0)
                continue;
            const char *why = NULL;
            if (test_call_run(k, &a, &why) != 0) {
                CHECK_FAIL("%s %s: run failed: %s", k->name, combo_name(cb), why ? why : "?");
                continue;
            }
            /* A constant row gives exactly beta: LayerNorm's promise (the
             * RMS forms have no mean to take away). */
            if ((k->caps.flags & LN_CAP_EXACT_CONSTANT) && !rms) {
                int ok = 1;
                for (size_t r = 0; r < 3; r++)
                    for (size_t j = 0; j < dim; j++)
                        ok &= y[r * dim + j] == (with_beta ? beta[j] : 0.0f);
                CHECK(ok, "%s %s dim %zu: constant row is not exactly beta", k->name,
                      combo_name(cb), dim);
                for (size_t r = 0; r < 3; r++) {
                    float c = add ? exact_h(dt, x[r * dim], res[r * dim]) : x[r * dim];
                    CHECK(mean[r] == c, "%s %s dim %zu: constant row mean %.9g != %.9g",
                          k->name, combo_name(cb), dim, mean[r], c);
                }
            }
            for (size_t r = 3; r < nan_rows_end; r++) {
                int all_nan = 1;
                for (size_t j = 0; j < dim; j++)
                    all_nan &= isnan(y[r * dim + j]);
                CHECK(all_nan, "%s %s dim %zu row %zu (%s): not all NaN", k->name,
                      combo_name(cb), dim, r,
                      r == 3 ? "NaN" : r == 4 ? "Inf" : r == 5 ? "-Inf" : "NaN residual");
                CHECK((rms || isnan(mean[r])) && isnan(rstd[r]),
                      "%s %s dim %zu row %zu: mean %g rstd %g, want NaN", k->name,
                      combo_name(cb), dim, r, rms ? 0.0 : mean[r], rstd[r]);
            }
            if (add) /* the bad value itself passes into h */
                CHECK(isnan(h[3 * dim]) && isinf(h[4 * dim + dim / 2]) &&
                          isinf(h[5 * dim + dim - 1]) && isnan(h[6 * dim + dim / 3]),
                      "%s %s dim %zu: NaN/Inf not carried into h", k->name, combo_name(cb),
                      dim);
        }
    }
    free(x);
    free(res);
    free(y);
    free(h);
    free(beta);
    free(gamma);
}

/* Finite rows after bad ones in the same call.  The block
 *   0 normal, 1 NaN, 2 normal, 3 +Inf, 4 normal, 5 huge, 6 normal, 7 normal
 * (huge: |x| in 1e29..1e30, so every binary32 square overflows; in f16,
 * whose largest value is 65504, |x| in 1e4..5e4, whose squares overflow
 * f16 itself) goes through the kernel in one call per store hint.  Every
 * row must come out exactly as the same kernel computes it alone (kernels
 * are row-independent: each row's passes run in a fixed order whatever its
 * neighbours are), the finite rows within the loose tolerance of the
 * reference, the NaN and Inf rows all NaN.  The huge row is held to the
 * reference only in kernels that declare LN_CAP_WIDE_RANGE.  Returns
 * whether the huge row came out right (so that a kernel lacking the flag
 * but getting every huge row right is reported as a candidate for it). */
static int test_bad_rows_between(const combo *cb, const ln_kernel *k, size_t dim)
{
    enum { R = 8, NAN_ROW = 1, INF_ROW = 3, HUGE_ROW = 5 };
    const ln_dtype dt = cb->dt;
    const int add = ln_op_has_residual(cb->op), rms = ln_op_is_rms(cb->op);
    float *x = malloc(R * dim * sizeof *x), *res = malloc(R * dim * sizeof *res);
    float *y = malloc(R * dim * sizeof *y), *yalone = malloc(R * dim * sizeof *y);
    float *yref = malloc(R * dim * sizeof *y), *h = malloc(R * dim * sizeof *h);
    float *gamma = malloc(dim * sizeof *gamma), *beta = malloc(dim * sizeof *beta);
    float mean[R], rstd[R], malone[R], ralone[R], mref[R], rref[R];
    int huge_right = 0;
    float big = dt == LN_DTYPE_F16 ? 1e4f : 1e29f;
    for (size_t j = 0; j < dim; j++) {
        gamma[j] = ln_dtype_round(dt, 1.0f + 0.25f * rnd());
        beta[j] = ln_dtype_round(dt, 0.5f * rnd());
    }
    for (size_t i = 0; i < R * dim; i++) {
        x[i] = ln_dtype_round(dt, rnd() + 0.25f);
        res[i] = ln_dtype_round(dt, 0.25f * rnd());
    }
    x[NAN_ROW * dim + dim / 3] = NAN;
    x[INF_ROW * dim + dim - 1] = INFINITY;
    for (size_t j = 0; j < dim; j++) {
        float u = rnd(); /* about [-1.9, 2.1] */
        const float v = (u < 0.1f ? -big : big) * (1.0f + 2.0f * fabsf(u));
        x[HUGE_ROW * dim + j] = ln_dtype_round(dt, v);
    }

    test_call a = {.op = cb->op, .dtype = dt, .cast = cb->cast, .rows = R, .dim = dim, .x = x,
                   .x_stride = dim, .y = yref, .y_stride = dim, .gamma = gamma,
                   .beta = rms ? NULL : beta, .eps = 1e-5f, .mean = rms ? NULL : mref,
                   .rstd = rref, .residual = add ? res : NULL, .h = add ? h : NULL,
                   .guard_front = 1};
    ln_desc d = test_call_desc(&a);
    const char *why = NULL;
    if (ln_kernel_supports(k, &d, NULL) != 0)
        goto out;
    if (test_call_run(cb->ref, &a, &why) != 0) {
        CHECK_FAIL("%s: reference failed: %s", combo_name(cb), why ? why : "?");
        goto out;
    }
    /* Each row alone, at the same offset from the page as in the whole
     * call (alignment can pick a SIMD kernel's path): buffers start after
     * the guard page, this one r rows further. */
    for (size_t r = 0; r < R; r++) {
        test_call one = a;
        one.rows = 1;
        one.x = x + r * dim;
        one.residual = add ? res + r * dim : NULL;
        one.y = yalone + r * dim;
        one.h = add ? h + r * dim : NULL;
        one.mean = rms ? NULL : malone + r;
        one.rstd = ralone + r;
        one.store = LN_STORE_CACHED;
        one.shift = r * dim;
        if (test_call_run(k, &one, &why) != 0) {
            CHECK_FAIL("%s %s dim %zu row %zu alone: run failed: %s", k->name, combo_name(cb),
                       dim, r, why ? why : "?");
            goto out;
        }
    }
    double scale = 1.0;
    for (size_t i = 0; i < R * dim; i++)
        if (fabs(yref[i]) > scale) /* NaN compares false */
            scale = fabs(yref[i]);

    for (int hint = 0; hint < 3; hint++) {
        a.y = y;
        a.mean = rms ? NULL : mean;
        a.rstd = rstd;
        a.store = (ln_store_hint)hint;
        if (test_call_run(k, &a, &why) != 0) {
            CHECK_FAIL("%s %s dim %zu hint %d: run failed: %s", k->name, combo_name(cb), dim,
                       hint, why ? why : "?");
            continue;
        }
        for (size_t r = 0; r < R; r++) {
            const float *yr = y + r * dim;
            size_t differ = 0, nan = 0, off = 0;
            double worst = 0.0;
            for (size_t j = 0; j < dim; j++) {
                differ += !same_value(yr[j], yalone[r * dim + j]);
                nan += isnan(yr[j]) != 0;
                double e = fabs((double)yr[j] - yref[r * dim + j]);
                if (!(e <= tolerance(dt) * scale)) { /* NaN lands here too */
                    off++;
                    worst = isnan(e) ? INFINITY : e > worst ? e : worst;
                }
            }
            CHECK(differ == 0 && (rms || same_value(mean[r], malone[r])) &&
                      same_value(rstd[r], ralone[r]),
                  "%s %s dim %zu hint %d row %zu: %zu outputs (or mean/rstd) differ from the "
                  "row computed alone", k->name, combo_name(cb), dim, hint, r, differ);
            if (r == NAN_ROW || r == INF_ROW) {
                CHECK(nan == dim && (rms || isnan(mean[r])) && isnan(rstd[r]),
                      "%s %s dim %zu hint %d row %zu (%s): %zu of %zu NaN, rstd %g", k->name,
                      combo_name(cb), dim, hint, r, r == NAN_ROW ? "NaN" : "Inf", nan, dim,
                      rstd[r]);
                continue;
            }
            int stats_ok = (rms || fabs(mean[r] - mref[r]) <= 1e-4 * fabs(mref[r]) + 1e-4) &&
                           fabs(rstd[r] / rref[r] - 1.0) <= 1e-3;
            if (r == HUGE_ROW) {
                if (hint == 0)
                    huge_right = off == 0 && stats_ok;
                if (!(k->caps.flags & LN_CAP_WIDE_RANGE))
                    continue;
            }
            CHECK(off == 0, "%s %s dim %zu hint %d row %zu%s: %zu outputs off the reference "
                  "by more than %g (worst %g)", k->name, combo_name(cb), dim, hint, r,
                  r == HUGE_ROW ? " (huge)" : "", off, tolerance(dt) * scale, worst);
            CHECK(stats_ok, "%s %s dim %zu hint %d row %zu: mean %g rstd %g, reference %g %g",
                  k->name, combo_name(cb), dim, hint, r, rms ? 0.0 : mean[r], rstd[r],
                  rms ? 0.0 : mref[r], rref[r]);
        }
    }
out:
    free(x);
    free(res);
    free(y);
    free(yalone);
    free(yref);
    free(h);
    free(gamma);
    free(beta);
    return huge_right;
}

/* Outputs in the dtype's subnormal range are rounded, not flushed to zero
 * (the AVX512_BF16 conversions flush binary32 subnormals; the kernels
 * redo such lanes), in every kernel but those declaring
 * LN_CAP_FLUSHES_SUBNORMALS.  gamma is scaled so every |y| lies below the dtype's
 * smallest normal; each output must be within one subnormal step of the
 * reference plus 1 % of the largest |y|, which an output flushed to zero
 * is not.  The gemma cast multiplies by 1 + w: no tiny outputs there. */
static void test_subnormal_outputs(const combo *cb, const ln_kernel *k, size_t dim)
{
    enum { R = 3 };
    const ln_dtype dt = cb->dt;
    if (cb->cast == LN_CAST_GEMMA || (k->caps.flags & LN_CAP_FLUSHES_SUBNORMALS))
        return;
    const int add = ln_op_has_residual(cb->op);
    /* gamma's scale (|y| below 4 x scale x 1.25) and one subnormal step */
    const double scale = dt == LN_DTYPE_F16 ? 0x1p-19 : 0x1p-131;
    const double step = dt == LN_DTYPE_F16 ? 0x1p-24 : dt == LN_DTYPE_BF16 ? 0x1p-133 : 0x1p-149;
    float *x = malloc(R * dim * sizeof *x), *res = malloc(R * dim * sizeof *res);
    float *y = malloc(R * dim * sizeof *y), *yref = malloc(R * dim * sizeof *yref);
    float *h = malloc(R * dim * sizeof *h), *gamma = malloc(dim * sizeof *gamma);
    for (size_t i = 0; i < R * dim; i++) {
        x[i] = ln_dtype_round(dt, rnd());
        res[i] = ln_dtype_round(dt, 0.1f * rnd());
    }
    for (size_t j = 0; j < dim; j++)
        gamma[j] = ln_dtype_round(dt, (float)(scale * (1.0 + 0.25 * rnd())));
    test_call a = {.op = cb->op, .dtype = dt, .cast = cb->cast, .rows = R, .dim = dim, .x = x,
                   .x_stride = dim, .y = yref, .y_stride = dim, .gamma = gamma, .eps = 1e-5f,
                   .residual = add ? res : NULL, .h = add ? h : NULL};
    const char *why = NULL;
    ln_desc d = test_call_desc(&a);
    if (ln_kernel_supports(k, &d, NULL) != 0 || ln_kernel_supports(cb->ref, &d, NULL) != 0)
        goto out;
    if (test_call_run(cb->ref, &a, &why) != 0) {
        CHECK_FAIL("%s: reference failed: %s", combo_name(cb), why ? why : "?");
        goto out;
    }
    double big = 0.0;
    for (size_t i = 0; i < R * dim; i++)
        big = fabs(yref[i]) > big ? fabs(yref[i]) : big;
    CHECK(big > 0.0 && big < (dt == LN_DTYPE_F16 ? 0x1p-14 : 0x1p-126),
          "%s dim %zu: reference outputs up to %g, not all subnormal", combo_name(cb), dim, big);
    for (int hint = 0; hint < 3; hint++) {
        if (hint && !(k->caps.flags & LN_CAP_STREAMING_STORES))
            break;
        a.y = y;
        a.store = (ln_store_hint)hint;
        if (test_call_run(k, &a, &why) != 0) {
            CHECK_FAIL("%s %s dim %zu: run failed: %s", k->name, combo_name(cb), dim,
                       why ? why : "?");
            continue;
        }
        double worst = 0.0;
        size_t wi = 0;
        for (size_t i = 0; i < R * dim; i++) {
            double e = fabs((double)y[i] - yref[i]);
            if (!(e <= worst)) {
                worst = isnan(e) ? INFINITY : e;
                wi = i;
            }
        }
        CHECK(worst <= step + 0.01 * big,
              "%s %s dim %zu hint %d: subnormal outputs off by %g at %zu (y %g, ref %g)",
              k->name, combo_name(cb), dim, hint, worst, wi, y[wi], yref[wi]);
    }
out:
    free(x);
    free(res);
    free(y);
    free(yref);
    free(h);
    free(gamma);
}

/* LNBENCH_DISABLE_ISA: a kernel whose declared ISA is masked off (or
 * missing) is unavailable, with the mask named as the reason; a kernel
 * whose ISA this host has, and without an availability check of its own, is
 * available. */
static void test_masking(void)
{
    const char *env = getenv("LNBENCH_DISABLE_ISA");
    for (size_t ki = 0; ki < ln_kernel_count; ki++) {
        const ln_kernel *k = ln_kernels[ki];
        const char *why = ln_kernel_unavailable(k);
        const char *isa_why = ln_isa_unavailable(k->caps.isa);
        if (isa_why) {
            CHECK(why != NULL, "%s runs although its ISA %s is off: %s", k->name,
                  ln_isa_name(k->caps.isa), isa_why);
            if (env && strstr(isa_why, "LNBENCH_DISABLE_ISA"))
                CHECK(why && strstr(why, "LNBENCH_DISABLE_ISA"),
                      "%s: reason \"%s\" does not name the mask", k->name,
                      why ? why : "(none)");
        } else if (!k->unavailable) {
            CHECK(why == NULL, "%s unavailable on a host with its ISA: %s", k->name, why);
        }
        printf("%-18s %-8s %s\n", k->name,
               k->caps.isa == LN_ISA_NONE ? "portable" : ln_isa_name(k->caps.isa),
               why ? why : "available");
    }
    if (env) {
        /* The mask must actually have switched something off. */
        int masked = 0;
        for (int isa = 0; isa < LN_ISA_COUNT; isa++) {
            const char *w = ln_isa_unavailable((ln_isa)isa);
            masked += w && strstr(w, "LNBENCH_DISABLE_ISA") != NULL;
        }
        CHECK(masked > 0, "LNBENCH_DISABLE_ISA=%s masked nothing", env);
    }
}

/* Whether every ISA LNBENCH_DISABLE_ISA masks is one this host lacks
 * anyway: the masked sweep would then call exactly the unmasked run's code
 * (AVX-512 masked on a CPU without it).  The mask is read at every query,
 * so it is set aside while the ISAs are asked about. */
static int mask_changes_nothing(void)
{
    const char *env = getenv("LNBENCH_DISABLE_ISA");
    char *saved = env ? strdup(env) : NULL;
    if (!saved)
        return 0;
    int masked[LN_ISA_COUNT], present = 0;
    for (int isa = 0; isa < LN_ISA_COUNT; isa++) {
        const char *why = ln_isa_unavailable((ln_isa)isa);
        masked[isa] = why && strstr(why, "LNBENCH_DISABLE_ISA");
    }
    unsetenv("LNBENCH_DISABLE_ISA");
    for (int isa = 0; isa < LN_ISA_COUNT; isa++)
        present |= masked[isa] && !ln_isa_unavailable((ln_isa)isa);
    setenv("LNBENCH_DISABLE_ISA", saved, 1);
    free(saved);
    return !present;
}

int main(void)
{
    /* Every operation x dtype x cast that means something (ln_desc_valid),
     * each with its reference: the first portable kernel that is faithful,
     * exact on constant rows and right on rows whose squares overflow
     * binary32, and computes the combination with every tensor. */
    const unsigned want = LN_CAP_FAITHFUL | LN_CAP_EXACT_CONSTANT | LN_CAP_WIDE_RANGE;
    combo combos[LN_OP_COUNT * LN_DTYPE_COUNT * LN_CAST_COUNT];
    size_t ncombos = 0;
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            for (int c = 0; c < LN_CAST_COUNT; c++) {
                int rms = ln_op_is_rms((ln_op)op);
                ln_desc d = {.op = (ln_op)op, .dtype = (ln_dtype)dt, .cast = (ln_cast)c,
                             .rows = 1, .dim = 8, .x_stride = 8, .y_stride = 8, .eps = 1e-5f,
                             .tensors = rms ? LN_TENSOR_GAMMA | LN_TENSOR_RSTD
                                            : LN_TENSOR_GAMMA | LN_TENSOR_BETA |
                                                  LN_TENSOR_MEAN | LN_TENSOR_RSTD};
                if (ln_desc_valid(&d, NULL) != 0)
                    continue;
                const ln_kernel *ref = NULL, *any = NULL;
                for (size_t ki = 0; ki < ln_kernel_count; ki++) {
                    const ln_kernel *k = ln_kernels[ki];
                    if (ln_kernel_unavailable(k) || ln_kernel_supports(k, &d, NULL) != 0)
                        continue;
                    any = any ? any : k;
                    if (!ref && k->caps.isa == LN_ISA_NONE && k->caps.device == LN_DEVICE_HOST &&
                        (k->caps.flags & want) == want)
                        ref = k;
                }
                combo cb = {(ln_op)op, (ln_dtype)dt, (ln_cast)c, ref};
                if (any && !ref)
                    CHECK_FAIL("%s: %s computes it but no portable faithful, exact-constant, "
                               "wide-range kernel does", combo_name(&cb), any->name);
                if (ref)
                    combos[ncombos++] = cb;
            }
    CHECK(ncombos > 0 && combos[0].op == LN_OP_LAYERNORM && combos[0].dt == LN_DTYPE_F32,
          "no reference for binary32 LayerNorm");
    test_masking();
    if (mask_changes_nothing()) {
        printf("test_kernel_edges: LNBENCH_DISABLE_ISA=%s masks only ISAs this CPU lacks: "
               "the sweep would repeat the unmasked run's calls; skipped\n",
               getenv("LNBENCH_DISABLE_ISA"));
        return check_failures ? CHECK_DONE("test_kernel_edges") : 77;
    }

    static const size_t big[] = {4095, 4096, 4097, 8193};
    /* 49: (49 * 3.3f) * fl(1/49) is not 3.3f in double, so a constant row's
     * mean found through 1/n is off by an ulp (the accurate kernels then
     * sum again around row_guess's, which is exact) */
    static const size_t special_dims[] = {1, 2, 7, 15, 16, 17, 31, 33, 49, 4097};
    /* around the vector widths and the pipelined loops' 64-float step;
     * 1024: streamed, the pipeline's statistics pass prefetches rows ahead
     * (norm_pipeline.h's LN_PREFETCH_AHEAD), in loops of their own */
    static const size_t bad_row_dims[] = {1, 3, 8, 16, 17, 33, 64, 100, 1024, 4097};
    /* The casts llama and gemma change only the arithmetic after the
     * statistics, not which memory a kernel touches: their combinations
     * get the tails around one and two vectors of each ISA and one long
     * row, the single cast every dim.  A run with ISAs masked calls no
     * kernel code an unmasked run does not (it proves the masking), so it
     * sweeps binary32 only. */
    const int masked = getenv("LNBENCH_DISABLE_ISA") != NULL;
    for (size_t ci = 0; ci < ncombos; ci++) {
        const combo *cb = &combos[ci];
        if (masked && cb->dt != LN_DTYPE_F32)
            continue;
        const int every_dim = cb->cast == LN_CAST_SINGLE;
        printf("%-28s reference %s%s\n", combo_name(cb), cb->ref->name,
               every_dim ? "" : " (short dims)");
        for (size_t dim = 1; dim <= 33; dim++) {
            if (!every_dim && !in_brief_sweep(dim))
                continue;
            test_shape(cb, 3, dim, 0, 0, 0, 0);
            test_shape(cb, 4, dim, dim % 5 + 1, dim % 3 + 2, 0, 0);
            test_shape(cb, 2, dim, 3, 1, 1, dim % 4);
        }
        for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
            if (!every_dim && big[i] != 4097)
                continue;
            test_shape(cb, 2, big[i], 0, 0, 0, 0);
            test_shape(cb, 3, big[i], 7, 13, 1, 1);
        }
        for (size_t ki = 0; ki < ln_kernel_count; ki++) {
            const ln_kernel *k = ln_kernels[ki];
            if (ln_kernel_unavailable(k))
                continue;
            for (size_t i = 0; i < sizeof special_dims / sizeof special_dims[0]; i++)
                if (every_dim || special_dims[i] == 17 || special_dims[i] == 4097)
                    test_special_rows(cb, k, special_dims[i]);
            int wide = 1;
            for (size_t i = 0; i < sizeof bad_row_dims / sizeof bad_row_dims[0]; i++)
                if (every_dim || bad_row_dims[i] == 17 || bad_row_dims[i] == 4097)
                    wide &= test_bad_rows_between(cb, k, bad_row_dims[i]);
            test_subnormal_outputs(cb, k, 17);
            if (every_dim)
                test_subnormal_outputs(cb, k, 4097);
            if (wide && cb->dt != LN_DTYPE_F16 && !(k->caps.flags & LN_CAP_WIDE_RANGE))
                printf("note: %s gets every %s row whose squares overflow right but does not "
                       "declare LN_CAP_WIDE_RANGE\n", k->name, combo_name(cb));
        }
    }

    return CHECK_DONE("test_kernel_edges");
}
