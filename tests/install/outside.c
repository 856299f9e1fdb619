/*
 * outside.c - a program that knows lnbench only through its installed
 * package: <lnbench/lnbench_kernel.h> and the kernels library, found with
 * pkg-config or with find_package(lnbench).  It selects the kernels that
 * can compute a binary32 LayerNorm through the registry, runs each one on
 * a few rows (in its device's memory, through the device's ops: OpenCL
 * kernels take device buffers) and checks the output against the formula
 * in double.  It
 * also checks that the installed registry has no peer kernel (oneDNN stays
 * out of the installed library).  Exit 0 pass, 1 fail.
 */
#include <lnbench/lnbench_kernel.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ROWS 4
#define DIM 67 /* not a multiple of any vector width: tails run too */

int main(void)
{
    static float x[ROWS * DIM], y[ROWS * DIM], gamma[DIM], beta[DIM];
    for (int i = 0; i < ROWS * DIM; i++)
        x[i] = (float)((i * 7919) % 101) / 17.0f - 3.0f + (float)(i / DIM) * 100.0f;
    for (int j = 0; j < DIM; j++) {
        gamma[j] = 1.0f + (float)j / 64.0f;
        beta[j] = (float)j / 128.0f - 0.25f;
    }
    ln_desc d = {.op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32, .cast = LN_CAST_SINGLE,
                 .rows = ROWS, .dim = DIM, .x_stride = DIM, .y_stride = DIM, .eps = 1e-5f,
                 .tensors = LN_TENSOR_GAMMA | LN_TENSOR_BETA, .store = LN_STORE_AUTO};

    const ln_kernel **sel = calloc(ln_kernel_count + 1, sizeof *sel);
    size_t n = 0;
    char err[256];
    if (!sel || ln_kernel_select(NULL, 0, &d, sel, &n, err, sizeof err) != 0 || n == 0) {
        fprintf(stderr, "outside: no kernel selected: %s\n", n ? err : "none can run");
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < ln_kernel_count; i++)
        if (ln_kernels[i]->caps.flags & LN_CAP_PEER) {
            fprintf(stderr, "outside: peer kernel %s in the installed registry\n",
                    ln_kernels[i]->name);
            failed = 1;
        }
    for (size_t k = 0; k < n; k++) {
        const char *why = NULL;
        for (int i = 0; i < ROWS * DIM; i++)
            y[i] = NAN;
        /* The tensors go to the kernel's device and y comes back. */
        const ln_device_ops *dev = ln_device_get(sel[k]->caps.device);
        void *dx = dev->alloc(sizeof x), *dy = dev->alloc(sizeof y);
        void *dg = dev->alloc(sizeof gamma), *db = dev->alloc(sizeof beta);
        int rc = !dx || !dy || !dg || !db || dev->set(dx, x, sizeof x) ||
                 dev->set(dy, y, sizeof y) || dev->set(dg, gamma, sizeof gamma) ||
                 dev->set(db, beta, sizeof beta);
        if (!rc) {
            ln_tensors t = {.x = dx, .y = dy, .gamma = dg, .beta = db};
            rc = ln_kernel_run(sel[k], &d, &t, &why) != 0 || dev->get(y, dy, sizeof y) ||
                 dev->synchronize();
        }
        void *bufs[] = {dx, dy, dg, db};
        for (int b = 0; b < 4; b++)
            if (bufs[b])
                dev->free(bufs[b]);
        if (rc) {
            fprintf(stderr, "outside: %s failed: %s\n", sel[k]->name, why ? why : "device");
            failed = 1;
            continue;
        }
        double worst = 0;
        for (int r = 0; r < ROWS; r++) {
            const float *xr = x + r * DIM;
            double mean = 0, var = 0;
            for (int j = 0; j < DIM; j++)
                mean += xr[j];
            mean /= DIM;
            for (int j = 0; j < DIM; j++)
                var += (xr[j] - mean) * (xr[j] - mean);
            double rstd = 1.0 / sqrt(var / DIM + 1e-5f);
            for (int j = 0; j < DIM; j++) {
                double want = (xr[j] - mean) * rstd * gamma[j] + beta[j];
                double e = fabs(y[r * DIM + j] - want);
                worst = e > worst || e != e ? (e != e ? INFINITY : e) : worst;
            }
        }
        /* The outputs are O(1); the worst float kernel here (textbook
         * one-pass on rows offset by 300) stays near 1e-3. */
        int ok = worst < 2e-2;
        printf("outside: %-20s max |y - exact| = %.3g %s\n", sel[k]->name, worst,
               ok ? "ok" : "FAIL");
        failed |= !ok;
    }
    printf("outside: %zu kernels in the installed registry, %zu ran\n", ln_kernel_count, n);
    free(sel);
    return failed;
}
