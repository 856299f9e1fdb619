/*
 * test_kernel_threads.c - "safe to call from several threads on disjoint
 * rows, each thread with its own prepared state" (lnbench_kernel.h), as the
 * speed harness calls kernels.
 *
 * For every available kernel: T threads each prepare their own state for
 * their own block of rows of one shared x and y (blocks of unequal size, so
 * a block starts at any row), meet at a barrier, call forward on the block
 * several times, then release.  The result must be bit-identical to one
 * single-threaded call over the whole buffer, the gaps between y's rows
 * untouched.  The buffer holds a NaN row, an Inf row and a row whose squares
 * overflow, so the SIMD kernels' fallback runs concurrently too.  Kernels
 * with LN_CAP_STREAMING_STORES run once more with non-temporal stores: the
 * kernel must order them (sfence) before it returns.
 *
 * The TSan leg of scripts/test runs this under ThreadSanitizer (label
 * `tsan`), which reports any shared state a kernel writes.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "inputs.h"
#include "kernel_call.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

enum { T = 4, ITERS = 3, ROWS = 61, DIM = 1000, XPAD = 3, YPAD = 5 };
enum { NAN_ROW = 17, HUGE_ROW = 33, INF_ROW = 34 };

static const float CANARY = -1234.5f;

typedef struct worker {
    const ln_kernel *k;
    ln_desc d;
    ln_tensors t;
    pthread_barrier_t *start;
    int rc;
    const char *why;
} worker;

static void *work(void *p)
{
    worker *w = p;
    void *state = NULL;
    w->rc = 0;
    w->why = NULL;
    if (w->k->prepare && w->k->prepare(&w->d, &state, &w->why) != 0) {
        w->rc = -1;
        pthread_barrier_wait(w->start);
        return NULL;
    }
    /* Every thread prepared before any computes: the calls overlap. */
    pthread_barrier_wait(w->start);
    for (int it = 0; it < ITERS; it++)
        w->rc |= w->k->forward(&w->d, &w->t, state);
    if (ln_device_get(w->k->caps.device)->synchronize() != 0)
        w->rc = -1;
    if (w->k->release)
        w->k->release(state);
    return NULL;
}

/* Bits equal, or both NaN. */
static int same_value(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Returns a reason to skip k in this build, or NULL. */
static const char *skip_reason(const ln_kernel *k)
{
    if (k->caps.device != LN_DEVICE_HOST)
        return "a device kernel (host buffers here; tests/test_opencl.c runs threads on it)";
#ifdef UNDER_TSAN
    /* libdnnl is not instrumented, so TSan cannot see its synchronisation:
     * threads preparing at once make it report a race inside libdnnl's
     * lazily built internals (measured with oneDNN 2.6). */
    if (k->caps.flags & LN_CAP_PEER)
        return "a peer library without ThreadSanitizer instrumentation";
#else
    (void)k;
#endif
    return NULL;
}

static void test_kernel(const ln_kernel *k, const float *x, const float *gamma,
                        const float *beta, float *y, float *yref, float *mean, float *rstd,
                        float *mref, float *rref, ln_store_hint hint)
{
    const size_t xs = DIM + XPAD, ys = DIM + YPAD;
    test_call whole = {.rows = ROWS, .dim = DIM, .x = x, .x_stride = xs, .y = yref,
                       .y_stride = ys, .gamma = gamma, .beta = beta, .eps = 1e-5f,
                       .mean = mref, .rstd = rref, .store = hint};
    ln_desc d = test_call_desc(&whole);
    const char *why = NULL;
    if (ln_kernel_supports(k, &d, &why) != 0) {
        printf("%s: skipped (%s)\n", k->name, why);
        return;
    }
    for (size_t i = 0; i < ROWS * ys; i++)
        y[i] = yref[i] = CANARY;
    for (size_t r = 0; r < ROWS; r++)
        mean[r] = rstd[r] = mref[r] = rref[r] = CANARY;

    /* The threads first: in a fresh process their calls are the kernel's
     * first, so state a kernel sets up lazily is set up concurrently. */
    pthread_barrier_t start;
    pthread_t tid[T];
    worker w[T];
    if (pthread_barrier_init(&start, NULL, T) != 0) {
        CHECK_FAIL("pthread_barrier_init failed");
        return;
    }
    int started = 0;
    for (int i = 0; i < T; i++) {
        /* Blocks of 15, 15, 15 and 16 rows: each starts at a row whose
         * offset is not a multiple of anything in particular. */
        size_t r0 = (size_t)i * ROWS / T, r1 = (size_t)(i + 1) * ROWS / T;
        test_call part = whole;
        part.rows = r1 - r0;
        part.x = x + r0 * xs;
        part.y = y + r0 * ys;
        part.mean = mean + r0;
        part.rstd = rstd + r0;
        w[i] = (worker){.k = k, .d = test_call_desc(&part), .start = &start};
        w[i].t = (ln_tensors){.x = part.x, .y = part.y, .gamma = gamma, .beta = beta,
                              .mean = part.mean, .rstd = part.rstd};
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
            /* The barrier would never open: nothing can be tested. */
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < T; i++)
        CHECK(w[i].rc == 0, "%s hint %d thread %d: %s", k->name, (int)hint, i,
              w[i].why ? w[i].why : "forward failed");
    if (test_call_run(k, &whole, &why) != 0) {
        CHECK_FAIL("%s: single-threaded run failed: %s", k->name, why ? why : "?");
        return;
    }

    size_t differ = 0, first = 0, gaps = 0;
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t j = 0; j < DIM; j++)
            if (!same_value(y[r * ys + j], yref[r * ys + j]) && differ++ == 0)
                first = r;
        for (size_t j = DIM; j < ys; j++)
            gaps += y[r * ys + j] != CANARY;
        if (!same_value(mean[r], mref[r]) || !same_value(rstd[r], rref[r])) {
            if (differ++ == 0)
                first = r;
        }
    }
    CHECK(differ == 0,
          "%s hint %d: %zu outputs differ from the single-threaded call (first in row %zu)",
          k->name, (int)hint, differ, first);
    CHECK(gaps == 0, "%s hint %d: %zu writes between y's rows", k->name, (int)hint, gaps);
    /* The special rows are what the single-threaded call made of them. */
    CHECK(isnan(yref[NAN_ROW * ys]) && isnan(yref[INF_ROW * ys + DIM - 1]),
          "%s: NaN/Inf rows not NaN", k->name);
}

int main(void)
{
    const size_t xs = DIM + XPAD, ys = DIM + YPAD;
    float *x = malloc(ROWS * xs * sizeof *x), *gamma = malloc(DIM * sizeof *gamma);
    float *beta = malloc(DIM * sizeof *beta);
    float *y = malloc(ROWS * ys * sizeof *y), *yref = malloc(ROWS * ys * sizeof *yref);
    float mean[ROWS], rstd[ROWS], mref[ROWS], rref[ROWS];
    if (!x || !gamma || !beta || !y || !yref) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const ln_dist *normal = ln_dist_find("normal"), *huge = ln_dist_find("huge");
    if (!normal || !huge) {
        fprintf(stderr, "input distributions normal and huge missing\n");
        return 1;
    }
    for (size_t i = 0; i < ROWS * xs; i++)
        x[i] = CANARY; /* the gaps between rows: they must not matter */
    ln_generate(normal, 11, ROWS, DIM, x, xs);
    ln_generate(huge, 11, 1, DIM, x + HUGE_ROW * xs, xs);
    ln_generate_affine(11, DIM, gamma, beta);
    x[NAN_ROW * xs + 5] = NAN;
    x[INF_ROW * xs + DIM - 1] = INFINITY;

    int tested = 0;
    for (size_t ki = 0; ki < ln_kernel_count; ki++) {
        const ln_kernel *k = ln_kernels[ki];
        /* The skip first: a device kernel is not brought up at all (its
         * driver is not instrumented for ThreadSanitizer). */
        const char *why = skip_reason(k);
        if (!why)
            why = ln_kernel_unavailable(k);
        if (why) {
            printf("%s: skipped (%s)\n", k->name, why);
            continue;
        }
        test_kernel(k, x, gamma, beta, y, yref, mean, rstd, mref, rref, LN_STORE_AUTO);
        if (k->caps.flags & LN_CAP_STREAMING_STORES)
            test_kernel(k, x, gamma, beta, y, yref, mean, rstd, mref, rref,
                        LN_STORE_STREAMING);
        tested++;
    }
    CHECK(tested > 0, "no kernel could be tested");
    free(x);
    free(gamma);
    free(beta);
    free(y);
    free(yref);
    return CHECK_DONE("test_kernel_threads");
}
