/*
 * test_metal.c - the Metal kernels through the ABI.
 *
 * The kernels are those of device LN_DEVICE_METAL in the registry (selected
 * by capability, never by name).
 *
 * A build without Metal (every non-Apple platform): the registry still
 * lists them, three, each unavailable with the reason "built without
 * Metal: not an Apple platform"; selecting or running one fails with that
 * reason, and there are no Metal device ops.
 *
 * A build with Metal (macOS): every Metal kernel this Mac can run, through
 * its device's buffers, for every op, dtype and cast it declares, at every
 * tail of a row up to 40, around every power of two to 8192 and the
 * thresholds of MLX's single-row kernels:
 *  - against the MPFR ground truth (the accuracy engine) on normal rows,
 *    and offset rows for the float-float kernel, h bit for bit;
 *  - on rows whose float statistics are exact in any summation order,
 *    with row strides > dim and tensors that start inside their
 *    allocation, against a double-precision reference of the definitions
 *    in lnbench_kernel.h.
 * The bounds are the algorithms' (derived below), generous enough for any
 * correct float arithmetic and far below what a lost element, a lost SIMD
 * group or a wrong tail gives (a relative error near 1/dim).
 * When no Metal kernel can run (no GPU, or GitHub's paravirtual one
 * without SIMD-group reductions), it says why in one line and exits 77,
 * which ctest reports as skipped, not passed.
 *
 * `test_metal --device host` runs the same checks on the host's faithful
 * kernels (what they compute), so the checker itself runs, and can fail,
 * on machines without Metal.
 */
#include "accuracy.h"
#include "check.h"
#include "dtype_convert.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OFF_APPLE_REASON "built without Metal: not an Apple platform"
#define SKIP 77

static ln_device device = LN_DEVICE_METAL;

static size_t device_kernels(const ln_kernel **out)
{
    size_t n = 0;
    for (size_t i = 0; i < ln_kernel_count; i++)
        if (ln_kernels[i]->caps.device == device)
            out[n++] = ln_kernels[i];
    return n;
}

/* ------------------------------------------------------------------------ */
/* Without Metal                                                            */
/* ------------------------------------------------------------------------ */

static void test_listed_unavailable(const ln_kernel **ks, size_t n)
{
    CHECK(n == 3, "%zu Metal kernels listed, want 3 (metal, accurate, fastmath)", n);
    CHECK(ln_device_get(LN_DEVICE_METAL) == NULL, "Metal device ops in a build without Metal");
    size_t exact = 0;
    for (size_t i = 0; i < n; i++) {
        const ln_kernel *k = ks[i];
        const char *why = ln_kernel_unavailable(k);
        CHECK(why && !strcmp(why, OFF_APPLE_REASON), "%s: unavailable reason \"%s\", want \"%s\"",
              k->name, why ? why : "(available)", OFF_APPLE_REASON);
        exact += (k->caps.flags & LN_CAP_EXACT_CONSTANT) != 0;
        /* Listed with what it computes on a Mac. */
        CHECK(k->caps.ops & LN_BIT(LN_OP_RMSNORM) && k->caps.dtypes & LN_BIT(LN_DTYPE_BF16),
              "%s: capabilities lost off Apple", k->name);

        char name[64], err[256] = "";
        const ln_kernel *out[64];
        size_t got = 99;
        snprintf(name, sizeof name, "%s", k->name);
        char *names[] = {name};
        CHECK(ln_kernel_count <= 64, "registry larger than this test's buffer");
        if (ln_kernel_count <= 64)
            CHECK(ln_kernel_select(names, 1, NULL, out, &got, err, sizeof err) == -1 &&
                      strstr(err, OFF_APPLE_REASON),
                  "selecting %s: \"%s\"", k->name, err);

        float x[4] = {1, 2, 3, 4}, y[4];
        ln_desc d = {.op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32, .rows = 1, .dim = 4,
                     .x_stride = 4, .y_stride = 4, .eps = 1e-5f};
        ln_tensors t = {.x = x, .y = y};
        const char *rwhy = NULL;
        CHECK(ln_kernel_run(k, &d, &t, &rwhy) == -1 && rwhy && !strcmp(rwhy, OFF_APPLE_REASON),
              "running %s: \"%s\"", k->name, rwhy ? rwhy : "(ran)");
    }
    CHECK(exact == 1, "%zu exact-constant Metal kernels, want 1 (metal_accurate)", exact);
}

/* ------------------------------------------------------------------------ */
/* With Metal: the dims                                                     */
/* ------------------------------------------------------------------------ */

/* Every tail to 40, then around each power of two and MLX's switches from
 * the single-row to the looped kernel (4096 RMSNorm, 6656 LayerNorm). */
static size_t test_dims(size_t *out)
{
    size_t n = 0;
    for (size_t d = 1; d <= 40; d++)
        out[n++] = d;
    for (size_t p = 64; p <= 8192; p *= 2)
        for (int o = -1; o <= 1; o++)
            out[n++] = p + (size_t)o;
    out[n++] = 6655;
    out[n++] = 6656;
    out[n++] = 6657;
    out[n++] = 12288;
    return n;
}
#define MAX_DIMS 80

/* The bound on a float two-pass kernel's normwise error (units of 2^-24 of
 * max|t|): each statistic sums at most dim/32 values per thread, then a
 * tree of at most log2(1024) levels, error (dim/32 + 10) u each (Higham,
 * ch. 4); rstd adds half of var's error and 2 u; the output (x - mean) *
 * rstd * gamma + beta 4 u more, and the mean's error scales with
 * |mean|/sigma, below 1 on the normal rows used here.  x 4 for the
 * fast-math kernel's approximate sqrt and division and reassociation. */
static double float_bound(size_t dim)
{
    double k = (double)dim / 32 + 10;
    return 4 * (3 * k + 8);
}

/* ------------------------------------------------------------------------ */
/* With Metal: exact-sum rows against a double reference                    */
/* ------------------------------------------------------------------------ */

static int dtype_bits(ln_dtype dt)
{
    return dt == LN_DTYPE_BF16 ? 8 : dt == LN_DTYPE_F16 ? 11 : 24;
}

/* A small deterministic generator (an LCG's high bits): an integer in
 * [0, n), and one in [-m, m). */
static uint64_t next_below(uint64_t *s, uint64_t n)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (*s >> 33) % n;
}

static int next_int(uint64_t *s, int m)
{
    return (int)next_below(s, 2 * (uint64_t)m) - m;
}

/* A row whose float statistics are exact in any summation order, so that
 * a float kernel's error does not grow with dim and a lost element shows:
 * multiples of 1/8 in [-2, 2) in pairs +v, -v (an odd dim adds one 0),
 * shuffled, plus the integer offset.  The sum is offset * dim exactly, the
 * mean the offset, every deviation and square exact, their sum exact
 * (multiples of 1/64 below 2^18); only var/n, sqrt and the output's own
 * products round.  Every value fits bf16 and f16 exactly. */
static void exact_row(uint64_t *s, float *v, size_t dim, int offset)
{
    for (size_t j = 0; j + 1 < dim; j += 2) {
        v[j] = (float)next_int(s, 16) / 8;
        v[j + 1] = -v[j];
    }
    if (dim % 2)
        v[dim - 1] = 0;
    for (size_t j = dim; j > 1; j--) {
        size_t i = (size_t)next_below(s, j);
        float tmp = v[i];
        v[i] = v[j - 1];
        v[j - 1] = tmp;
    }
    for (size_t j = 0; j < dim; j++)
        v[j] += (float)offset;
}

/* The definitions of lnbench_kernel.h in double, on the dtype-rounded
 * inputs: h, then the statistics, then y as the cast says.  t receives y
 * exactly (before the final rounding), except for llama, whose inner
 * rounding is part of the definition. */
static void reference_row(const ln_desc *d, const float *xin, const float *g, const float *b,
                          double *t, float *h, double *mean_out, double *rstd_out)
{
    size_t n = d->dim;
    int rms = ln_op_is_rms(d->op);
    for (size_t j = 0; j < n; j++)
        h[j] = xin[j];
    double mean = 0, var = 0;
    if (!rms) {
        for (size_t j = 0; j < n; j++)
            mean += h[j];
        mean /= (double)n;
    }
    for (size_t j = 0; j < n; j++)
        var += ((double)h[j] - mean) * ((double)h[j] - mean);
    var /= (double)n;
    double rstd = 1.0 / sqrt(var + (double)d->eps);
    for (size_t j = 0; j < n; j++) {
        double nv = ((double)h[j] - mean) * rstd, w = g ? g[j] : 1.0;
        if (d->cast == LN_CAST_LLAMA)
            t[j] = w * (double)ln_dtype_round(d->dtype, (float)nv);
        else if (d->cast == LN_CAST_GEMMA)
            t[j] = nv * (double)(g ? 1.0f + g[j] : 1.0f);
        else
            t[j] = nv * w + (b ? b[j] : 0.0);
    }
    *mean_out = mean;
    *rstd_out = rstd;
}

typedef struct buffers {
    const ln_device_ops *dev;
    void *x, *res, *y, *h, *g, *b, *mean, *rstd; /* device memory */
} buffers;

static void free_buffers(buffers *B)
{
    void **all[] = {&B->x, &B->res, &B->y, &B->h, &B->g, &B->b, &B->mean, &B->rstd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i])
            B->dev->free(*all[i]);
        *all[i] = NULL;
    }
}

/* One call: rows of dim values, row strides dim + 3, every tensor one
 * element into its allocation.  Returns 0 when it ran. */
static int run_case(const ln_kernel *k, ln_op op, ln_dtype dt, ln_cast cast, int full,
                    size_t dim, uint64_t seed)
{
    const size_t rows = 3, xs = dim + 3, ys = dim + 3, es = ln_dtype_size(dt);
    const ln_device_ops *dev = ln_device_get(k->caps.device);
    int add = ln_op_has_residual(op), rms = ln_op_is_rms(op), rc = -1;
    unsigned tensors = full ? LN_TENSOR_GAMMA | LN_TENSOR_RSTD : 0;
    if (full && !rms)
        tensors |= LN_TENSOR_BETA | LN_TENSOR_MEAN;
    ln_desc d = {.op = op, .dtype = dt, .cast = cast, .rows = rows, .dim = dim, .x_stride = xs,
                 .y_stride = ys, .eps = 1e-5f, .tensors = tensors};
    if (ln_kernel_supports(k, &d, NULL) != 0)
        return 1; /* not this kernel's: nothing to check */

    size_t xn = rows * xs + 1, yn = rows * ys + 1;
    unsigned char *hx = calloc(xn, es), *hr = calloc(xn, es), *hy = calloc(yn, es),
                  *hh = calloc(yn, es), *hg = calloc(dim + 1, es), *hb = calloc(dim + 1, es);
    float *in = malloc(dim * sizeof *in), *g = malloc(dim * sizeof *g),
          *b = malloc(dim * sizeof *b), *href = malloc(dim * sizeof *href);
    float mean[3], rstd[3];
    double *t = malloc(dim * sizeof *t);
    buffers B = {.dev = dev};
    if (!hx || !hr || !hy || !hh || !hg || !hb || !in || !g || !b || !href || !t) {
        CHECK_FAIL("out of memory");
        goto out;
    }
    /* Inputs, all exact in the dtype: row r of the normalised input (x,
     * or h = x + residual) an exact_row() offset by r; the residual
     * multiples of 1/8 in [-2, 2) and x = h - residual (exact: |x| < 6);
     * gamma 1 + k/64 and beta k/64, |k| <= 8. */
    for (size_t r = 0; r < rows; r++) {
        exact_row(&seed, in, dim, (int)r);
        for (size_t j = 0; j < dim; j++) {
            float res = add ? (float)next_int(&seed, 16) / 8 : 0.0f;
            ln_dtype_store(dt, hx, 1 + r * xs + j, in[j] - res);
            ln_dtype_store(dt, hr, 1 + r * xs + j, res);
        }
    }
    for (size_t j = 0; j < dim; j++) {
        ln_dtype_store(dt, hg, 1 + j, 1.0f + (float)next_int(&seed, 8) / 64);
        ln_dtype_store(dt, hb, 1 + j, (float)next_int(&seed, 8) / 64);
        g[j] = ln_dtype_load(dt, hg, 1 + j);
        b[j] = ln_dtype_load(dt, hb, 1 + j);
    }
    B.x = dev->alloc(xn * es);
    B.res = dev->alloc(xn * es);
    B.y = dev->alloc(yn * es);
    B.h = dev->alloc(yn * es);
    B.g = dev->alloc((dim + 1) * es);
    B.b = dev->alloc((dim + 1) * es);
    B.mean = dev->alloc(4 * sizeof(float));
    B.rstd = dev->alloc(4 * sizeof(float));
    if (!B.x || !B.res || !B.y || !B.h || !B.g || !B.b || !B.mean || !B.rstd) {
        CHECK_FAIL("%s: device alloc failed", k->name);
        goto out;
    }
    if (dev->set(B.x, hx, xn * es) || dev->set(B.res, hr, xn * es) ||
        dev->set(B.g, hg, (dim + 1) * es) || dev->set(B.b, hb, (dim + 1) * es)) {
        CHECK_FAIL("%s: copy to the device failed", k->name);
        goto out;
    }
    char *dx = B.x, *dr = B.res, *dy = B.y, *dh = B.h, *dg = B.g, *db = B.b;
    ln_tensors tt = {
        .x = dx + es, .y = dy + es,
        .gamma = tensors & LN_TENSOR_GAMMA ? dg + es : NULL,
        .beta = tensors & LN_TENSOR_BETA ? db + es : NULL,
        .mean = tensors & LN_TENSOR_MEAN ? (float *)B.mean + 1 : NULL,
        .rstd = tensors & LN_TENSOR_RSTD ? (float *)B.rstd + 1 : NULL,
        .residual = add ? dr + es : NULL, .h = add ? dh + es : NULL,
    };
    const char *why = NULL;
    if (ln_kernel_run(k, &d, &tt, &why) != 0) {
        CHECK_FAIL("%s %s %s cast %s dim %zu: %s", k->name, ln_op_name(op), ln_dtype_name(dt),
                   ln_cast_name(cast), dim, why ? why : "failed");
        goto out;
    }
    float dmean[4], drstd[4];
    if (dev->get(hy, B.y, yn * es) || dev->get(hh, B.h, yn * es) ||
        dev->get(dmean, B.mean, sizeof dmean) || dev->get(drstd, B.rstd, sizeof drstd) ||
        dev->synchronize()) {
        CHECK_FAIL("%s: copy from the device failed", k->name);
        goto out;
    }
    memcpy(mean, dmean + 1, sizeof mean);
    memcpy(rstd, drstd + 1, sizeof rstd);

    /* Bounds, in units of 2^-p of the row's max|t| (p the dtype's
     * significand bits, so half an ulp(t) is at most 2^-p |t|): 1 for the
     * final rounding, 1 more for a faithful rather than a correct one,
     * 1.2 more for llama's inner rounding (scaled by |w| <= 1.125).  On
     * exact_row() inputs float statistics round only in var/n, sqrt, the
     * division and the output's products: under 8 units of 2^-24, 16
     * with fast math's approximate sqrt and division; float-float ones
     * far less.  A lost element moves the mean by ~1/dim: 2^22/dim units
     * of 2^-24, above 300 at every dim tested. */
    int p = dtype_bits(dt), faithful = (k->caps.flags & LN_CAP_FAITHFUL) != 0;
    double stat = (faithful ? 1.0 / 16 : 16.0) * ldexp(1.0, p - 24);
    double bound = 2.0 + (cast == LN_CAST_LLAMA ? 1.2 : 0.0) + stat;
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < dim; j++) {
            float v = ln_dtype_load(dt, hx, 1 + r * xs + j);
            in[j] = add ? ln_dtype_round(dt, v + ln_dtype_load(dt, hr, 1 + r * xs + j)) : v;
        }
        double m, rs;
        reference_row(&d, in, tensors & LN_TENSOR_GAMMA ? g : NULL,
                      tensors & LN_TENSOR_BETA ? b : NULL, t, href, &m, &rs);
        double tmax = 0, emax = 0;
        size_t where = 0;
        int bad_h = -1;
        for (size_t j = 0; j < dim; j++) {
            double e = fabs((double)ln_dtype_load(dt, hy, 1 + r * ys + j) - t[j]);
            if (!(e <= emax)) { /* NaN included */
                emax = e;
                where = j;
            }
            tmax = fmax(tmax, fabs(t[j]));
            if (add && bad_h < 0 && ln_dtype_load(dt, hh, 1 + r * ys + j) != href[j])
                bad_h = (int)j;
        }
        /* An all-zero exact row (dim 1 without beta) must come out zero. */
        double nw = tmax > 0 ? emax / (tmax * ldexp(1.0, -p)) : emax == 0 ? 0 : INFINITY;
        CHECK(nw <= bound, "%s %s %s cast %s %s dim %zu row %zu: normwise %.3g > %.3g "
              "(col %zu: %.9g, want %.9g)", k->name, ln_op_name(op), ln_dtype_name(dt),
              ln_cast_name(cast), full ? "affine" : "plain", dim, r, nw, bound, where,
              (double)ln_dtype_load(dt, hy, 1 + r * ys + where), t[where]);
        CHECK(bad_h < 0, "%s %s %s dim %zu row %zu: h[%d] is not x + residual rounded",
              k->name, ln_op_name(op), ln_dtype_name(dt), dim, r, bad_h);
        /* rstd and mean: within 1 ulp for float-float statistics, 16 units
         * of 2^-24 for float ones (exact sums, as above). */
        double rbound = (faithful ? 2.0 : 16.0) * ldexp(1.0, -24);
        if (tensors & LN_TENSOR_RSTD)
            CHECK(fabs(rstd[r] - rs) <= rbound * rs, "%s %s %s dim %zu row %zu: rstd %.9g, "
                  "want %.9g", k->name, ln_op_name(op), ln_dtype_name(dt), dim, r,
                  (double)rstd[r], rs);
        if (tensors & LN_TENSOR_MEAN)
            CHECK(fabs(mean[r] - m) <= rbound * (fabs(m) + 1 / rs), "%s %s %s dim %zu row "
                  "%zu: mean %.9g, want %.9g", k->name, ln_op_name(op), ln_dtype_name(dt),
                  dim, r, (double)mean[r], m);
    }
    rc = 0;
out:
    if (dev)
        free_buffers(&B);
    free(hx), free(hr), free(hy), free(hh), free(hg), free(hb);
    free(in), free(g), free(b), free(href), free(t);
    return rc;
}

static void test_definitions(const ln_kernel *k, const size_t *dims, size_t ndims)
{
    size_t runs = 0;
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            for (int cast = 0; cast < LN_CAST_COUNT; cast++)
                for (int full = 0; full <= 1; full++)
                    for (size_t i = 0; i < ndims; i++)
                        runs += run_case(k, (ln_op)op, (ln_dtype)dt, (ln_cast)cast, full,
                                         dims[i], 1000 * (uint64_t)i + 17) == 0;
    CHECK(runs >= ndims, "%s: only %zu calls checked", k->name, runs);
    printf("%-16s %zu calls against the double reference\n", k->name, runs);
}

/* Every op, dtype and cast each kernel computes, on normal rows (and
 * offset rows for the float-float kernel), against the MPFR ground truth
 * through the accuracy engine (which moves the data through the kernel's
 * device).  Bounds in units of 2^-p of max|t| (p: the dtype's precision,
 * so half an ulp(t) is at most 1): 2 for a faithful result, 1.2 more for
 * llama's inner rounding (a value of at most max|t|/|w|, |w| <= ~1.3,
 * rounded inside); float statistics add float_bound() units of 2^-24. */
static void test_ground_truth(const ln_kernel *const *ks, size_t nk, const size_t *dims,
                              size_t ndims)
{
    const ln_dist *dists[] = {ln_dist_find("normal"), ln_dist_find("offset1e4")};
    CHECK(dists[0] && dists[1], "input distributions normal and offset1e4 missing");
    if (!dists[0] || !dists[1])
        return;
    size_t measured = 0;
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            for (int cast = 0; cast < LN_CAST_COUNT; cast++)
                for (size_t di = 0; di < 2; di++)
                    for (size_t i = 0; i < ndims; i++) {
                        ln_acc_shape s = {.op = (ln_op)op, .dtype = (ln_dtype)dt,
                                          .cast = (ln_cast)cast, .dist = dists[di], .rows = 3,
                                          .dim = dims[i], .seed = 7, .eps = 1e-5f,
                                          .affine = 1, .bias = 1};
                        ln_desc d = ln_acc_shape_desc(&s);
                        /* Offset rows cost a float kernel |mean|/sigma =
                         * 1e4 times more: only float-float is held there. */
                        size_t want = 0;
                        for (size_t k = 0; k < nk; k++)
                            want += ln_kernel_supports(ks[k], &d, NULL) == 0 &&
                                    (di == 0 || (ks[k]->caps.flags & LN_CAP_FAITHFUL));
                        if (!want || ln_desc_valid(&d, NULL) != 0 ||
                            ln_dist_refuses(dists[di], ln_acc_format((ln_dtype)dt)))
                            continue;
                        ln_acc_case c;
                        char err[256];
                        if (ln_acc_case_make(&c, &s, 0, err, sizeof err) != 0) {
                            CHECK_FAIL("ground truth %s %s %s dim %zu: %s", ln_op_name(d.op),
                                       ln_dtype_name(d.dtype), ln_cast_name(d.cast), dims[i],
                                       err);
                            ln_acc_case_free(&c);
                            continue;
                        }
                        ln_acc_output out = {malloc(s.rows * s.dim * sizeof(float)),
                                             malloc(s.rows * s.dim * sizeof(float))};
                        for (size_t k = 0; k < nk && out.y && out.h; k++) {
                            int faithful = (ks[k]->caps.flags & LN_CAP_FAITHFUL) != 0;
                            ln_error_stats st;
                            if (ln_kernel_supports(ks[k], &d, NULL) != 0 || (di && !faithful))
                                continue;
                            if (ln_acc_measure(&c, ks[k], &out, &st, err, sizeof err) != 0) {
                                CHECK_FAIL("%s dim %zu: %s", ks[k]->name, dims[i], err);
                                continue;
                            }
                            measured++;
                            double bound = 2.0 + (d.cast == LN_CAST_LLAMA ? 1.2 : 0.0) +
                                           (faithful ? 0.0
                                                     : float_bound(dims[i]) *
                                                           ldexp(1.0, dtype_bits(d.dtype) - 24));
                            CHECK(st.nonfinite == 0 && st.normwise <= bound && !st.h_mismatch,
                                  "%s %s %s cast %s %s dim %zu: normwise %.3g > %.3g (max %.3g "
                                  "ulp at row %zu col %zu), %zu nonfinite, %zu h wrong",
                                  ks[k]->name, ln_op_name(d.op), ln_dtype_name(d.dtype),
                                  ln_cast_name(d.cast), dists[di]->name, dims[i], st.normwise,
                                  bound, st.max_ulp, st.max_row, st.max_col, st.nonfinite,
                                  st.h_mismatch);
                        }
                        CHECK(out.y && out.h, "out of memory");
                        free(out.y);
                        free(out.h);
                        ln_acc_case_free(&c);
                    }
    CHECK(measured >= ndims, "only %zu shapes measured against the ground truth", measured);
    printf("%zu kernel x shape measurements against the MPFR ground truth\n", measured);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--device") && !strcmp(argv[2], "host"))
        device = LN_DEVICE_HOST;
    else if (argc != 1) {
        fprintf(stderr, "usage: test_metal [--device host]\n");
        return 2;
    }
    const ln_kernel **ks = calloc(ln_kernel_count + 1, sizeof *ks);
    if (!ks)
        return 1;
    size_t n = device_kernels(ks);

    if (device == LN_DEVICE_METAL && !ln_device_get(LN_DEVICE_METAL)) {
        test_listed_unavailable(ks, n);
        free(ks);
        return CHECK_DONE("test_metal");
    }

    size_t dims[MAX_DIMS], ndims = test_dims(dims), ran = 0;
    for (size_t i = 0; i < n; i++) {
        const ln_kernel *k = ks[i];
        const char *why = ln_kernel_unavailable(k);
        /* On the host: the faithful kernels stand in, to prove the checker. */
        if (device == LN_DEVICE_HOST && !(k->caps.flags & LN_CAP_FAITHFUL))
            continue;
        if (why) {
            printf("%-16s cannot run here: %s\n", k->name, why);
            continue;
        }
        test_definitions(k, dims, ndims);
        ks[ran++] = k; /* those that run, for the ground truth */
    }
    if (ran)
        test_ground_truth(ks, ran, dims, ndims);
    free(ks);
    if (ran == 0 && check_failures == 0) {
        printf("test_metal: SKIPPED: no Metal kernel can run on this machine (reasons above)\n");
        return SKIP;
    }
    return CHECK_DONE("test_metal");
}
