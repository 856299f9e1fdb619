/*
 * test_onednn.c - the oneDNN peer behind the kernel ABI.
 *
 *  - threads matched fairly: running it must not start an OpenMP team (the
 *    process stays at one thread on Linux), so at t benchmark threads it
 *    uses t cores;
 *  - x and y with different row strides (the per-row path) give the same
 *    bits as equal strides;
 *  - mean/rstd outputs (forward_training) agree with a double computation;
 *  - gamma/beta NULL work; a shape mismatch between prepare and forward is
 *    refused rather than read out of bounds;
 *  - bf16 (where this CPU's oneDNN has it) within one bf16 ulp of the f32
 *    primitive on the same values; RMSNorm, the add_ operations and f16
 *    (unless this oneDNN has it) refused with a one-line reason.
 * Skipped (passes) when the build has no oneDNN.
 */
#define _DEFAULT_SOURCE /* kernel_call.h: mmap's MAP_ANONYMOUS */
#include "check.h"
#include "inputs.h"
#include "kernel_call.h"
#include "lnbench_kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Threads of this process (Linux), or -1 when unknown. */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

int main(void)
{
    const ln_kernel *k = ln_kernel_find("onednn");
    if (!k) {
        printf("test_onednn: skipped (built without oneDNN)\n");
        return 0;
    }
    CHECK(!strcmp(k->family, "peer"), "family %s", k->family);
    CHECK(k->caps.flags & LN_CAP_PEER, "onednn does not declare LN_CAP_PEER");
    CHECK(k->prepare && k->release, "onednn has no prepare/release");
    const char *why = ln_kernel_unavailable(k);
    if (why) {
        printf("test_onednn: skipped (%s)\n", why);
        return 0;
    }

    enum { ROWS = 37, DIM = 768, PAD = 5 };
    const ln_dist *normal = ln_dist_find("normal");
    float *x = malloc(ROWS * DIM * sizeof *x), *y1 = malloc(ROWS * DIM * sizeof *y1);
    float *xs = malloc(ROWS * (DIM + PAD) * sizeof *xs);
    float *y2 = malloc(ROWS * (DIM + 2 * PAD) * sizeof *y2);
    float *gamma = malloc(DIM * sizeof *gamma), *beta = malloc(DIM * sizeof *beta);
    float mean[ROWS], rstd[ROWS];
    if (!normal || !x || !y1 || !xs || !y2 || !gamma || !beta) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    ln_generate(normal, 3, ROWS, DIM, x, DIM);
    ln_generate_affine(3, DIM, gamma, beta);
    for (size_t i = 0; i < ROWS; i++)
        memcpy(xs + i * (DIM + PAD), x + i * DIM, DIM * sizeof *x);

    int before = thread_count();
    test_call a = {.rows = ROWS, .dim = DIM, .x = x, .x_stride = DIM, .y = y1, .y_stride = DIM,
                 .gamma = gamma, .beta = beta, .eps = 1e-5f};
    CHECK(test_call_run(k, &a, &why) == 0, "run: %s", why ? why : "?");
    int after = thread_count();
    if (before > 0)
        CHECK(after == before, "%d threads before the call, %d after: an OpenMP team started",
              before, after);

    /* Different strides: same bits. */
    test_call b = a;
    b.x = xs;
    b.x_stride = DIM + PAD;
    b.y = y2;
    b.y_stride = DIM + 2 * PAD;
    b.mean = mean;
    b.rstd = rstd;
    CHECK(test_call_run(k, &b, &why) == 0, "strided run: %s", why ? why : "?");
    int same = 1;
    for (size_t i = 0; i < ROWS; i++)
        same &= !memcmp(y1 + i * DIM, y2 + i * (DIM + 2 * PAD), DIM * sizeof *y1);
    CHECK(same, "strided rows differ from contiguous ones");

    /* Statistics against double. */
    for (size_t i = 0; i < ROWS; i++) {
        double m = 0, v = 0;
        for (size_t j = 0; j < DIM; j++)
            m += x[i * DIM + j];
        m /= DIM;
        for (size_t j = 0; j < DIM; j++)
            v += (x[i * DIM + j] - m) * (x[i * DIM + j] - m);
        v /= DIM;
        CHECK(fabs(mean[i] - m) <= 1e-5, "row %zu: mean %.9g, double %.9g", i, mean[i], m);
        CHECK(fabs(rstd[i] - 1 / sqrt(v + 1e-5)) <= 1e-5 / sqrt(v + 1e-5),
              "row %zu: rstd %.9g, double %.9g", i, rstd[i], 1 / sqrt(v + 1e-5));
    }

    /* No affine: y is xhat. */
    test_call c = a;
    c.gamma = c.beta = NULL;
    c.mean = mean;
    c.rstd = rstd;
    CHECK(test_call_run(k, &c, &why) == 0, "run without gamma/beta: %s", why ? why : "?");
    double worst = 0;
    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < DIM; j++) {
            double e = fabs(((double)x[i * DIM + j] - mean[i]) * rstd[i] - y1[i * DIM + j]);
            if (e > worst) /* not fmax: GCC 12's aarch64 vectoriser crashes on it */
                worst = e;
        }
    CHECK(worst < 1e-4, "without gamma/beta: |y - xhat| up to %g", worst);

    /* bf16 where this CPU has it: the bf16 primitive on bf16 inputs is
     * within one bf16 ulp (plus the f32 kernel's own error) of the f32
     * primitive on the same values; statistics the same within float
     * rounding.  Where it does not, and for f16, RMSNorm and the add_
     * operations: refused with a one-line reason naming oneDNN. */
    ln_desc dbf = test_call_desc(&a);
    dbf.dtype = LN_DTYPE_BF16;
    why = NULL;
    if (ln_kernel_supports(k, &dbf, &why) == 0) {
        float *xb = malloc(ROWS * DIM * sizeof *xb), *yb = malloc(ROWS * DIM * sizeof *yb);
        float *yf = malloc(ROWS * DIM * sizeof *yf), *gb = malloc(DIM * sizeof *gb);
        float *bb = malloc(DIM * sizeof *bb), mb[ROWS], rb[ROWS];
        if (!xb || !yb || !yf || !gb || !bb) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < ROWS * DIM; i++)
            xb[i] = ln_dtype_round(LN_DTYPE_BF16, x[i]);
        for (size_t j = 0; j < DIM; j++) {
            gb[j] = ln_dtype_round(LN_DTYPE_BF16, gamma[j]);
            bb[j] = ln_dtype_round(LN_DTYPE_BF16, beta[j]);
        }
        test_call f = a;
        f.x = xb;
        f.y = yf;
        f.gamma = gb;
        f.beta = bb;
        test_call bf = f;
        bf.dtype = LN_DTYPE_BF16;
        bf.y = yb;
        bf.mean = mb;
        bf.rstd = rb;
        CHECK(test_call_run(k, &f, &why) == 0, "f32 run on bf16 values: %s", why ? why : "?");
        CHECK(test_call_run(k, &bf, &why) == 0, "bf16 run: %s", why ? why : "?");
        size_t off = 0;
        for (size_t i = 0; i < ROWS * DIM; i++) {
            /* one bf16 ulp of |y| (2^-7 relative at worst) + 1e-5 */
            double tol = fabs(yf[i]) * 0x1p-7 + 1e-5;
            off += !(fabs((double)yb[i] - yf[i]) <= tol);
        }
        CHECK(off == 0, "bf16: %zu of %d outputs beyond one bf16 ulp of the f32 primitive", off,
              ROWS * DIM);
        for (size_t i = 0; i < ROWS; i++)
            CHECK(isfinite(mb[i]) && fabs(rb[i] / rb[0]) > 0.1,
                  "bf16 row %zu: mean %g rstd %g", i, mb[i], rb[i]);
        free(xb);
        free(yb);
        free(yf);
        free(gb);
        free(bb);
        printf("test_onednn: bf16 layer normalization checked\n");
    } else {
        CHECK(why && strstr(why, "oneDNN") && !strchr(why, '\n'), "bf16 refused: \"%s\"",
              why ? why : "(null)");
        printf("test_onednn: bf16 not here: %s\n", why);
    }
    static const struct {
        ln_op op;
        ln_dtype dt;
    } refused[] = {{LN_OP_RMSNORM, LN_DTYPE_F32}, {LN_OP_ADD_LAYERNORM, LN_DTYPE_F32},
                   {LN_OP_ADD_RMSNORM, LN_DTYPE_BF16}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ln_desc dr = test_call_desc(&c);
        dr.op = refused[i].op;
        dr.dtype = refused[i].dt;
        dr.tensors = LN_TENSOR_GAMMA;
        why = NULL;
        CHECK(ln_kernel_supports(k, &dr, &why) == -1 && why && strstr(why, "oneDNN") &&
                  !strchr(why, '\n'),
              "%s %s: \"%s\"", ln_op_name(dr.op), ln_dtype_name(dr.dtype),
              why ? why : "(null)");
    }
    ln_desc df16 = test_call_desc(&a);
    df16.dtype = LN_DTYPE_F16;
    why = NULL;
    if (ln_kernel_supports(k, &df16, &why) != 0)
        CHECK(why && strstr(why, "f16") && strstr(why, "oneDNN"), "f16 refused: \"%s\"",
              why ? why : "(null)");

    /* forward with a shape other than prepare's is refused. */
    void *state = NULL;
    ln_desc da = test_call_desc(&a);
    ln_tensors ta = test_call_tensors(&a);
    CHECK(k->prepare(&da, &state, &why) == 0, "prepare: %s", why ? why : "?");
    ln_desc dd = da;
    dd.rows = ROWS + 1;
    CHECK(k->forward(&dd, &ta, state) != 0, "forward accepted %d rows, prepared for %d",
          ROWS + 1, ROWS);
    CHECK(k->forward(&da, &ta, state) == 0, "forward with the prepared shape failed");
    k->release(state);

    free(x);
    free(y1);
    free(xs);
    free(y2);
    free(gamma);
    free(beta);
    return CHECK_DONE("test_onednn");
}
