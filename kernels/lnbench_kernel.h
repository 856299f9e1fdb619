/*
 * lnbench_kernel.h - the one ABI every LayerNorm implementation follows.
 *
 * A kernel normalises `rows` rows of `dim` binary32 values:
 *
 *     y = (x - mean) / sqrt(var + eps) * gamma + beta
 *
 * with mean and var the mean and biased variance of the row, eps a binary32
 * value, gamma and beta per-column vectors of length dim, each of which may be
 * NULL (MLX's affine=False / bias=False: treated as 1 and 0).
 *
 * Adding a kernel: write kernels/<name>.c defining one `const ln_kernel
 * ln_kernel_<name>` and add one line to kernels/registry.c.  The CLI, the
 * accuracy tool, the speed harness and the tests all iterate that registry.
 *
 * Rules every kernel keeps (the tests check them):
 *  - any dim >= 1, any row stride >= dim, rows need no particular alignment;
 *  - no read or write outside the rows (nor past gamma[dim-1], beta[dim-1]);
 *  - a constant row gives exactly beta (0 when beta is NULL) on every column
 *    (all but the float scalar kernels naive_two_pass, welford and
 *    textbook_one_pass, whose float mean of a constant row can miss x by an
 *    ulp: that failure is part of what they demonstrate);
 *  - NaN or +-Inf anywhere in a row makes every output of that row NaN
 *    (and its mean and rstd, when asked for, NaN too);
 *  - kernels never print, never allocate per call in the hot path unless
 *    documented, and are safe to call from several threads on disjoint rows.
 */
#ifndef LNBENCH_KERNEL_H
#define LNBENCH_KERNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the caller wants done with the stores of y. */
typedef enum ln_store_hint {
    LN_STORE_AUTO = 0,     /* kernel decides from the output size and the LLC */
    LN_STORE_CACHED = 1,   /* ordinary stores */
    LN_STORE_STREAMING = 2 /* non-temporal stores where the kernel has them */
} ln_store_hint;

/* One call's arguments.  Strides count floats between row starts. */
typedef struct ln_args {
    size_t rows, dim;
    const float *x;
    size_t x_stride;
    float *y;
    size_t y_stride;
    const float *gamma; /* length dim, or NULL for 1 */
    const float *beta;  /* length dim, or NULL for 0 */
    float eps;
    float *mean;        /* length rows, or NULL: per-row mean out */
    float *rstd;        /* length rows, or NULL: per-row 1/sqrt(var+eps) out */
    ln_store_hint store;
} ln_args;

/* One promise of accuracy: the largest ulp error the kernel is documented
 * (and tested) to stay within on `dist` with the default gamma/beta, for
 * dims up to 12288.  dist "*" matches every distribution not listed before
 * it; INFINITY means no promise (NaN or garbage is possible).  A kernel's
 * table ends with {NULL, 0}. */
typedef struct ln_ulp_bound {
    const char *dist;
    double max_ulp;
} ln_ulp_bound;

typedef struct ln_kernel {
    const char *name;        /* stable, used on the command line and in results */
    const char *family;      /* "scalar", "avx2", "avx512", "neon", "peer", ... */
    const char *description; /* one line */
    /* NULL when this host can run the kernel, otherwise a static one-line
     * reason ("CPU lacks AVX-512F", "masked by LNBENCH_DISABLE_ISA", ...). */
    const char *(*unavailable)(void);
    /* Optional (NULL for plain kernels): build per-shape state outside any
     * timed loop, e.g. a oneDNN primitive.  The shape is args' rows, dim,
     * strides and which of gamma/beta/mean/rstd are non-NULL.  Returns 0 on
     * success; on failure, a static reason in *why. */
    int (*prepare)(const ln_args *shape, void **state, const char **why);
    void (*release)(void *state);
    /* Normalise.  state is what prepare made (NULL without prepare).
     * Returns 0 on success, non-zero only for a peer library's failure. */
    int (*forward)(const ln_args *args, void *state);
    /* Documented accuracy (see ln_ulp_bound), or NULL for none. */
    const ln_ulp_bound *bounds;
} ln_kernel;

/* The registry (kernels/registry.c): every kernel, in a stable order. */
extern const ln_kernel *const ln_kernels[];
extern const size_t ln_kernel_count;

/* The kernel named `name`, or NULL. */
const ln_kernel *ln_kernel_find(const char *name);

/* Resolve a --kernels list.  With names (n > 0): each must be in the
 * registry and able to run here; repeats are dropped.  Without (n == 0):
 * every kernel this host can run, in registry order.  out must have room
 * for ln_kernel_count entries.  Returns 0, or -1 with a one-line reason in
 * err ("unknown kernel 'x' (see lnbench list)", "kernel 'avx512' cannot run
 * here: ..."). */
int ln_kernel_select(char *const *names, size_t n, const ln_kernel **out, size_t *count,
                     char *err, size_t errlen);

/* The documented max-ulp bound of kernel k on distribution `dist`
 * (INFINITY when none is stated). */
double ln_kernel_ulp_bound(const ln_kernel *k, const char *dist);

/* Convenience: prepare (if any), forward, release.  For callers outside
 * timed loops (accuracy, tests).  Returns 0 on success; *why on failure. */
int ln_kernel_run(const ln_kernel *k, const ln_args *args, const char **why);

#ifdef __cplusplus
}
#endif

#endif /* LNBENCH_KERNEL_H */
