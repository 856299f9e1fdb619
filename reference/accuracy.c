/*
 * accuracy.c - the accuracy engine: one shape's inputs and ground truth,
 * then each kernel run through the ABI and measured (see accuracy.h).
 */
#include "accuracy.h"

#include "ground_truth.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ln_desc ln_acc_shape_desc(const ln_acc_shape *s)
{
    ln_desc d = {
        .op = LN_OP_LAYERNORM,
        .dtype = s->dtype,
        .rows = s->rows,
        .dim = s->dim,
        .x_stride = s->dim,
        .y_stride = s->dim,
        .eps = s->eps,
        .tensors = (s->affine ? LN_TENSOR_GAMMA : 0u) | (s->bias ? LN_TENSOR_BETA : 0u),
        .store = LN_STORE_AUTO,
    };
    return d;
}

void ln_acc_case_free(ln_acc_case *c)
{
    free(c->own_x);
    free(c->own_gamma);
    free(c->own_beta);
    free(c->truth);
    free(c->hi);
    free(c->lo);
    memset(c, 0, sizeof *c);
}

int ln_acc_case_make(ln_acc_case *c, const ln_acc_shape *s, unsigned threads, char *err,
                     size_t errlen)
{
    size_t rows = s->rows, dim = s->dim, n;
    char gterr[256];

    memset(c, 0, sizeof *c);
    if (s->dtype != LN_DTYPE_F32) {
        snprintf(err, errlen, "no ground truth for dtype %s (binary32 only)",
                 ln_dtype_name(s->dtype));
        return -1;
    }
    if (!s->dist == !s->x) {
        snprintf(err, errlen, "a shape needs either a distribution or x");
        return -1;
    }
    if ((s->gamma && !s->affine) || (s->beta && !s->bias)) {
        snprintf(err, errlen, "gamma or beta given for a shape without it");
        return -1;
    }
    if (rows == 0 || dim == 0 || rows > SIZE_MAX / sizeof(double) / dim) {
        snprintf(err, errlen, "no room for %zu x %zu values", rows, dim);
        return -1;
    }
    n = rows * dim;
    c->desc = ln_acc_shape_desc(s);

    int need_gamma = s->affine && !s->gamma, need_beta = s->bias && !s->beta;
    if (!s->x)
        c->own_x = malloc(n * sizeof *c->own_x);
    if (need_gamma)
        c->own_gamma = malloc(dim * sizeof *c->own_gamma);
    if (need_beta)
        c->own_beta = malloc(dim * sizeof *c->own_beta);
    c->truth = malloc(n * sizeof *c->truth);
    c->hi = malloc(n * sizeof *c->hi);
    c->lo = malloc(n * sizeof *c->lo);
    if ((!s->x && !c->own_x) || (need_gamma && !c->own_gamma) || (need_beta && !c->own_beta) ||
        !c->truth || !c->hi || !c->lo) {
        ln_acc_case_free(c);
        snprintf(err, errlen, "out of memory for %zu x %zu", rows, dim);
        return -1;
    }
    if (!s->x)
        ln_generate(s->dist, s->seed, rows, dim, c->own_x, dim);
    /* gamma and beta come from separate streams: generating one alone gives
     * the same values as generating both. */
    ln_generate_affine(s->seed, dim, c->own_gamma, c->own_beta);
    c->x = s->x ? s->x : c->own_x;
    c->gamma = s->affine ? (s->gamma ? s->gamma : c->own_gamma) : NULL;
    c->beta = s->bias ? (s->beta ? s->beta : c->own_beta) : NULL;

    if (ln_ground_truth(c->x, rows, dim, dim, c->gamma, c->beta, s->eps, c->truth, c->hi, c->lo,
                        dim, threads, gterr, sizeof gterr) != 0) {
        ln_acc_case_free(c);
        snprintf(err, errlen, "ground truth failed: %s", gterr);
        return -1;
    }
    return 0;
}

int ln_acc_measure(const ln_acc_case *c, const ln_kernel *k, float *y, ln_error_stats *st,
                   char *err, size_t errlen)
{
    const ln_desc *d = &c->desc;
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    size_t n = d->rows * d->dim, bytes = n * sizeof *y, vbytes = d->dim * sizeof *y;
    const char *why = NULL;
    int rc = -1;

    if (!dev) {
        snprintf(err, errlen, "no device '%s' in this build", ln_device_name(k->caps.device));
        return -1;
    }
    /* The kernel works on its device's memory: copies of the inputs, and an
     * output filled with NaN, so an element the kernel never writes cannot
     * pass as correct. */
    void *dx = dev->alloc(bytes), *dy = dev->alloc(bytes);
    void *dg = c->gamma ? dev->alloc(vbytes) : NULL, *db = c->beta ? dev->alloc(vbytes) : NULL;
    if (!dx || !dy || (c->gamma && !dg) || (c->beta && !db)) {
        snprintf(err, errlen, "out of %s memory for %zu x %zu", dev->name, d->rows, d->dim);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = NAN;
    if (dev->set(dx, c->x, bytes) != 0 || dev->set(dy, y, bytes) != 0 ||
        (dg && dev->set(dg, c->gamma, vbytes) != 0) ||
        (db && dev->set(db, c->beta, vbytes) != 0)) {
        snprintf(err, errlen, "copy to %s failed", dev->name);
        goto out;
    }
    ln_tensors t = {.x = dx, .y = dy, .gamma = dg, .beta = db};
    if (ln_kernel_run(k, d, &t, &why) != 0) {
        snprintf(err, errlen, "%s", why ? why : "forward failed");
        goto out;
    }
    if (dev->get(y, dy, bytes) != 0 || dev->synchronize() != 0) {
        snprintf(err, errlen, "copy from %s failed", dev->name);
        goto out;
    }
    if (ln_error_measure(y, d->dim, c->hi, c->lo, d->dim, d->rows, d->dim, st) != 0) {
        snprintf(err, errlen, "out of memory measuring");
        goto out;
    }
    rc = 0;
out:
    if (dx)
        dev->free(dx);
    if (dy)
        dev->free(dy);
    if (dg)
        dev->free(dg);
    if (db)
        dev->free(db);
    return rc;
}

int ln_acc_measure_kernels(const ln_acc_case *c, const ln_kernel *const *kernels, size_t n,
                           ln_acc_hook hook, void *ctx, char *err, size_t errlen)
{
    float *y = malloc(c->desc.rows * c->desc.dim * sizeof *y);
    char why[256];
    int rc = 0;

    if (!y) {
        snprintf(err, errlen, "out of memory for %zu x %zu", c->desc.rows, c->desc.dim);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        ln_error_stats st;
        int ok = ln_acc_measure(c, kernels[i], y, &st, why, sizeof why) == 0;
        if (!ok)
            rc = 1;
        if (hook(ctx, kernels[i], ok ? y : NULL, ok ? &st : NULL, ok ? NULL : why) != 0) {
            rc = -2;
            break;
        }
    }
    free(y);
    return rc;
}
