/*
 * test_opencl.c - the OpenCL device and every kernel of the registry that
 * runs on it (selected by caps.device, never by name), on the device
 * LNBENCH_OPENCL_DEVICE picks (PoCL's CPU device here).
 *
 *  - device ops: alloc, set, get, synchronize move the bytes;
 *  - layernorm f32 against a double two-pass loop at dims 1..70, 127-129,
 *    768, 1023, 4096, 4097, 6656, 6657 (the body's switch from single-row
 *    to looped is at 6656 for LayerNorm, 4096 for RMSNorm), with row
 *    strides, with and without gamma, beta, mean and rstd; a row holding
 *    NaN or Inf comes out all NaN and leaves its neighbours alone; a
 *    constant row gives exactly beta where the kernel promises
 *    LN_CAP_EXACT_CONSTANT; the gaps between strided rows are never
 *    written;
 *  - every op, dtype and cast the kernel declares, against the double loop
 *    at tails and at both sides of the single-row/looped switches
 *    (the definition of lnbench_kernel.h's ln_cast), and h = x + residual
 *    exactly rounded;
 *  - device_seconds after a forward; two threads, each with its own state
 *    and buffers, at once.
 * Bounds: LN_CAP_FAITHFUL kernels within 1 ulp of the dtype (plus 2^-40
 * of |n gamma| + |beta|, where the result cancels); the others within a
 * normwise 2^-12 of the row's largest output (float statistics; a broken
 * reduction is off by O(1)).
 *
 * Run as `test_opencl --unavailable SUBSTRING` (ctest does, with an
 * environment hiding the platform or naming a device that does not exist),
 * it checks the other side: every OpenCL kernel unavailable with a one-line
 * reason containing SUBSTRING, run refused, alloc NULL, no crash.  With
 * `--build-error` (and LNBENCH_OPENCL_BUILD_OPTIONS breaking the source), a
 * prepare fails with the build's first error on one line.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dtype_convert.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static double uniform01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-53;
}

static double normal01(void)
{
    double u = uniform01() + 1e-300, v = uniform01();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---------------------------------------------------------- dtypes */

/* v (a float) rounded from double to the dtype: once, not via binary32
 * (round to binary32 with round-to-odd would do; double -> float -> dtype
 * differs only at exact ties of the second rounding, so step off those). */
static float round_dt_d(ln_dtype dt, double v)
{
    float f = (float)v;
    if (dt == LN_DTYPE_F32 || f == ln_dtype_round(dt, f))
        return ln_dtype_round(dt, f);
    /* Nudge f one binary32 ulp towards v when it landed on the tie. */
    float lo = ln_dtype_round(dt, nextafterf(f, -INFINITY));
    float hi = ln_dtype_round(dt, nextafterf(f, INFINITY));
    if (lo != hi && (double)f != v)
        return (double)f < v ? hi : lo;
    return ln_dtype_round(dt, f);
}

/* ulp of the dtype at |t| (binary32's definition with the dtype's
 * precision and smallest normal exponent). */
static double ulp_dt(ln_dtype dt, double t)
{
    int p = dt == LN_DTYPE_F32 ? 24 : dt == LN_DTYPE_BF16 ? 8 : 11;
    int emin = dt == LN_DTYPE_F16 ? -14 : -126;
    int e = t == 0.0 ? emin : ilogb(t);
    if (e < emin)
        e = emin;
    return ldexp(1.0, e - p + 1);
}

static void to_dtype(ln_dtype dt, const float *src, void *dst, size_t n)
{
    if (dt == LN_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    uint16_t *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = dt == LN_DTYPE_BF16 ? ln_f32_to_bf16(src[i]) : ln_f32_to_f16(src[i]);
}

static void from_dtype(ln_dtype dt, const void *src, float *dst, size_t n)
{
    if (dt == LN_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    const uint16_t *s = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = dt == LN_DTYPE_BF16 ? ln_bf16_to_f32(s[i]) : ln_f16_to_f32(s[i]);
}

/* ----------------------------------------------------------- a call */

/* One call's host data (values exactly representable in the dtype). */
typedef struct call {
    ln_desc d;
    float *x, *res, *gamma, *beta; /* inputs */
    float *y, *h, *mean, *rstd;    /* outputs, read back */
    int has_gamma, has_beta, has_mean, has_rstd;
} call;

#define SENTINEL 12288.0f /* 3 * 2^12: exact in bf16 and f16 */

static void call_free(call *c)
{
    free(c->x);
    free(c->res);
    free(c->gamma);
    free(c->beta);
    free(c->y);
    free(c->h);
    free(c->mean);
    free(c->rstd);
    memset(c, 0, sizeof *c);
}

/* Inputs ~ offset + N(0,1) rounded to the dtype; gamma ~ 1 + 0.1 N,
 * beta ~ 0.1 N. */
static void call_make(call *c, ln_op op, ln_dtype dt, ln_cast cast, size_t rows, size_t dim,
                      size_t xpad, size_t ypad, unsigned tensors, double offset)
{
    memset(c, 0, sizeof *c);
    if (dim > 65536 || rows > 65536) /* test shapes only (and GCC's size analysis) */
        abort();
    c->d = (ln_desc){.op = op, .dtype = dt, .cast = cast, .rows = rows, .dim = dim,
                     .x_stride = dim + xpad, .y_stride = dim + ypad, .eps = 1e-5f,
                     .tensors = tensors, .store = LN_STORE_AUTO};
    size_t nx = rows * c->d.x_stride, ny = rows * c->d.y_stride;
    c->x = malloc(nx * sizeof(float));
    c->y = malloc(ny * sizeof(float));
    for (size_t i = 0; i < nx; i++)
        c->x[i] = ln_dtype_round(dt, (float)(offset + normal01()));
    if (ln_op_has_residual(op)) {
        c->res = malloc(nx * sizeof(float));
        c->h = malloc(ny * sizeof(float));
        for (size_t i = 0; i < nx; i++)
            c->res[i] = ln_dtype_round(dt, (float)normal01());
    }
    c->has_gamma = !!(tensors & LN_TENSOR_GAMMA);
    c->has_beta = !!(tensors & LN_TENSOR_BETA);
    c->has_mean = !!(tensors & LN_TENSOR_MEAN);
    c->has_rstd = !!(tensors & LN_TENSOR_RSTD);
    c->gamma = malloc(dim * sizeof(float));
    c->beta = malloc(dim * sizeof(float));
    for (size_t j = 0; j < dim; j++) {
        c->gamma[j] = ln_dtype_round(dt, (float)(1.0 + 0.1 * normal01()));
        c->beta[j] = ln_dtype_round(dt, (float)(0.1 * normal01()));
    }
    c->mean = malloc(rows * sizeof(float));
    c->rstd = malloc(rows * sizeof(float));
}

/* Runs k on c through the OpenCL device: inputs uploaded, outputs
 * prefilled with SENTINEL, read back.  0, or -1 with *why. */
static int call_run(const ln_kernel *k, call *c, double *device_seconds, const char **why)
{
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    const ln_desc *d = &c->d;
    size_t es = ln_dtype_size(d->dtype);
    size_t nx = d->rows * d->x_stride, ny = d->rows * d->y_stride, nv = d->dim;
    void *bx = NULL, *by = NULL, *bg = NULL, *bb = NULL, *bm = NULL, *br = NULL, *bres = NULL,
         *bh = NULL;
    void *tmp = malloc((nx > ny ? nx : ny) * sizeof(float) + 16);
    int add = ln_op_has_residual(d->op), rc = -1;

    *why = "device buffers";
    if (!tmp || !(bx = dev->alloc(nx * es)) || !(by = dev->alloc(ny * es)) ||
        (c->has_gamma && !(bg = dev->alloc(nv * es))) ||
        (c->has_beta && !(bb = dev->alloc(nv * es))) ||
        (c->has_mean && !(bm = dev->alloc(d->rows * 4))) ||
        (c->has_rstd && !(br = dev->alloc(d->rows * 4))) ||
        (add && (!(bres = dev->alloc(nx * es)) || !(bh = dev->alloc(ny * es)))))
        goto out;
    for (size_t i = 0; i < ny; i++)
        c->y[i] = SENTINEL;
    *why = "upload";
    to_dtype(d->dtype, c->x, tmp, nx);
    if (dev->set(bx, tmp, nx * es))
        goto out;
    to_dtype(d->dtype, c->y, tmp, ny);
    if (dev->set(by, tmp, ny * es) || (add && dev->set(bh, tmp, ny * es)))
        goto out;
    if (add) {
        to_dtype(d->dtype, c->res, tmp, nx);
        if (dev->set(bres, tmp, nx * es))
            goto out;
    }
    if (bg) {
        to_dtype(d->dtype, c->gamma, tmp, nv);
        if (dev->set(bg, tmp, nv * es))
            goto out;
    }
    if (bb) {
        to_dtype(d->dtype, c->beta, tmp, nv);
        if (dev->set(bb, tmp, nv * es))
            goto out;
    }
    ln_tensors t = {.x = bx, .y = by, .gamma = bg, .beta = bb, .mean = bm, .rstd = br,
                    .residual = bres, .h = bh};
    if (device_seconds) {
        /* By hand, to read device_seconds before release. */
        void *state = NULL;
        if (ln_check_call(d, &t, why) || (k->prepare && k->prepare(d, &state, why)))
            goto out;
        int f = k->forward(d, &t, state) || dev->synchronize() ||
                !k->device_seconds || k->device_seconds(state, device_seconds);
        if (k->release)
            k->release(state);
        *why = "forward or device_seconds";
        if (f)
            goto out;
    } else if (ln_kernel_run(k, d, &t, why) != 0) {
        goto out;
    }
    *why = "download";
    if (dev->get(tmp, by, ny * es))
        goto out;
    from_dtype(d->dtype, tmp, c->y, ny);
    if (add) {
        if (dev->get(tmp, bh, ny * es))
            goto out;
        from_dtype(d->dtype, tmp, c->h, ny);
    }
    if ((bm && dev->get(c->mean, bm, d->rows * 4)) || (br && dev->get(c->rstd, br, d->rows * 4)))
        goto out;
    if (dev->synchronize())
        goto out;
    *why = NULL;
    rc = 0;
out:
    free(tmp);
    void *bufs[] = {bx, by, bg, bb, bm, br, bres, bh};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i])
            dev->free(bufs[i]);
    return rc;
}

/* Checks c's outputs against the double loop.  Rows listed in bad (a NaN
 * or Inf in x) must be all NaN. */
static void call_check(const ln_kernel *k, const call *c, const char *what)
{
    const ln_desc *d = &c->d;
    ln_dtype dt = d->dtype;
    int faithful = !!(k->caps.flags & LN_CAP_FAITHFUL);
    int rms = ln_op_is_rms(d->op), add = ln_op_has_residual(d->op);
    double *v = malloc(d->dim * sizeof *v);
    int reported = 0;

    for (size_t i = 0; i < d->rows; i++) {
        const float *x = c->x + i * d->x_stride;
        const float *y = c->y + i * d->y_stride;
        int bad = 0;
        for (size_t j = 0; j < d->dim; j++) {
            float hv = add ? ln_dtype_round(dt, x[j] + c->res[i * d->x_stride + j]) : x[j];
            v[j] = hv;
            bad |= !isfinite(hv);
            if (add)
                CHECK(c->h[i * d->y_stride + j] == hv ||
                          (isnan(hv) && isnan(c->h[i * d->y_stride + j])),
                      "%s %s: h[%zu][%zu] = %a, want %a", k->name, what, i, j,
                      c->h[i * d->y_stride + j], hv);
        }
        double mean = 0.0, ssq = 0.0;
        if (!rms) {
            for (size_t j = 0; j < d->dim; j++)
                mean += v[j];
            mean /= (double)d->dim;
        }
        for (size_t j = 0; j < d->dim; j++)
            ssq += (v[j] - mean) * (v[j] - mean);
        double rstd = 1.0 / sqrt(ssq / (double)d->dim + (double)d->eps);
        double scale = 0.0;
        for (size_t j = 0; j < d->dim; j++)
            scale = fmax(scale, fabs((v[j] - mean) * rstd) * (c->has_gamma ? 1.5 : 1.0) + 0.5);
        for (size_t j = 0; j < d->dim && reported < 3; j++) {
            double n = (v[j] - mean) * rstd, g = c->has_gamma ? c->gamma[j] : 1.0;
            double b = c->has_beta ? c->beta[j] : 0.0;
            float want;
            double tol, slack = ldexp(fabs(n * g) + fabs(b), -40);
            if (d->cast == LN_CAST_LLAMA) {
                want = ln_dtype_round(dt, (float)g * round_dt_d(dt, n));
                /* round(n) may fall either side where n is a near-tie. */
                tol = ulp_dt(dt, want) + fabs(g) * ulp_dt(dt, n);
            } else {
                if (d->cast == LN_CAST_GEMMA && c->has_gamma)
                    g = (double)(1.0f + (float)g);
                want = round_dt_d(dt, n * g + b);
                tol = ulp_dt(dt, n * g + b);
            }
            /* Float statistics: the mean is off by about ulp(mean), which
             * x - mean carries into every output of an offset row. */
            if (!faithful)
                tol = fmax(tol, scale * 0x1p-12 + 4.0 * ulp_dt(LN_DTYPE_F32, mean) * rstd *
                                                      fabs(g));
            float got = y[j];
            int ok = bad ? isnan(got) : fabs((double)got - (double)want) <= tol + slack;
            if (!ok) {
                reported++;
                CHECK_FAIL("%s %s %s %s %s rows %zu dim %zu: y[%zu][%zu] = %.9g, want %.9g "
                           "(tol %.3g)",
                           k->name, what, ln_op_name(d->op), ln_dtype_name(dt),
                           ln_cast_name(d->cast), d->rows, d->dim, i, j, got, want, tol);
            }
        }
        if (c->has_rstd) {
            int ok = bad ? isnan(c->rstd[i])
                         : fabs(c->rstd[i] - rstd) <= (faithful ? 2e-7 : 1e-3) * rstd;
            CHECK(ok, "%s %s %s dim %zu row %zu: rstd %.9g, want %.9g", k->name, what,
                  ln_op_name(d->op), d->dim, i, c->rstd[i], rstd);
        }
        if (c->has_mean) {
            double tol = (faithful ? 2e-7 : 1e-4) * (fabs(mean) + 1.0 / rstd);
            int ok = bad ? isnan(c->mean[i]) : fabs(c->mean[i] - mean) <= tol;
            CHECK(ok, "%s %s dim %zu row %zu: mean %.9g, want %.9g", k->name, what, d->dim, i,
                  c->mean[i], mean);
        }
        /* The gaps between strided rows are the caller's. */
        for (size_t j = d->dim; j < d->y_stride; j++) {
            CHECK(y[j] == SENTINEL, "%s %s %s %s dim %zu: y gap [%zu][%zu] = %g written",
                  k->name, what, ln_op_name(d->op), ln_dtype_name(dt), d->dim, i, j, y[j]);
            if (add)
                CHECK(c->h[i * d->y_stride + j] == SENTINEL, "%s %s: h gap written", k->name,
                      what);
        }
    }
    free(v);
}

/* ------------------------------------------------------------ tests */

static void test_device_ops(void)
{
    const ln_device_ops *dev = ln_device_get(LN_DEVICE_OPENCL);
    CHECK(dev && !strcmp(dev->name, "opencl"), "no opencl device ops");
    if (!dev)
        return;
    CHECK(dev->describe && dev->describe() && strchr(dev->describe(), ':'),
          "the device does not describe itself");
    float in[100], out[100];
    for (int i = 0; i < 100; i++)
        in[i] = (float)i * 0.5f, out[i] = -1.0f;
    void *b = dev->alloc(sizeof in), *z = dev->alloc(0);
    CHECK(b && z, "alloc failed");
    if (b) {
        CHECK(dev->set(b, in, sizeof in) == 0 && dev->get(out, b, sizeof out) == 0 &&
                  dev->synchronize() == 0,
              "copies failed");
        CHECK(!memcmp(in, out, sizeof in), "bytes changed on the way through the device");
        dev->free(b);
    }
    if (z)
        dev->free(z);
}

static const size_t f32_dims[] = {127, 128, 129, 768, 1023, 4096, 4097, 6656, 6657};

/* layernorm f32 at every dim the CPU kernels are tested on. */
static void test_layernorm_f32(const ln_kernel *k)
{
    const unsigned all = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD;
    size_t ndims = 70 + sizeof f32_dims / sizeof f32_dims[0];
    for (size_t di = 0; di < ndims; di++) {
        size_t dim = di < 70 ? di + 1 : f32_dims[di - 70];
        /* Variants: everything, strided; no tensors at all; gamma only. */
        unsigned tensors[3] = {all, 0, LN_TENSOR_GAMMA};
        for (int v = 0; v < 3; v++) {
            call c;
            const char *why = NULL;
            double offset = v == 1 ? 1e4 : 0.0;
            call_make(&c, LN_OP_LAYERNORM, LN_DTYPE_F32, LN_CAST_SINGLE, 3, dim, v == 0 ? 3 : 0,
                      v == 0 ? 5 : 0, tensors[v], offset);
            if (call_run(k, &c, NULL, &why) != 0)
                CHECK_FAIL("%s layernorm f32 dim %zu: %s", k->name, dim, why);
            else
                call_check(k, &c, v == 1 ? "offset 1e4" : "normal");
            call_free(&c);
        }
    }
}

/* NaN and Inf rows between good rows; constant rows. */
static void test_special_rows(const ln_kernel *k)
{
    const unsigned all = LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_MEAN | LN_TENSOR_RSTD;
    static const size_t dims[] = {1, 7, 64, 129, 4097};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        size_t dim = dims[di];
        call c;
        const char *why = NULL;
        call_make(&c, LN_OP_LAYERNORM, LN_DTYPE_F32, LN_CAST_SINGLE, 5, dim, 1, 2, all, 0.0);
        c.x[1 * c.d.x_stride + dim / 2] = NAN;
        c.x[3 * c.d.x_stride + (dim - 1)] = INFINITY;
        if (call_run(k, &c, NULL, &why) != 0)
            CHECK_FAIL("%s NaN rows dim %zu: %s", k->name, dim, why);
        else
            call_check(k, &c, "NaN/Inf rows");
        call_free(&c);

        /* Constant rows: 3.3f everywhere (its float mean misses it); with
         * LN_CAP_EXACT_CONSTANT the output is exactly beta, else close. */
        for (int with_beta = 0; with_beta < 2; with_beta++) {
            call_make(&c, LN_OP_LAYERNORM, LN_DTYPE_F32, LN_CAST_SINGLE, 2, dim, 0, 0,
                      LN_TENSOR_GAMMA | (with_beta ? LN_TENSOR_BETA : 0u), 0.0);
            for (size_t i = 0; i < 2 * dim; i++)
                c.x[i] = 3.3f;
            if (call_run(k, &c, NULL, &why) != 0) {
                CHECK_FAIL("%s constant rows dim %zu: %s", k->name, dim, why);
            } else if (k->caps.flags & LN_CAP_EXACT_CONSTANT) {
                for (size_t i = 0; i < 2 * dim; i++)
                    CHECK(c.y[i] == (with_beta ? c.beta[i % dim] : 0.0f),
                          "%s constant row dim %zu: y[%zu] = %a, want beta exactly", k->name,
                          dim, i, c.y[i]);
            } else {
                call_check(k, &c, "constant rows");
            }
            call_free(&c);
        }
    }
}

/* Every op, dtype and cast k declares. */
static void test_ops_dtypes(const ln_kernel *k)
{
    /* Both sides of the single-row/looped switches: 4096 (RMS forms) and
     * 6656 (LayerNorm forms). */
    static const size_t dims[] = {1, 3, 17, 64, 129, 768, 4096, 4097, 6656, 6657};
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            for (int cast = 0; cast < LN_CAST_COUNT; cast++) {
                unsigned tensors = LN_TENSOR_GAMMA | LN_TENSOR_RSTD |
                                   (ln_op_is_rms((ln_op)op) ? 0u
                                                            : LN_TENSOR_BETA | LN_TENSOR_MEAN);
                ln_desc probe = {.op = (ln_op)op, .dtype = (ln_dtype)dt, .cast = (ln_cast)cast,
                                 .rows = 1, .dim = 8, .x_stride = 8, .y_stride = 8,
                                 .tensors = tensors};
                if (ln_kernel_supports(k, &probe, NULL) != 0)
                    continue;
                for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
                    call c;
                    const char *why = NULL;
                    call_make(&c, (ln_op)op, (ln_dtype)dt, (ln_cast)cast, 3, dims[di], 2, 1,
                              tensors, 0.0);
                    if (call_run(k, &c, NULL, &why) != 0)
                        CHECK_FAIL("%s %s %s %s dim %zu: %s", k->name, ln_op_name((ln_op)op),
                                   ln_dtype_name((ln_dtype)dt), ln_cast_name((ln_cast)cast),
                                   dims[di], why);
                    else
                        call_check(k, &c, "ops");
                    call_free(&c);
                }
            }
}

static void test_device_seconds(const ln_kernel *k)
{
    call c;
    const char *why = NULL;
    double secs = -1.0;
    call_make(&c, LN_OP_LAYERNORM, LN_DTYPE_F32, LN_CAST_SINGLE, 64, 768, 0, 0,
              LN_TENSOR_GAMMA | LN_TENSOR_BETA, 0.0);
    if (call_run(k, &c, &secs, &why) != 0)
        CHECK_FAIL("%s device_seconds: %s", k->name, why);
    else {
        CHECK(secs > 0.0 && secs < 60.0, "%s: device_seconds %g", k->name, secs);
        call_check(k, &c, "device_seconds");
    }
    call_free(&c);
}

typedef struct worker {
    const ln_kernel *k;
    call c;
    int rc;
    const char *why;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 4 && w->rc == 0; i++)
        w->rc = call_run(w->k, &w->c, NULL, &w->why);
    return NULL;
}

static void test_threads(const ln_kernel *k)
{
    worker w[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (worker){.k = k};
        call_make(&w[i].c, LN_OP_LAYERNORM, LN_DTYPE_F32, LN_CAST_SINGLE, 16, 1000 + 24 * i, 0,
                  0, LN_TENSOR_GAMMA | LN_TENSOR_BETA | LN_TENSOR_RSTD, 0.0);
    }
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0, "pthread_create");
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        if (w[i].rc != 0)
            CHECK_FAIL("%s thread %d: %s", k->name, i, w[i].why);
        else
            call_check(k, &w[i].c, "threads");
        call_free(&w[i].c);
    }
}

/* The OpenCL kernels of the registry. */
static size_t opencl_kernels(const ln_kernel **out)
{
    size_t n = 0;
    for (size_t i = 0; i < ln_kernel_count; i++)
        if (ln_kernels[i]->caps.device == LN_DEVICE_OPENCL)
            out[n++] = ln_kernels[i];
    return n;
}

static int expect_unavailable(const char *substring)
{
    const ln_kernel *ks[64];
    size_t n = opencl_kernels(ks);
    CHECK(n >= 3, "only %zu OpenCL kernels registered", n);
    for (size_t i = 0; i < n; i++) {
        const char *why = ln_kernel_unavailable(ks[i]);
        CHECK(why && strstr(why, substring) && !strchr(why, '\n'),
              "%s: unavailable reason \"%s\", want one line with \"%s\"", ks[i]->name,
              why ? why : "(null: available)", substring);
        call c;
        const char *rwhy = NULL;
        call_make(&c, LN_OP_LAYERNORM, LN_DTYPE_F32, LN_CAST_SINGLE, 2, 8, 0, 0, 0, 0.0);
        CHECK(call_run(ks[i], &c, NULL, &rwhy) == -1 && rwhy, "%s ran without a device",
              ks[i]->name);
        call_free(&c);
    }
    const ln_device_ops *dev = ln_device_get(LN_DEVICE_OPENCL);
    CHECK(dev && dev->alloc(64) == NULL && dev->synchronize() != 0 && dev->describe() == NULL,
          "device ops work without a device");
    printf("OpenCL unavailable as expected: %s\n",
           n ? ln_kernel_unavailable(ks[0]) : "(no kernels)");
    return check_done("test_opencl");
}

static int expect_build_error(void)
{
    const ln_kernel *ks[64];
    size_t n = opencl_kernels(ks);
    for (size_t i = 0; i < n; i++) {
        ln_desc d = {.op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32, .rows = 1, .dim = 8,
                     .x_stride = 8, .y_stride = 8, .eps = 1e-5f};
        void *state = NULL;
        const char *why = NULL;
        CHECK(ks[i]->prepare && ks[i]->prepare(&d, &state, &why) == -1 && why &&
                  strstr(why, "OpenCL build failed") && strstr(why, "error") &&
                  !strchr(why, '\n'),
              "%s: a broken build gives \"%s\"", ks[i]->name, why ? why : "(null)");
        if (why)
            printf("%s: %s\n", ks[i]->name, why);
    }
    return check_done("test_opencl");
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--unavailable"))
        return expect_unavailable(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "--build-error"))
        return expect_build_error();

    const ln_kernel *ks[64];
    size_t n = opencl_kernels(ks);
    CHECK(n >= 3, "only %zu OpenCL kernels registered", n);
    for (size_t i = 0; i < n; i++) {
        const char *why = ln_kernel_unavailable(ks[i]);
        CHECK(why == NULL, "%s unavailable: %s", ks[i]->name, why);
        if (why)
            return check_done("test_opencl");
    }
    printf("device: %s\n", ln_device_get(LN_DEVICE_OPENCL)->describe());
    test_device_ops();
    for (size_t i = 0; i < n; i++) {
        test_layernorm_f32(ks[i]);
        test_special_rows(ks[i]);
        test_ops_dtypes(ks[i]);
        test_device_seconds(ks[i]);
        test_threads(ks[i]);
        printf("%s: %d failure(s) so far\n", ks[i]->name, check_failures);
    }
    return check_done("test_opencl");
}
