/*
 * test_kernel_edges.c - the ABI rules of kernels/lnbench_kernel.h, checked on
 * every available kernel of the registry:
 *
 *  - dims around every vector width (1..33, 4095..4097, 8193), rows with a
 *    stride larger than dim, base pointers of every alignment;
 *  - x, gamma and beta placed so that their last element ends exactly at a
 *    PROT_NONE guard page (and, in a second placement, x starting right
 *    after one): a read past either end faults;
 *  - y placed the same way, with canaries before it and in the gaps
 *    between its rows: a write outside the rows is caught either way;
 *  - results within a loose tolerance of the reference kernel (this is not the
 *    accuracy test, only "did every element get the right formula");
 *  - the store hints (auto, cached, streaming) give bit-identical results;
 *  - asking for mean and rstd does not change y;
 *  - constant rows give exactly beta (0 without beta) in kernels that
 *    declare LN_CAP_EXACT_CONSTANT;
 *  - a NaN or Inf anywhere in a row makes the whole row NaN, and its mean
 *    and rstd too when asked for;
 *  - finite rows after a NaN, an Inf and a huge row (|x| ~ 1e30, whose
 *    squares overflow binary32) in the same call come out bit-identical to
 *    the same kernel's call on those rows alone (the SIMD kernels' fallback
 *    must hand the pipeline back intact); the huge row itself is right in
 *    kernels that declare LN_CAP_WIDE_RANGE;
 *  - mean and rstd outputs agree with the reference's (the first portable
 *    kernel with LN_CAP_FAITHFUL, LN_CAP_EXACT_CONSTANT and LN_CAP_WIDE_RANGE).
 * Kernels are chosen by what they declare (ln_caps, ln_kernel_supports()),
 * never by name.  With LNBENCH_DISABLE_ISA set, the kernels of each masked
 * ISA must say they are unavailable and why (the ctest entries run it that
 * way too).
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

static size_t page;

/* n floats with a PROT_NONE page on each side.  at_end: the last float
 * touches the trailing guard page; otherwise the first float follows the
 * leading one (plus `shift` floats, to vary the alignment). */
typedef struct guarded {
    void *base;
    size_t len;
    float *p;
} guarded;

static guarded guarded_alloc(size_t n, int at_end, size_t shift)
{
    guarded g;
    size_t bytes = (n + shift) * sizeof(float);
    size_t data = (bytes + page - 1) / page * page;
    g.len = data + 2 * page;
    g.base = mmap(NULL, g.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g.base == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    char *b = g.base;
    if (mprotect(b, page, PROT_NONE) != 0 || mprotect(b + page + data, page, PROT_NONE) != 0) {
        perror("mprotect");
        exit(1);
    }
    if (at_end)
        g.p = (float *)(b + page + data) - n;
    else
        g.p = (float *)(b + page) + shift;
    return g;
}

static void guarded_free(guarded *g)
{
    munmap(g->base, g->len);
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

static const float CANARY = -1234.5f;

enum { MAXROWS = 4 };

/* One shape: every kernel, every gamma/beta combination and store hint,
 * and once more without mean and rstd (variant 3).  A variant a kernel does
 * not declare (ln_kernel_supports) is not run. */
static void test_shape(const ln_kernel *ref, size_t rows, size_t dim, size_t xpad,
                       size_t ypad, int x_at_end, size_t shift)
{
    size_t xs = dim + xpad, ys = dim + ypad;
    size_t xn = (rows - 1) * xs + dim;
    /* y gets 16 canary floats before its first row. */
    size_t yn = (rows - 1) * ys + dim + 16;
    guarded gx = guarded_alloc(xn, x_at_end, shift);
    guarded gg = guarded_alloc(dim, 1, 0), gb = guarded_alloc(dim, 1, 0);
    guarded gy = guarded_alloc(yn, 1, 0);
    float *x = gx.p, *gamma = gg.p, *beta = gb.p, *y = gy.p + 16;

    for (size_t i = 0; i < xn; i++)
        x[i] = CANARY; /* gaps between rows: must not matter */
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < dim; j++)
            x[r * xs + j] = rnd() + 0.25f;
    for (size_t j = 0; j < dim; j++) {
        gamma[j] = 1.0f + 0.25f * rnd();
        beta[j] = 0.5f * rnd();
    }

    size_t n = rows * dim;
    float *yref = malloc(n * sizeof *yref), *ycached = malloc(n * sizeof *ycached);
    float mref[MAXROWS], rref[MAXROWS], mk[MAXROWS], rk[MAXROWS];

    for (int combo = 0; combo < 4; combo++) {
        const float *g = combo & 1 ? gamma : NULL, *b = combo & 2 ? beta : NULL;
        test_call ra = {.rows = rows, .dim = dim, .x = x, .x_stride = xs, .y = yref,
                      .y_stride = dim, .gamma = g, .beta = b, .eps = 1e-5f,
                      .mean = mref, .rstd = rref};
        const char *why = NULL;
        if (test_call_run(ref, &ra, &why) != 0) {
            CHECK_FAIL("reference failed: %s", why ? why : "?");
            continue;
        }
        /* (A plain compare, not an fmax reduction: aarch64 GCC 12's
         * vectoriser dies on the latter.) */
        double scale = 1.0;
        for (size_t i = 0; i < n; i++)
            if (fabs(yref[i]) > scale)
                scale = fabs(yref[i]);

        for (size_t ki = 0; ki < ln_kernel_count; ki++) {
            const ln_kernel *k = ln_kernels[ki];
            /* Device kernels need device buffers: tests/test_opencl.c. */
            if (ln_kernel_unavailable(k) || k->caps.device != LN_DEVICE_HOST)
                continue;
            int have_auto = 0;
            for (int variant = 0; variant < 4; variant++) {
                int hint = variant < 3 ? variant : LN_STORE_AUTO, stats = variant < 3;
                for (size_t i = 0; i < yn; i++)
                    gy.p[i] = CANARY;
                for (size_t r = 0; r < rows; r++)
                    mk[r] = rk[r] = CANARY;
                test_call a = ra;
                a.y = y;
                a.y_stride = ys;
                a.mean = stats ? mk : NULL;
                a.rstd = stats ? rk : NULL;
                a.store = (ln_store_hint)hint;
                ln_desc d = test_call_desc(&a);
                if (ln_kernel_supports(k, &d, NULL) != 0)
                    continue;
                if (test_call_run(k, &a, &why) != 0) {
                    CHECK_FAIL("%s dim %zu: run failed: %s", k->name, dim, why ? why : "?");
                    continue;
                }
                int bad = 0;
                for (size_t i = 0; i < 16; i++)
                    bad |= gy.p[i] != CANARY;
                for (size_t r = 0; r + 1 < rows; r++)
                    for (size_t j = dim; j < ys; j++)
                        bad |= y[r * ys + j] != CANARY;
                CHECK(!bad, "%s dim %zu stride %zu hint %d: wrote outside y's rows",
                      k->name, dim, ys, hint);
                double worst = 0.0;
                size_t wi = 0;
                for (size_t r = 0; r < rows; r++)
                    for (size_t j = 0; j < dim; j++) {
                        double e = fabs((double)y[r * ys + j] - yref[r * dim + j]);
                        if (!(e <= worst)) { /* NaN lands here too */
                            worst = isnan(e) ? INFINITY : e;
                            wi = r * dim + j;
                        }
                    }
                CHECK(worst <= 1e-3 * scale,
                      "%s dim %zu combo %d hint %d: |y - ref| = %g at %zu (ref %g)",
                      k->name, dim, combo, hint, worst, wi, yref[wi]);
                for (size_t r = 0; r < rows && stats; r++) {
                    CHECK(fabs(mk[r] - mref[r]) <= 1e-4 * (1.0 + fabs(mref[r])),
                          "%s dim %zu row %zu: mean %g, reference %g", k->name, dim, r,
                          mk[r], mref[r]);
                    CHECK(fabs(rk[r] / rref[r] - 1.0) <= 1e-3,
                          "%s dim %zu row %zu: rstd %g, reference %g", k->name, dim, r,
                          rk[r], rref[r]);
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
                    CHECK(same, "%s dim %zu hint %d%s: differs from the auto hint",
                          k->name, dim, hint, stats ? "" : " without mean/rstd");
                }
            }
        }
    }
    free(yref);
    free(ycached);
    guarded_free(&gx);
    guarded_free(&gg);
    guarded_free(&gb);
    guarded_free(&gy);
}

/* Constant rows, and rows holding a NaN or an Inf, for one kernel. */
static void test_special_rows(const ln_kernel *k, size_t dim)
{
    enum { R = 6 };
    guarded gx = guarded_alloc(R * dim, 1, 0), gy = guarded_alloc(R * dim, 1, 0);
    guarded gb = guarded_alloc(dim, 1, 0), gg = guarded_alloc(dim, 1, 0);
    float *x = gx.p, *y = gy.p, *beta = gb.p, *gamma = gg.p;
    float mean[R], rstd[R];
    static const float consts[3] = {3.3f, -1234.567f, 1e-20f};
    for (size_t j = 0; j < dim; j++) {
        gamma[j] = 1.0f + 0.25f * rnd();
        beta[j] = 0.5f * rnd();
    }
    for (size_t r = 0; r < 3; r++)
        for (size_t j = 0; j < dim; j++)
            x[r * dim + j] = consts[r];
    for (size_t r = 3; r < R; r++)
        for (size_t j = 0; j < dim; j++)
            x[r * dim + j] = rnd();
    /* a NaN at the start, an Inf in the middle, a -Inf at the very end */
    x[3 * dim] = NAN;
    x[4 * dim + dim / 2] = INFINITY;
    x[5 * dim + dim - 1] = -INFINITY;

    for (int with_beta = 0; with_beta < 2; with_beta++) {
        for (int hint = 0; hint < 3; hint++) {
            test_call a = {.rows = R, .dim = dim, .x = x, .x_stride = dim, .y = y,
                         .y_stride = dim, .gamma = gamma, .beta = with_beta ? beta : NULL,
                         .eps = 1e-5f, .mean = mean, .rstd = rstd,
                         .store = (ln_store_hint)hint};
            ln_desc d = test_call_desc(&a);
            if (ln_kernel_supports(k, &d, NULL) != 0)
                continue;
            const char *why = NULL;
            if (test_call_run(k, &a, &why) != 0) {
                CHECK_FAIL("%s: run failed: %s", k->name, why ? why : "?");
                continue;
            }
            if (k->caps.flags & LN_CAP_EXACT_CONSTANT) {
                int ok = 1;
                for (size_t r = 0; r < 3; r++)
                    for (size_t j = 0; j < dim; j++)
                        ok &= y[r * dim + j] == (with_beta ? beta[j] : 0.0f);
                CHECK(ok, "%s dim %zu: constant row is not exactly beta", k->name, dim);
                for (size_t r = 0; r < 3; r++)
                    CHECK(mean[r] == consts[r], "%s dim %zu: constant row mean %.9g != %.9g",
                          k->name, dim, mean[r], consts[r]);
            }
            for (size_t r = 3; r < R; r++) {
                int all_nan = 1;
                for (size_t j = 0; j < dim; j++)
                    all_nan &= isnan(y[r * dim + j]);
                CHECK(all_nan, "%s dim %zu row %zu (%s): not all NaN", k->name, dim, r,
                      r == 3 ? "NaN" : r == 4 ? "Inf" : "-Inf");
                CHECK(isnan(mean[r]) && isnan(rstd[r]),
                      "%s dim %zu row %zu: mean %g rstd %g, want NaN", k->name, dim, r,
                      mean[r], rstd[r]);
            }
        }
    }
    guarded_free(&gx);
    guarded_free(&gy);
    guarded_free(&gb);
    guarded_free(&gg);
}

/* Bits equal, or both NaN (a NaN's payload is not part of the contract). */
static int same_value(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Finite rows after bad ones in the same call.  The block
 *   0 normal, 1 NaN, 2 normal, 3 +Inf, 4 normal, 5 huge, 6 normal, 7 normal
 * (huge: |x| in 1e29..1e30, so every float square overflows) goes through
 * the kernel in one call per store hint.  Every row must come out exactly
 * as the same kernel computes it alone (kernels are row-independent: each
 * row's passes run in a fixed order whatever its neighbours are), the
 * finite rows within the loose tolerance of ref, the NaN and Inf rows all
 * NaN.  The huge row is held to ref only in kernels that declare
 * LN_CAP_WIDE_RANGE.  Returns whether the huge row came out right (so that
 * a kernel lacking the flag but getting every huge row right is reported as
 * a candidate for it). */
static int test_bad_rows_between(const ln_kernel *ref, const ln_kernel *k, size_t dim)
{
    enum { R = 8, NAN_ROW = 1, INF_ROW = 3, HUGE_ROW = 5 };
    guarded gx = guarded_alloc(R * dim, 1, 0), gy = guarded_alloc(R * dim, 1, 0);
    guarded ga = guarded_alloc(R * dim, 1, 0), gr = guarded_alloc(R * dim, 1, 0);
    guarded gg = guarded_alloc(dim, 1, 0), gb = guarded_alloc(dim, 1, 0);
    float *x = gx.p, *y = gy.p, *yalone = ga.p, *yref = gr.p, *gamma = gg.p, *beta = gb.p;
    float mean[R], rstd[R], malone[R], ralone[R], mref[R], rref[R];
    int huge_right = 0;
    for (size_t j = 0; j < dim; j++) {
        gamma[j] = 1.0f + 0.25f * rnd();
        beta[j] = 0.5f * rnd();
    }
    for (size_t i = 0; i < R * dim; i++)
        x[i] = rnd() + 0.25f;
    x[NAN_ROW * dim + dim / 3] = NAN;
    x[INF_ROW * dim + dim - 1] = INFINITY;
    for (size_t j = 0; j < dim; j++) {
        float u = rnd(); /* about [-1.9, 2.1] */
        x[HUGE_ROW * dim + j] = (u < 0.1f ? -1e29f : 1e29f) * (1.0f + 4.0f * fabsf(u));
    }

    test_call a = {.rows = R, .dim = dim, .x = x, .x_stride = dim, .y = yref,
                   .y_stride = dim, .gamma = gamma, .beta = beta, .eps = 1e-5f,
                   .mean = mref, .rstd = rref};
    ln_desc d = test_call_desc(&a);
    const char *why = NULL;
    if (ln_kernel_supports(k, &d, NULL) != 0)
        goto out;
    if (test_call_run(ref, &a, &why) != 0) {
        CHECK_FAIL("reference failed: %s", why ? why : "?");
        goto out;
    }
    /* Each row alone, at the same address (alignment can pick the path). */
    for (size_t r = 0; r < R; r++) {
        test_call one = a;
        one.rows = 1;
        one.x = x + r * dim;
        one.y = yalone + r * dim;
        one.mean = malone + r;
        one.rstd = ralone + r;
        one.store = LN_STORE_CACHED;
        if (test_call_run(k, &one, &why) != 0) {
            CHECK_FAIL("%s dim %zu row %zu alone: run failed: %s", k->name, dim, r,
                       why ? why : "?");
            goto out;
        }
    }
    double scale = 1.0;
    for (size_t i = 0; i < R * dim; i++)
        if (fabs(yref[i]) > scale) /* NaN compares false */
            scale = fabs(yref[i]);

    for (int hint = 0; hint < 3; hint++) {
        a.y = y;
        a.mean = mean;
        a.rstd = rstd;
        a.store = (ln_store_hint)hint;
        if (test_call_run(k, &a, &why) != 0) {
            CHECK_FAIL("%s dim %zu hint %d: run failed: %s", k->name, dim, hint,
                       why ? why : "?");
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
                if (!(e <= 1e-3 * scale)) { /* NaN lands here too */
                    off++;
                    worst = isnan(e) ? INFINITY : e > worst ? e : worst;
                }
            }
            CHECK(differ == 0 && same_value(mean[r], malone[r]) &&
                      same_value(rstd[r], ralone[r]),
                  "%s dim %zu hint %d row %zu: %zu outputs (or mean/rstd) differ from the "
                  "row computed alone", k->name, dim, hint, r, differ);
            if (r == NAN_ROW || r == INF_ROW) {
                CHECK(nan == dim && isnan(mean[r]) && isnan(rstd[r]),
                      "%s dim %zu hint %d row %zu (%s): %zu of %zu NaN, mean %g rstd %g",
                      k->name, dim, hint, r, r == NAN_ROW ? "NaN" : "Inf", nan, dim,
                      mean[r], rstd[r]);
                continue;
            }
            int stats_ok = fabs(mean[r] - mref[r]) <= 1e-4 * fabs(mref[r]) + 1e-4 &&
                           fabs(rstd[r] / rref[r] - 1.0) <= 1e-3;
            if (r == HUGE_ROW) {
                if (hint == 0)
                    huge_right = off == 0 && stats_ok;
                if (!(k->caps.flags & LN_CAP_WIDE_RANGE))
                    continue;
            }
            CHECK(off == 0, "%s dim %zu hint %d row %zu%s: %zu outputs off the reference "
                  "by more than %g (worst %g)", k->name, dim, hint, r,
                  r == HUGE_ROW ? " (huge)" : "", off, 1e-3 * scale, worst);
            CHECK(stats_ok, "%s dim %zu hint %d row %zu: mean %g rstd %g, reference %g %g",
                  k->name, dim, hint, r, mean[r], rstd[r], mref[r], rref[r]);
        }
    }
out:
    guarded_free(&gx);
    guarded_free(&gy);
    guarded_free(&ga);
    guarded_free(&gr);
    guarded_free(&gg);
    guarded_free(&gb);
    return huge_right;
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

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    /* The reference: the first portable host kernel that is faithful, exact
     * on constant rows and right on rows whose squares overflow binary32. */
    const unsigned want = LN_CAP_FAITHFUL | LN_CAP_EXACT_CONSTANT | LN_CAP_WIDE_RANGE;
    const ln_kernel *ref = NULL;
    for (size_t ki = 0; ki < ln_kernel_count && !ref; ki++)
        if (ln_kernels[ki]->caps.isa == LN_ISA_NONE &&
            ln_kernels[ki]->caps.device == LN_DEVICE_HOST &&
            (ln_kernels[ki]->caps.flags & want) == want)
            ref = ln_kernels[ki];
    if (!ref) {
        CHECK_FAIL("no portable faithful, exact-constant, wide-range kernel to compare with");
        return CHECK_DONE("test_kernel_edges");
    }
    test_masking();

    static const size_t big[] = {4095, 4096, 4097, 8193};
    for (size_t dim = 1; dim <= 33; dim++) {
        test_shape(ref, 3, dim, 0, 0, 1, 0);
        test_shape(ref, 4, dim, dim % 5 + 1, dim % 3 + 2, 1, 0);
        test_shape(ref, 2, dim, 3, 1, 0, dim % 4);
    }
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        test_shape(ref, 2, big[i], 0, 0, 1, 0);
        test_shape(ref, 3, big[i], 7, 13, 0, 1);
    }

    static const size_t special_dims[] = {1, 2, 7, 15, 16, 17, 31, 33, 4097};
    /* around the vector widths and the pipelined loops' 64-float step */
    static const size_t bad_row_dims[] = {1, 3, 8, 16, 17, 33, 64, 100, 4097};
    for (size_t ki = 0; ki < ln_kernel_count; ki++) {
        const ln_kernel *k = ln_kernels[ki];
        if (ln_kernel_unavailable(k) || k->caps.device != LN_DEVICE_HOST)
            continue;
        for (size_t i = 0; i < sizeof special_dims / sizeof special_dims[0]; i++)
            test_special_rows(k, special_dims[i]);
        int wide = 1;
        for (size_t i = 0; i < sizeof bad_row_dims / sizeof bad_row_dims[0]; i++)
            wide &= test_bad_rows_between(ref, k, bad_row_dims[i]);
        if (wide && !(k->caps.flags & LN_CAP_WIDE_RANGE))
            printf("note: %s gets every row whose squares overflow right but does not "
                   "declare LN_CAP_WIDE_RANGE\n", k->name);
    }

    return CHECK_DONE("test_kernel_edges");
}
