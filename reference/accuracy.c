/*
 * accuracy.c - the accuracy engine: one shape's inputs and ground truth,
 * then each kernel run through the ABI and measured (see accuracy.h).
 */
#include "accuracy.h"

#include "dtype_convert.h"
#include "ground_truth.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ln_format formats[LN_DTYPE_COUNT] = {
    [LN_DTYPE_F32] = {24, -126, 127},
    [LN_DTYPE_BF16] = {8, -126, 127},
    [LN_DTYPE_F16] = {11, -14, 15},
};

const ln_format *ln_acc_format(ln_dtype dt)
{
    return (unsigned)dt < LN_DTYPE_COUNT ? &formats[dt] : &formats[LN_DTYPE_F32];
}

ln_desc ln_acc_shape_desc(const ln_acc_shape *s)
{
    int rms = (unsigned)s->op < LN_OP_COUNT && ln_op_is_rms(s->op);
    ln_desc d = {
        .op = s->op,
        .dtype = s->dtype,
        .cast = s->cast,
        .rows = s->rows,
        .dim = s->dim,
        .x_stride = s->dim,
        .y_stride = s->dim,
        .eps = s->eps,
        .tensors = (s->affine ? LN_TENSOR_GAMMA : 0u) | (s->bias && !rms ? LN_TENSOR_BETA : 0u),
        .store = LN_STORE_AUTO,
    };
    return d;
}

static void round_all(ln_dtype dt, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ln_dtype_round(dt, v[i]);
}

/* The index of the first element of v[0..n) that is not a value of dt, or n. */
static size_t first_off_grid(ln_dtype dt, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]) && ln_dtype_round(dt, v[i]) != v[i])
            return i;
    return n;
}

void ln_acc_case_free(ln_acc_case *c)
{
    free(c->own_x);
    free(c->own_res);
    free(c->own_gamma);
    free(c->own_beta);
    free(c->truth);
    free(c->hi);
    free(c->lo);
    free(c->h);
    memset(c, 0, sizeof *c);
}

int ln_acc_case_make(ln_acc_case *c, const ln_acc_shape *s, unsigned threads, char *err,
                     size_t errlen)
{
    size_t rows = s->rows, dim = s->dim, n;
    char gterr[256];
    const char *why;

    memset(c, 0, sizeof *c);
    c->desc = ln_acc_shape_desc(s);
    if (ln_desc_valid(&c->desc, &why) != 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    int add = ln_op_has_residual(s->op), rms = ln_op_is_rms(s->op);
    ln_dtype dt = s->dtype;
    if (!s->dist == !s->x) {
        snprintf(err, errlen, "a shape needs either a distribution or x");
        return -1;
    }
    if (s->x && add && !s->residual) {
        snprintf(err, errlen, "%s on given x needs a residual too", ln_op_name(s->op));
        return -1;
    }
    if (s->residual && (!s->x || !add)) {
        snprintf(err, errlen, "a residual is for given x and the add_ operations only");
        return -1;
    }
    if ((s->gamma && !s->affine) || (s->beta && (!s->bias || rms))) {
        snprintf(err, errlen, "gamma or beta given for a shape without it");
        return -1;
    }
    if (s->dist && (why = ln_dist_refuses(s->dist, ln_acc_format(dt))) != NULL) {
        snprintf(err, errlen, "distribution %s does not fit %s: %s", s->dist->name,
                 ln_dtype_name(dt), why);
        return -1;
    }
    if (rows == 0 || dim == 0 || rows > SIZE_MAX / sizeof(double) / dim) {
        snprintf(err, errlen, "no room for %zu x %zu values", rows, dim);
        return -1;
    }
    n = rows * dim;
    /* The caller's values must already be values of the dtype: rounding
     * them here would measure something other than what was given. */
    {
        const float *given[4] = {s->x, s->residual, s->gamma, s->beta};
        const char *names[4] = {"x", "residual", "gamma", "beta"};
        for (int t = 0; t < 4; t++) {
            size_t len = t < 2 ? n : dim, at;
            if (given[t] && (at = first_off_grid(dt, given[t], len)) < len) {
                snprintf(err, errlen, "%s[%zu] = %.9g is not a %s value", names[t], at,
                         (double)given[t][at], ln_dtype_name(dt));
                return -1;
            }
        }
    }

    int need_gamma = s->affine && !s->gamma, need_beta = s->bias && !rms && !s->beta;
    if (!s->x) {
        c->own_x = malloc(n * sizeof *c->own_x);
        if (add)
            c->own_res = malloc(n * sizeof *c->own_res);
    }
    /* gamma and beta come from separate streams: generating one alone gives
     * the same values as generating both. */
    if (need_gamma)
        c->own_gamma = malloc(dim * sizeof *c->own_gamma);
    if (need_beta)
        c->own_beta = malloc(dim * sizeof *c->own_beta);
    c->truth = malloc(n * sizeof *c->truth);
    c->hi = malloc(n * sizeof *c->hi);
    c->lo = malloc(n * sizeof *c->lo);
    if (add)
        c->h = malloc(n * sizeof *c->h);
    if ((!s->x && !c->own_x) || (!s->x && add && !c->own_res) || (need_gamma && !c->own_gamma) ||
        (need_beta && !c->own_beta) || !c->truth || !c->hi || !c->lo || (add && !c->h)) {
        ln_acc_case_free(c);
        snprintf(err, errlen, "out of memory for %zu x %zu", rows, dim);
        return -1;
    }
    if (!s->x) {
        ln_generate_fmt(s->dist, s->seed, rows, dim, c->own_x, dim, ln_acc_format(dt));
        if (add) {
            /* v -> residual = RN(3/4 v), x = RN(v - residual): h = RN(x +
             * residual) is v up to a rounding or two, so the distribution
             * describes what is normalised. */
            for (size_t i = 0; i < n; i++) {
                float v = c->own_x[i];
                c->own_res[i] = ln_dtype_round(dt, 0.75f * v);
                c->own_x[i] = ln_dtype_round(dt, v - c->own_res[i]);
            }
        } else {
            round_all(dt, c->own_x, n);
        }
    }
    ln_generate_affine(s->seed, dim, c->own_gamma, c->own_beta);
    if (c->own_gamma && s->cast == LN_CAST_GEMMA)
        for (size_t i = 0; i < dim; i++)
            c->own_gamma[i] -= 1.0f; /* gemma's w: the factor is 1 + w */
    if (c->own_gamma)
        round_all(dt, c->own_gamma, dim);
    if (c->own_beta)
        round_all(dt, c->own_beta, dim);
    c->x = s->x ? s->x : c->own_x;
    c->residual = add ? (s->x ? s->residual : c->own_res) : NULL;
    c->gamma = s->affine ? (s->gamma ? s->gamma : c->own_gamma) : NULL;
    c->beta = s->bias && !rms ? (s->beta ? s->beta : c->own_beta) : NULL;

    ln_gt_spec spec = {.op = s->op, .dtype = dt, .cast = s->cast, .x = c->x,
                       .residual = c->residual, .rows = rows, .dim = dim, .x_stride = dim,
                       .gamma = c->gamma, .beta = c->beta, .eps = s->eps};
    if (ln_ground_truth_op(&spec, c->truth, c->hi, c->lo, c->h, dim, threads, gterr,
                           sizeof gterr) != 0) {
        ln_acc_case_free(c);
        snprintf(err, errlen, "ground truth failed: %s", gterr);
        return -1;
    }
    return 0;
}

/* Equal values, or both NaN (the sign of an exact 0 is free). */
static int same_value(float a, float b)
{
    return a == b || (isnan(a) && isnan(b));
}

int ln_acc_measure(const ln_acc_case *c, const ln_kernel *k, ln_acc_output *out,
                   ln_error_stats *st, char *err, size_t errlen)
{
    const ln_desc *d = &c->desc;
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    size_t n = d->rows * d->dim, es = ln_dtype_size(d->dtype);
    size_t bytes = n * es, vbytes = d->dim * es;
    int add = ln_op_has_residual(d->op);
    const char *why = NULL;
    void *dx = NULL, *dy = NULL, *dg = NULL, *db = NULL, *dr = NULL, *dh = NULL;
    void *host = NULL;
    int rc = -1;

    if (!dev) {
        snprintf(err, errlen, "no device '%s' in this build", ln_device_name(k->caps.device));
        return -1;
    }
    if (add && !out->h) {
        snprintf(err, errlen, "no buffer for h");
        return -1;
    }
    /* The kernel works on its device's memory, in the dtype's bytes:
     * copies of the inputs, and outputs filled with NaN, so an element the
     * kernel never writes cannot pass as correct. */
    host = malloc(bytes);
    dx = dev->alloc(bytes);
    dy = dev->alloc(bytes);
    if (c->gamma)
        dg = dev->alloc(vbytes);
    if (c->beta)
        db = dev->alloc(vbytes);
    if (add) {
        dr = dev->alloc(bytes);
        dh = dev->alloc(bytes);
    }
    if (!host || !dx || !dy || (c->gamma && !dg) || (c->beta && !db) || (add && (!dr || !dh))) {
        snprintf(err, errlen, "out of %s memory for %zu x %zu", dev->name, d->rows, d->dim);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        out->y[i] = NAN;
    /* Each copy from `host` is waited for before the buffer is reused:
     * set may return before the copy is done. */
#define COPY_IN(dst, src, count, nbytes)                                                 \
    do {                                                                                 \
        ln_dtype_pack(d->dtype, host, (src), (count));                                   \
        if (dev->set((dst), host, (nbytes)) != 0 || dev->synchronize() != 0) {           \
            snprintf(err, errlen, "copy to %s failed", dev->name);                       \
            goto out;                                                                    \
        }                                                                                \
    } while (0)
    COPY_IN(dx, c->x, n, bytes);
    COPY_IN(dy, out->y, n, bytes);
    if (dg)
        COPY_IN(dg, c->gamma, d->dim, vbytes);
    if (db)
        COPY_IN(db, c->beta, d->dim, vbytes);
    if (add) {
        COPY_IN(dr, c->residual, n, bytes);
        COPY_IN(dh, out->y, n, bytes); /* NaN too */
    }
#undef COPY_IN
    ln_tensors t = {.x = dx, .y = dy, .gamma = dg, .beta = db, .residual = dr, .h = dh};
    if (ln_kernel_run(k, d, &t, &why) != 0) {
        snprintf(err, errlen, "%s", why ? why : "forward failed");
        goto out;
    }
    if (dev->get(host, dy, bytes) != 0 || dev->synchronize() != 0) {
        snprintf(err, errlen, "copy from %s failed", dev->name);
        goto out;
    }
    ln_dtype_unpack(d->dtype, out->y, host, n);
    if (add) {
        if (dev->get(host, dh, bytes) != 0 || dev->synchronize() != 0) {
            snprintf(err, errlen, "copy from %s failed", dev->name);
            goto out;
        }
        ln_dtype_unpack(d->dtype, out->h, host, n);
    }
    if (ln_error_measure_fmt(out->y, d->dim, c->hi, c->lo, d->dim, d->rows, d->dim, d->dtype,
                             st) != 0) {
        snprintf(err, errlen, "out of memory measuring");
        goto out;
    }
    if (add) {
        st->h_count = n;
        for (size_t i = 0; i < n; i++)
            st->h_mismatch += !same_value(out->h[i], c->h[i]);
    }
    rc = 0;
out:
    free(host);
    if (dx)
        dev->free(dx);
    if (dy)
        dev->free(dy);
    if (dg)
        dev->free(dg);
    if (db)
        dev->free(db);
    if (dr)
        dev->free(dr);
    if (dh)
        dev->free(dh);
    return rc;
}

int ln_acc_measure_kernels(const ln_acc_case *c, const ln_kernel *const *kernels, size_t n,
                           ln_acc_hook hook, void *ctx, char *err, size_t errlen)
{
    size_t count = c->desc.rows * c->desc.dim;
    ln_acc_output out = {malloc(count * sizeof *out.y),
                         c->h ? malloc(count * sizeof *out.h) : NULL};
    char why[256];
    int rc = 0;

    if (!out.y || (c->h && !out.h)) {
        free(out.y);
        free(out.h);
        snprintf(err, errlen, "out of memory for %zu x %zu", c->desc.rows, c->desc.dim);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        ln_error_stats st;
        int ok = ln_acc_measure(c, kernels[i], &out, &st, why, sizeof why) == 0;
        if (!ok)
            rc = 1;
        if (hook(ctx, kernels[i], ok ? &out : NULL, ok ? &st : NULL, ok ? NULL : why) != 0) {
            rc = -2;
            break;
        }
    }
    free(out.y);
    free(out.h);
    return rc;
}
