/*
 * test_kernel_threads.c - "safe to call from several threads on disjoint
 * rows, each thread with its own prepared state" (lnbench_kernel.h), as the
 * speed harness calls kernels.
 *
 * For every available kernel and every operation x dtype x cast it declares:
 * T threads each prepare their own state for their own block of rows of one
 * shared x, residual, y and h (blocks of unequal size, so a block starts at
 * any row), meet at a barrier, call forward on the block several times,
 * then release.  The result must be bit-identical to one single-threaded
 * call over the whole buffer, the gaps between the rows of y and h
 * untouched.  Tensors live in the kernel's device memory (kernel_call.h);
 * a device whose buffers cannot be offset gets one buffer per block.  The
 * buffer holds a NaN row, an Inf row and a row whose squares overflow, so
 * the SIMD kernels' fallback runs concurrently too.  Kernels with
 * LN_CAP_STREAMING_STORES run once more with non-temporal stores: the
 * kernel must order them (sfence) before it returns.
 *
 * The TSan leg of scripts/test runs this under ThreadSanitizer (label
 * `tsan`), which reports any shared state a kernel writes.
 */
#define _DEFAULT_SOURCE /* kernel_call.h: mmap's MAP_ANONYMOUS */
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

static const float CANARY = TEST_CANARY;

/* The per-row tensors; gamma and beta are shared by every thread. */
enum { TX, TRES, TY, TH, TMEAN, TRSTD, NT };

typedef struct worker {
    const ln_kernel *k;
    ln_desc d;
    ln_tensors t;
    test_buf own[NT]; /* a device that cannot offset into a buffer: the block's own */
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
#ifdef UNDER_TSAN
    /* Nor is a GPU driver (PoCL's threads synchronise inside libpocl). */
    if (k->caps.device != LN_DEVICE_HOST)
        return "a device kernel, whose driver has no ThreadSanitizer instrumentation";
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

/* Combinations tested, for the log. */
static int combos_run;

/* The host arrays of one test. */
typedef struct arrays {
    float *x, *res, *gamma, *beta;
    float *y, *h, *yref, *href;
    float mean[ROWS], rstd[ROWS], mref[ROWS], rref[ROWS];
} arrays;

/* One kernel on one operation, dtype and cast: T threads on disjoint row
 * blocks, each with its own prepared state, against one single-threaded
 * call.  Tensors live in the kernel's device memory (kernel_call.h): on the
 * host the threads' tensors point into shared buffers, so neighbouring
 * blocks share cache lines; a device whose buffers cannot be offset gets a
 * buffer per block. */
static void test_kernel(const ln_kernel *k, ln_op op, ln_dtype dt, ln_cast cast, arrays *A,
                        ln_store_hint hint)
{
    const size_t xs = DIM + XPAD, ys = DIM + YPAD, es = ln_dtype_size(dt);
    const int add = ln_op_has_residual(op), rms = ln_op_is_rms(op);
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    const int host = k->caps.device == LN_DEVICE_HOST;
    test_call whole = {.op = op, .dtype = dt, .cast = cast, .rows = ROWS, .dim = DIM,
                       .x = A->x, .x_stride = xs, .y = A->yref, .y_stride = ys,
                       .gamma = A->gamma, .beta = rms ? NULL : A->beta, .eps = 1e-5f,
                       .mean = rms ? NULL : A->mref, .rstd = A->rref,
                       .residual = add ? A->res : NULL, .h = add ? A->href : NULL,
                       .store = hint};
    ln_desc d = test_call_desc(&whole);
    char what[96];
    snprintf(what, sizeof what, "%s %s/%s/%s hint %d", k->name, ln_op_name(op),
             ln_dtype_name(dt), ln_cast_name(cast), (int)hint);
    if (ln_kernel_supports(k, &d, NULL) != 0)
        return;
    for (size_t i = 0; i < ROWS * ys; i++)
        A->y[i] = A->yref[i] = A->h[i] = A->href[i] = CANARY;
    for (size_t r = 0; r < ROWS; r++)
        A->mean[r] = A->rstd[r] = A->mref[r] = A->rref[r] = CANARY;

    /* The whole tensors on the device; per-row ones as (host array, stride,
     * element size). */
    struct {
        float *host;
        size_t stride, size;
        int present;
    } spec[NT] = {
        [TX] = {A->x, xs, es, 1},
        [TRES] = {A->res, xs, es, add},
        [TY] = {A->y, ys, es, 1},
        [TH] = {A->h, ys, es, add},
        [TMEAN] = {A->mean, 1, 4, !rms},
        [TRSTD] = {A->rstd, 1, 4, 1},
    };
    test_buf whole_buf[NT], gb, bb;
    memset(whole_buf, 0, sizeof whole_buf);
    memset(&gb, 0, sizeof gb);
    memset(&bb, 0, sizeof bb);
    int ok = test_buf_alloc(&gb, dev, k->caps.device, DIM, es, 0, 0, 0) == 0 &&
             test_buf_set(&gb, dt, A->gamma) == 0 &&
             test_buf_alloc(&bb, dev, k->caps.device, DIM, es, 0, 0, 0) == 0 &&
             test_buf_set(&bb, dt, A->beta) == 0;
    for (int j = 0; j < NT && ok && host; j++)
        if (spec[j].present) {
            ln_dtype bdt = spec[j].size == 4 ? LN_DTYPE_F32 : dt;
            ok = test_buf_alloc(&whole_buf[j], dev, k->caps.device,
                                test_extent(ROWS, spec[j].stride == 1 ? 1 : DIM, spec[j].stride),
                                spec[j].size, 0, 0, 0) == 0 &&
                 test_buf_set(&whole_buf[j], bdt, spec[j].host) == 0;
        }

    /* The threads first: in a fresh process their calls are the kernel's
     * first, so state a kernel sets up lazily is set up concurrently. */
    pthread_barrier_t start;
    pthread_t tid[T];
    worker w[T];
    memset(w, 0, sizeof w);
    for (int i = 0; i < T && ok; i++) {
        /* Blocks of 15, 15, 15 and 16 rows: each starts at a row whose
         * offset is not a multiple of anything in particular. */
        size_t r0 = (size_t)i * ROWS / T, r1 = (size_t)(i + 1) * ROWS / T;
        void *ptr[NT] = {NULL};
        for (int j = 0; j < NT && ok; j++) {
            if (!spec[j].present)
                continue;
            size_t off = r0 * spec[j].stride;
            if (host) {
                ptr[j] = (char *)whole_buf[j].buf + off * spec[j].size;
                continue;
            }
            ln_dtype bdt = spec[j].size == 4 ? LN_DTYPE_F32 : dt;
            ok = test_buf_alloc(&w[i].own[j], dev, k->caps.device,
                                test_extent(r1 - r0, spec[j].stride == 1 ? 1 : DIM,
                                            spec[j].stride),
                                spec[j].size, 0, 0, 0) == 0 &&
                 test_buf_set(&w[i].own[j], bdt, spec[j].host + off) == 0;
            ptr[j] = w[i].own[j].buf;
        }
        test_call part = whole;
        part.rows = r1 - r0;
        w[i].k = k;
        w[i].d = test_call_desc(&part);
        w[i].t = (ln_tensors){.x = ptr[TX], .y = ptr[TY], .gamma = gb.buf,
                              .beta = rms ? NULL : bb.buf, .mean = ptr[TMEAN],
                              .rstd = ptr[TRSTD], .residual = ptr[TRES], .h = ptr[TH]};
    }
    if (!ok)
        CHECK_FAIL("%s: device buffers could not be set up", what);
    if (ok && pthread_barrier_init(&start, NULL, T) != 0) {
        CHECK_FAIL("pthread_barrier_init failed");
        ok = 0;
    }
    if (ok) {
        for (int i = 0; i < T; i++) {
            w[i].start = &start;
            if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
                /* The barrier would never open: nothing can be tested. */
                fprintf(stderr, "pthread_create failed\n");
                exit(1);
            }
        }
        for (int i = 0; i < T; i++)
            pthread_join(tid[i], NULL);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < T; i++)
            CHECK(w[i].rc == 0, "%s thread %d: %s", what, i,
                  w[i].why ? w[i].why : "forward failed");
        /* Outputs back to the host arrays. */
        for (int j = TY; j < NT; j++) {
            if (!spec[j].present)
                continue;
            ln_dtype bdt = spec[j].size == 4 ? LN_DTYPE_F32 : dt;
            if (host) {
                CHECK(test_buf_get(&whole_buf[j], bdt, spec[j].host) == 0, "%s: download",
                      what);
                continue;
            }
            for (int i = 0; i < T; i++) {
                size_t r0 = (size_t)i * ROWS / T;
                CHECK(test_buf_get(&w[i].own[j], bdt, spec[j].host + r0 * spec[j].stride) == 0,
                      "%s: download", what);
            }
        }
    }
    for (int j = 0; j < NT; j++) {
        test_buf_free(&whole_buf[j]);
        for (int i = 0; i < T; i++)
            test_buf_free(&w[i].own[j]);
    }
    test_buf_free(&gb);
    test_buf_free(&bb);
    if (!ok)
        return;
    const char *why = NULL;
    if (test_call_run(k, &whole, &why) != 0) {
        CHECK_FAIL("%s: single-threaded run failed: %s", what, why ? why : "?");
        return;
    }

    size_t differ = 0, first = 0, gaps = 0;
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t j = 0; j < DIM; j++)
            if ((!same_value(A->y[r * ys + j], A->yref[r * ys + j]) ||
                 (add && !same_value(A->h[r * ys + j], A->href[r * ys + j]))) &&
                differ++ == 0)
                first = r;
        for (size_t j = DIM; j < ys; j++)
            gaps += A->y[r * ys + j] != CANARY || A->h[r * ys + j] != CANARY;
        if ((!rms && !same_value(A->mean[r], A->mref[r])) ||
            !same_value(A->rstd[r], A->rref[r])) {
            if (differ++ == 0)
                first = r;
        }
    }
    CHECK(differ == 0,
          "%s: %zu outputs differ from the single-threaded call (first in row %zu)", what,
          differ, first);
    CHECK(gaps == 0, "%s: %zu writes between the rows of y or h", what, gaps);
    combos_run++;
    /* The special rows are what the single-threaded call made of them. */
    CHECK(isnan(A->yref[NAN_ROW * ys]) && isnan(A->yref[INF_ROW * ys + DIM - 1]),
          "%s: NaN/Inf rows not NaN", what);
}

int main(void)
{
    const size_t xs = DIM + XPAD, ys = DIM + YPAD;
    static arrays A;
    A.x = malloc(ROWS * xs * sizeof *A.x);
    A.res = malloc(ROWS * xs * sizeof *A.res);
    A.gamma = malloc(DIM * sizeof *A.gamma);
    A.beta = malloc(DIM * sizeof *A.beta);
    A.y = malloc(ROWS * ys * sizeof *A.y);
    A.h = malloc(ROWS * ys * sizeof *A.h);
    A.yref = malloc(ROWS * ys * sizeof *A.yref);
    A.href = malloc(ROWS * ys * sizeof *A.href);
    if (!A.x || !A.res || !A.gamma || !A.beta || !A.y || !A.h || !A.yref || !A.href) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const ln_dist *normal = ln_dist_find("normal"), *huge = ln_dist_find("huge");
    if (!normal || !huge) {
        fprintf(stderr, "input distributions normal and huge missing\n");
        return 1;
    }
    for (size_t i = 0; i < ROWS * xs; i++)
        A.x[i] = A.res[i] = CANARY; /* the gaps between rows: they must not matter */
    ln_generate(normal, 11, ROWS, DIM, A.x, xs);
    ln_generate(normal, 12, ROWS, DIM, A.res, xs);
    /* squares overflow binary32 (in f16 the row is Inf: also a bad row) */
    ln_generate(huge, 11, 1, DIM, A.x + HUGE_ROW * xs, xs);
    ln_generate_affine(11, DIM, A.gamma, A.beta);
    A.x[NAN_ROW * xs + 5] = NAN;
    A.x[INF_ROW * xs + DIM - 1] = INFINITY;

    int tested = 0;
    for (size_t ki = 0; ki < ln_kernel_count; ki++) {
        const ln_kernel *k = ln_kernels[ki];
        /* The skip first: under TSan a device kernel is not brought up at
         * all (its driver is not instrumented). */
        const char *why = skip_reason(k);
        if (!why)
            why = ln_kernel_unavailable(k);
        if (why) {
            printf("%s: skipped (%s)\n", k->name, why);
            continue;
        }
        /* Every operation, dtype and cast the kernel declares. */
        combos_run = 0;
        for (int op = 0; op < LN_OP_COUNT; op++)
            for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
                for (int c = 0; c < LN_CAST_COUNT; c++) {
                    test_kernel(k, (ln_op)op, (ln_dtype)dt, (ln_cast)c, &A, LN_STORE_AUTO);
                    if (k->caps.flags & LN_CAP_STREAMING_STORES)
                        test_kernel(k, (ln_op)op, (ln_dtype)dt, (ln_cast)c, &A,
                                    LN_STORE_STREAMING);
                }
        printf("%s: %d operation/dtype/cast/hint combinations\n", k->name, combos_run);
        CHECK(combos_run > 0, "%s: not even binary32 LayerNorm was tested", k->name);
        tested++;
    }
    CHECK(tested > 0, "no kernel could be tested");
    free(A.x);
    free(A.res);
    free(A.gamma);
    free(A.beta);
    free(A.y);
    free(A.h);
    free(A.yref);
    free(A.href);
    return CHECK_DONE("test_kernel_threads");
}
