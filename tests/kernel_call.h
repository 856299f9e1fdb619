/*
 * kernel_call.h - one kernel call described with host binary32 arrays, run
 * on the kernel's own device, for tests that build many variants of a call
 * (operations, dtypes, casts, strides, optional tensors, hints).
 *
 * test_call_run() moves the data the way any caller of a device kernel
 * must (ln_device_get(k->caps.device)): every tensor present is converted
 * to the dtype (rounded to nearest even; mean and rstd stay binary32),
 * copied into a buffer of the device with set(), the kernel runs through
 * ln_kernel_run() (check, prepare, forward, synchronize, release), and the
 * outputs come back with get() and are widened to binary32 in the caller's
 * arrays.  Host kernels go through the host device's ops (plain memory);
 * an OpenCL kernel, whose tensors are device buffers, is tested by the
 * same code.  The outputs' arrays (y, h, mean, rstd) are uploaded too, so
 * whatever the caller put between y's rows (canaries) comes back unchanged
 * unless the kernel wrote there.
 *
 * On the host device each buffer is placed against a PROT_NONE guard page:
 * by default its last element touches the trailing page; with guard_front
 * its first element (plus `shift` elements, to vary the alignment) follows
 * a leading one.  A read or write past either end faults.  y and h get
 * TEST_LEAD canary elements before their first row (host only: a device
 * buffer handle cannot be offset); a write there fails the call with a
 * reason.  Include after defining _DEFAULT_SOURCE (mmap's MAP_ANONYMOUS).
 *
 * Values a test compares exactly must be exact in the dtype: round them
 * first with ln_dtype_round().  TEST_CANARY is exact in every dtype.
 */
#ifndef LNBENCH_TEST_KERNEL_CALL_H
#define LNBENCH_TEST_KERNEL_CALL_H

#include "dtype_convert.h"
#include "lnbench_kernel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TEST_CANARY (-1248.0f) /* -1.00111b x 2^10: exact in bf16 and f16 */
enum { TEST_LEAD = 16 };

typedef struct test_call {
    ln_op op;        /* 0: layernorm */
    ln_dtype dtype;  /* 0: f32 */
    ln_cast cast;    /* 0: single */
    size_t rows, dim;
    const float *x;
    size_t x_stride;
    float *y;
    size_t y_stride;
    const float *gamma, *beta;
    float eps;
    float *mean, *rstd;
    const float *residual; /* add_ ops: rows x x_stride */
    float *h;              /* add_ ops: rows x y_stride */
    ln_store_hint store;
    int guard_front;       /* host: buffers start after a guard page */
    size_t shift;          /* with guard_front: elements after the page */
} test_call;

/* The call's tensors as host pointers (binary32 calls on host kernels). */
static inline ln_tensors test_call_tensors(const test_call *c)
{
    ln_tensors t = {.x = c->x, .y = c->y, .gamma = c->gamma, .beta = c->beta,
                    .mean = c->mean, .rstd = c->rstd, .residual = c->residual, .h = c->h};
    return t;
}

static inline ln_desc test_call_desc(const test_call *c)
{
    ln_tensors t = test_call_tensors(c);
    ln_desc d = {
        .op = c->op, .dtype = c->dtype, .cast = c->cast,
        .rows = c->rows, .dim = c->dim,
        .x_stride = c->x_stride, .y_stride = c->y_stride,
        .eps = c->eps,
        .tensors = ln_tensors_present(&t),
        .store = c->store,
    };
    return d;
}

static inline void test_round_array(ln_dtype dt, float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = ln_dtype_round(dt, p[i]);
}

/* One tensor on the device: `n` elements of `size` bytes handed to the
 * kernel at `buf`, `lead` more before it (host only). */
typedef struct test_buf {
    const ln_device_ops *dev;
    void *buf;
    void *map; /* host: the mapping with its guard pages */
    size_t maplen, lead, n, size;
} test_buf;

static inline int test_buf_alloc(test_buf *b, const ln_device_ops *dev, ln_device device,
                                 size_t n, size_t size, size_t lead, int front, size_t shift)
{
    memset(b, 0, sizeof *b);
    b->dev = dev;
    b->n = n;
    b->size = size;
    if (device != LN_DEVICE_HOST) {
        b->buf = dev->alloc(n * size + (n == 0));
        return b->buf ? 0 : -1;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = (lead + n + shift) * size;
    size_t data = (bytes + page - 1) / page * page;
    b->maplen = data + 2 * page;
    b->map = mmap(NULL, b->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->map == MAP_FAILED) {
        b->map = NULL;
        return -1;
    }
    char *m = b->map;
    if (mprotect(m, page, PROT_NONE) != 0 || mprotect(m + page + data, page, PROT_NONE) != 0)
        return -1;
    b->lead = lead;
    b->buf = front ? m + page + (lead + shift) * size : m + page + data - n * size;
    return 0;
}

static inline void test_buf_free(test_buf *b)
{
    if (b->map)
        munmap(b->map, b->maplen);
    else if (b->buf)
        b->dev->free(b->buf);
    memset(b, 0, sizeof *b);
}

/* host[-lead .. n) (binary32) -> the dtype -> the device; the lead part
 * only on the host, where it is TEST_CANARY. */
static inline int test_buf_set(test_buf *b, ln_dtype dt, const float *host)
{
    size_t n = b->n + b->lead;
    unsigned char *stage = malloc(n * b->size + (n == 0));
    if (!stage)
        return -1;
    for (size_t i = 0; i < n; i++) {
        float v = i < b->lead ? TEST_CANARY : host[i - b->lead];
        if (b->size == 4)
            memcpy(stage + 4 * i, &v, 4);
        else {
            uint16_t u = dt == LN_DTYPE_BF16 ? ln_f32_to_bf16(v) : ln_f32_to_f16(v);
            memcpy(stage + 2 * i, &u, 2);
        }
    }
    unsigned char *dst = (unsigned char *)b->buf - b->lead * b->size;
    int rc = b->dev->set(dst, stage, n * b->size);
    if (rc == 0)
        rc = b->dev->synchronize();
    free(stage);
    return rc;
}

/* The device -> host[0 .. n) widened to binary32.  1 when the lead
 * canaries changed, 0, or -1 on a device error. */
static inline int test_buf_get(test_buf *b, ln_dtype dt, float *host)
{
    size_t n = b->n + b->lead;
    unsigned char *stage = malloc(n * b->size + (n == 0));
    if (!stage)
        return -1;
    const unsigned char *src = (const unsigned char *)b->buf - b->lead * b->size;
    int rc = b->dev->get(stage, src, n * b->size);
    if (rc == 0)
        rc = b->dev->synchronize();
    int lead_changed = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        float v;
        if (b->size == 4)
            memcpy(&v, stage + 4 * i, 4);
        else {
            uint16_t u;
            memcpy(&u, stage + 2 * i, 2);
            v = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32(u) : ln_f16_to_f32(u);
        }
        if (i < b->lead)
            lead_changed |= v != TEST_CANARY;
        else
            host[i - b->lead] = v;
    }
    free(stage);
    return rc != 0 ? -1 : lead_changed;
}

/* Elements of a strided tensor of `rows` rows. */
static inline size_t test_extent(size_t rows, size_t dim, size_t stride)
{
    return rows ? (rows - 1) * stride + dim : 0;
}

/* Runs c on k's device: 0, or -1 with a static reason in *why. */
static inline int test_call_run(const ln_kernel *k, const test_call *c, const char **why)
{
    enum { X, RES, GAMMA, BETA, Y, H, MEAN, RSTD, NBUF };
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    if (!dev) {
        *why = "the kernel's device is not in this build";
        return -1;
    }
    size_t es = ln_dtype_size(c->dtype);
    size_t xn = test_extent(c->rows, c->dim, c->x_stride);
    size_t yn = test_extent(c->rows, c->dim, c->y_stride);
    struct {
        const float *host;
        float *out;
        size_t n, size, lead;
    } spec[NBUF] = {
        [X] = {c->x, NULL, xn, es, 0},
        [RES] = {c->residual, NULL, xn, es, 0},
        [GAMMA] = {c->gamma, NULL, c->dim, es, 0},
        [BETA] = {c->beta, NULL, c->dim, es, 0},
        [Y] = {c->y, c->y, yn, es, TEST_LEAD},
        [H] = {c->h, c->h, yn, es, TEST_LEAD},
        [MEAN] = {c->mean, c->mean, c->rows, 4, 0},
        [RSTD] = {c->rstd, c->rstd, c->rows, 4, 0},
    };
    test_buf b[NBUF];
    memset(b, 0, sizeof b);
    int rc = 0;
    *why = NULL;
    for (int i = 0; i < NBUF && rc == 0; i++) {
        if (!spec[i].host)
            continue;
        /* mean and rstd are binary32 whatever the dtype */
        ln_dtype dt = spec[i].size == 4 ? LN_DTYPE_F32 : c->dtype;
        size_t lead = k->caps.device == LN_DEVICE_HOST ? spec[i].lead : 0;
        if (test_buf_alloc(&b[i], dev, k->caps.device, spec[i].n, spec[i].size, lead,
                           c->guard_front, c->shift) != 0 ||
            test_buf_set(&b[i], dt, spec[i].host) != 0) {
            *why = "device buffer allocation or upload failed";
            rc = -1;
        }
    }
    if (rc == 0) {
        ln_desc d = test_call_desc(c);
        ln_tensors t = {.x = b[X].buf, .y = b[Y].buf, .gamma = b[GAMMA].buf,
                        .beta = b[BETA].buf, .mean = b[MEAN].buf, .rstd = b[RSTD].buf,
                        .residual = b[RES].buf, .h = b[H].buf};
        rc = ln_kernel_run(k, &d, &t, why);
    }
    for (int i = 0; i < NBUF && rc == 0; i++) {
        if (!spec[i].out)
            continue;
        ln_dtype dt = spec[i].size == 4 ? LN_DTYPE_F32 : c->dtype;
        int got = test_buf_get(&b[i], dt, spec[i].out);
        if (got < 0) {
            *why = "device download failed";
            rc = -1;
        } else if (got > 0) {
            *why = i == Y ? "wrote before y's first row" : "wrote before h's first row";
            rc = -1;
        }
    }
    for (int i = 0; i < NBUF; i++)
        test_buf_free(&b[i]);
    return rc;
}

#endif
