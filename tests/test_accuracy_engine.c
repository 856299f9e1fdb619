/*
 * test_accuracy_engine.c - the accuracy engine (reference/accuracy.c) on
 * every operation, dtype and cast, through a kernel defined here: a plain
 * double-precision evaluation of each definition, rounded once into the
 * dtype (the test's own rounding, not dtype_convert.h's), reading and
 * writing the dtype's bytes.
 *
 * No kernel in kernels/ need compute the new operations for this to hold:
 *  - the double kernel is within 1 ulp in the output format and correctly
 *    rounded on >= 99.9 % of the elements, h always RN(x + residual), on
 *    every op x dtype x cast, on the bug distributions and odd dims;
 *  - the engine sees what is wrong: h off by an ulp (h mismatches), a
 *    truncating final rounding (faithful but not correctly rounded), x
 *    read as binary32 whatever the dtype (garbage);
 *  - shapes that mean nothing are refused (a distribution the dtype does
 *    not hold, given values off the dtype's grid, llama with LayerNorm).
 */
#include "accuracy.h"
#include "check.h"
#include "inputs.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The formats: precision and normal exponent range. */
static const int P[3] = {24, 8, 11}, EMIN[3] = {-126, -126, -14}, EMAX[3] = {127, 127, 15};

/* d rounded to nearest even onto dt's grid (subnormals, overflow to
 * infinity): scale to an integer grid, nearbyint (ties to even in the
 * default rounding mode), scale back; every step exact in double. */
static double round_dt(double d, ln_dtype dt)
{
    if (d == 0 || !isfinite(d))
        return d;
    int e = ilogb(d), q = (e > EMIN[dt] ? e : EMIN[dt]) - P[dt] + 1;
    double r = ldexp(nearbyint(ldexp(d, -q)), q);
    double max = ldexp(2.0 - ldexp(1.0, 1 - P[dt]), EMAX[dt]);
    return fabs(r) > max ? copysign(INFINITY, r) : r;
}

/* ... towards zero instead (the "broken" kernel's rounding). */
static double trunc_dt(double d, ln_dtype dt)
{
    if (d == 0 || !isfinite(d))
        return d;
    int e = ilogb(d), q = (e > EMIN[dt] ? e : EMIN[dt]) - P[dt] + 1;
    return ldexp(trunc(ldexp(d, -q)), q);
}

/* The dtype's bytes <-> double, by the bit layouts (binary32's top half
 * for bfloat16; binary16 decoded by hand). */
static double load(ln_dtype dt, const void *p, size_t i)
{
    if (dt == LN_DTYPE_F32)
        return ((const float *)p)[i];
    uint16_t h = ((const uint16_t *)p)[i];
    if (dt == LN_DTYPE_BF16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 31 ? (m ? NAN : INFINITY) : e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return (h & 0x8000) ? -v : v;
}

static void store(ln_dtype dt, void *p, size_t i, double v)
{
    v = round_dt(v, dt); /* exact from here on */
    if (dt == LN_DTYPE_F32) {
        ((float *)p)[i] = (float)v;
        return;
    }
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    if (dt == LN_DTYPE_BF16) {
        ((uint16_t *)p)[i] = isnan(v) ? 0x7fc0 : (uint16_t)(u >> 16);
        return;
    }
    uint16_t s = (uint16_t)((u >> 16) & 0x8000), h;
    double a = fabs(v);
    if (isnan(v))
        h = 0x7e00;
    else if (isinf(v))
        h = 0x7c00;
    else if (a < 0x1p-14)
        h = (uint16_t)ldexp(a, 24); /* subnormal: m 2^-24 */
    else {
        int e = ilogb(a);
        h = (uint16_t)(((e + 15) << 10) | ((int)ldexp(a, 10 - e) - 1024));
    }
    ((uint16_t *)p)[i] = (uint16_t)(s | h);
}

/* How the kernel misbehaves, if at all. */
enum { GOOD, BAD_H, TRUNCATE, READ_F32 };
static int mode;

static int dbl_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    (void)state;
    ln_dtype dt = d->dtype;
    size_t n = d->dim;
    double *h = malloc(n * sizeof *h);
    if (!h)
        return 1;
    for (size_t r = 0; r < d->rows; r++) {
        for (size_t i = 0; i < n; i++) {
            size_t o = r * d->x_stride + i;
            h[i] = mode == READ_F32 ? ((const float *)t->x)[o / 2] : load(dt, t->x, o);
            if (ln_op_has_residual(d->op)) {
                /* x + residual: exact in double for these inputs (their
                 * exponents are close), then rounded once */
                h[i] = round_dt(h[i] + load(dt, t->residual, o), dt);
                store(dt, t->h, r * d->y_stride + i, mode == BAD_H ? h[i] * (1 + 0x1p-6) : h[i]);
            }
        }
        double mean = 0, var = 0;
        if (!ln_op_is_rms(d->op)) {
            for (size_t i = 0; i < n; i++)
                mean += h[i];
            mean /= (double)n;
        }
        for (size_t i = 0; i < n; i++)
            var += (h[i] - mean) * (h[i] - mean);
        double rstd = 1 / sqrt(var / (double)n + d->eps);
        for (size_t i = 0; i < n; i++) {
            double nv = (h[i] - mean) * rstd, y;
            double w = t->gamma ? load(dt, t->gamma, i) : 1.0;
            double b = t->beta ? load(dt, t->beta, i) : 0.0;
            if (d->cast == LN_CAST_LLAMA)
                y = w * round_dt(nv, dt);
            else if (d->cast == LN_CAST_GEMMA)
                y = nv * (t->gamma ? (double)(float)(1.0f + (float)w) : 1.0);
            else
                y = nv * w + b;
            if (mode == TRUNCATE)
                y = trunc_dt(y, dt);
            store(dt, t->y, r * d->y_stride + i, y);
        }
    }
    free(h);
    return 0;
}

static const ln_kernel dbl_kernel = {
    .name = "double_ref",
    .family = "test",
    .description = "test_accuracy_engine's double-precision evaluation of every definition",
    .caps = {.ops = LN_BIT(LN_OP_LAYERNORM) | LN_BIT(LN_OP_RMSNORM) |
                    LN_BIT(LN_OP_ADD_LAYERNORM) | LN_BIT(LN_OP_ADD_RMSNORM),
             .dtypes = LN_BIT(LN_DTYPE_F32) | LN_BIT(LN_DTYPE_BF16) | LN_BIT(LN_DTYPE_F16),
             .casts = LN_BIT(LN_CAST_LLAMA) | LN_BIT(LN_CAST_GEMMA),
             .device = LN_DEVICE_HOST, .isa = LN_ISA_NONE,
             .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA, .flags = LN_CAP_FAITHFUL},
    .forward = dbl_forward,
};

/* Measure the double kernel on one shape. */
static int measure(ln_op op, ln_dtype dt, ln_cast c, const char *dist, size_t rows, size_t dim,
                   int affine, int bias, ln_error_stats *st)
{
    ln_acc_shape s = {.op = op, .dtype = dt, .cast = c, .dist = ln_dist_find(dist),
                      .rows = rows, .dim = dim, .seed = 7, .eps = 1e-5f, .affine = affine,
                      .bias = bias};
    ln_acc_case cs;
    char err[256];
    size_t count = rows * dim;
    ln_acc_output out = {malloc(count * sizeof(float)), malloc(count * sizeof(float))};
    int rc = -1;
    if (ln_acc_case_make(&cs, &s, 2, err, sizeof err) != 0) {
        CHECK_FAIL("%s %s %s %s dim %zu: %s", ln_op_name(op), ln_dtype_name(dt), ln_cast_name(c),
                   dist, dim, err);
        goto out;
    }
    if (ln_acc_measure(&cs, &dbl_kernel, &out, st, err, sizeof err) != 0)
        CHECK_FAIL("measure: %s", err);
    else
        rc = 0;
    ln_acc_case_free(&cs);
out:
    free(out.y);
    free(out.h);
    return rc;
}

/* Every op x dtype x cast, on the bug distributions and odd dims: the
 * double kernel is faithful, nearly always correctly rounded, h exact. */
static void test_double_kernel(void)
{
    static const char *dists[] = {"normal", "offset40000", "fp16_big", "small_var", "const1234",
                                  "near1449", "subnormal", "scale1e9"};
    static const size_t dims[] = {1, 31, 33, 1023, 4097};
    size_t combos = 0;
    for (int op = 0; op < LN_OP_COUNT; op++)
        for (int dt = 0; dt < LN_DTYPE_COUNT; dt++)
            for (int c = 0; c < LN_CAST_COUNT; c++) {
                if (c != LN_CAST_SINGLE && !ln_op_is_rms((ln_op)op))
                    continue;
                combos++;
                for (size_t di = 0; di < sizeof dists / sizeof dists[0]; di++) {
                    if (ln_dist_refuses(ln_dist_find(dists[di]), ln_acc_format((ln_dtype)dt)))
                        continue;
                    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
                        ln_error_stats st;
                        /* beta only where the result does not cancel
                         * against it: the engine's measure is tested, not
                         * cancellation */
                        if (measure((ln_op)op, (ln_dtype)dt, (ln_cast)c, dists[di], 3, dims[k],
                                    1, 0, &st) != 0)
                            continue;
                        CHECK(st.count == 3 * dims[k] && st.nonfinite == 0 &&
                                  st.max_ulp <= 1.0 && st.frac_cr >= 0.999,
                              "%s %s %s %s dim %zu: max %.3g ulp, %.4f cr, %zu nonfinite",
                              ln_op_name((ln_op)op), ln_dtype_name((ln_dtype)dt),
                              ln_cast_name((ln_cast)c), dists[di], dims[k], st.max_ulp,
                              st.frac_cr, st.nonfinite);
                        CHECK(st.h_mismatch == 0 &&
                                  st.h_count == (ln_op_has_residual((ln_op)op) ? st.count : 0),
                              "%s %s: h %zu of %zu wrong", ln_op_name((ln_op)op),
                              ln_dtype_name((ln_dtype)dt), st.h_mismatch, st.h_count);
                    }
                }
            }
    CHECK(combos == 4 * 3 + 2 * 3 * 2, "%zu combinations", combos);
    /* LayerNorm with beta too, where an exact value can cancel: still
     * within 1 ulp of a plain double evaluation nearly everywhere. */
    ln_error_stats st;
    if (measure(LN_OP_ADD_LAYERNORM, LN_DTYPE_BF16, LN_CAST_SINGLE, "normal", 4, 768, 1, 1,
                &st) == 0)
        CHECK(st.frac_cr >= 0.999 && st.h_mismatch == 0, "bf16 add_layernorm with beta: %.4f cr",
              st.frac_cr);
}

/* The engine sees each kind of wrong. */
static void test_detects(void)
{
    ln_error_stats st;
    mode = BAD_H;
    if (measure(LN_OP_ADD_RMSNORM, LN_DTYPE_F16, LN_CAST_SINGLE, "normal", 2, 64, 1, 0, &st) == 0)
        CHECK(st.h_mismatch > 64, "h off by 2^-6 relative: %zu mismatches", st.h_mismatch);
    mode = TRUNCATE;
    if (measure(LN_OP_RMSNORM, LN_DTYPE_BF16, LN_CAST_SINGLE, "normal", 2, 4097, 1, 0, &st) == 0)
        CHECK(st.max_ulp <= 1.0 && st.max_ulp > 0.9 && st.frac_cr < 0.8 && st.frac_cr > 0.2,
              "truncation: max %.3g ulp, %.3f cr", st.max_ulp, st.frac_cr);
    mode = READ_F32;
    if (measure(LN_OP_RMSNORM, LN_DTYPE_F16, LN_CAST_SINGLE, "normal", 2, 64, 1, 0, &st) == 0)
        CHECK(!(st.normwise < 100), "x read as binary32: normwise %.3g", st.normwise);
    mode = GOOD;
}

/* Shapes that mean nothing are refused with a reason. */
static void test_refusals(void)
{
    ln_acc_case c;
    char err[256];
    ln_acc_shape s = {.op = LN_OP_RMSNORM, .dtype = LN_DTYPE_F16, .dist = ln_dist_find("huge"),
                      .rows = 1, .dim = 8, .eps = 1e-5f, .affine = 1, .bias = 1};
    CHECK(ln_acc_case_make(&c, &s, 1, err, sizeof err) == -1 && strstr(err, "huge") &&
              strstr(err, "f16"),
          "huge accepted for fp16: %s", err);
    ln_acc_case_free(&c);
    /* the RMS forms have no beta, whatever bias says */
    s.dist = ln_dist_find("normal");
    ln_desc d = ln_acc_shape_desc(&s);
    CHECK(d.tensors == LN_TENSOR_GAMMA, "rmsnorm descriptor tensors %#x", d.tensors);
    s.op = LN_OP_LAYERNORM;
    s.cast = LN_CAST_LLAMA;
    CHECK(ln_acc_case_make(&c, &s, 1, err, sizeof err) == -1 && strstr(err, "llama"),
          "llama layernorm accepted: %s", err);
    ln_acc_case_free(&c);
    /* given x off bfloat16's grid */
    float x[8] = {1, 2, 3, 1.0f + 0x1p-20f, 5, 6, 7, 8};
    ln_acc_shape g = {.op = LN_OP_RMSNORM, .dtype = LN_DTYPE_BF16, .x = x, .rows = 1, .dim = 8,
                      .eps = 1e-5f};
    CHECK(ln_acc_case_make(&c, &g, 1, err, sizeof err) == -1 && strstr(err, "x[3]"),
          "off-grid x accepted: %s", err);
    ln_acc_case_free(&c);
    /* given x for an add_ op without a residual */
    x[3] = 4;
    g.op = LN_OP_ADD_RMSNORM;
    CHECK(ln_acc_case_make(&c, &g, 1, err, sizeof err) == -1, "add_ without residual accepted");
    ln_acc_case_free(&c);
    /* generated add_ inputs: h follows the distribution (const1234 stays
     * constant through the split), and the inputs are on the grid */
    ln_acc_shape a = {.op = LN_OP_ADD_RMSNORM, .dtype = LN_DTYPE_F16,
                      .dist = ln_dist_find("const1234"), .rows = 2, .dim = 9, .eps = 1e-5f};
    if (ln_acc_case_make(&c, &a, 1, err, sizeof err) == 0) {
        for (size_t i = 0; i < 18; i++)
            CHECK(c.h[i] == 1234.0f && c.x[i] != 1234.0f && c.residual[i] != 0,
                  "const1234 split: x %g residual %g h %g", c.x[i], c.residual[i], c.h[i]);
        ln_acc_case_free(&c);
    } else {
        CHECK_FAIL("const1234 add_rmsnorm f16: %s", err);
    }
}

int main(void)
{
    test_double_kernel();
    test_detects();
    test_refusals();
    return CHECK_DONE("test_accuracy_engine");
}
