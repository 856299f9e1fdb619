/*
 * registry.c - the one list of kernels.  Everything iterates this table.
 *
 * Adding a kernel: one file in kernels/ and one line here (plus its source
 * in kernels/CMakeLists.txt).  Kernels that need an ISA or a library the
 * build may lack are guarded by the macros kernels/CMakeLists.txt defines.
 */
#include "lnbench_kernel.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const ln_kernel ln_kernel_naive_two_pass;
extern const ln_kernel ln_kernel_welford;
extern const ln_kernel ln_kernel_textbook_one_pass;
extern const ln_kernel ln_kernel_two_pass_f64;
#ifdef LNBENCH_HAVE_ONEDNN
extern const ln_kernel ln_kernel_onednn; /* the peer */
#endif
#ifdef LNBENCH_HAVE_X86_SIMD
extern const ln_kernel ln_kernel_avx2;
extern const ln_kernel ln_kernel_avx2_accurate;
extern const ln_kernel ln_kernel_avx512;
extern const ln_kernel ln_kernel_avx512_accurate;
#endif
#ifdef LNBENCH_HAVE_NEON
extern const ln_kernel ln_kernel_neon;
extern const ln_kernel ln_kernel_neon_accurate;
#endif

const ln_kernel *const ln_kernels[] = {
    &ln_kernel_naive_two_pass,
    &ln_kernel_welford,
    &ln_kernel_textbook_one_pass,
    &ln_kernel_two_pass_f64,
#ifdef LNBENCH_HAVE_ONEDNN
    &ln_kernel_onednn,
#endif
#ifdef LNBENCH_HAVE_X86_SIMD
    &ln_kernel_avx2,
    &ln_kernel_avx2_accurate,
    &ln_kernel_avx512,
    &ln_kernel_avx512_accurate,
#endif
#ifdef LNBENCH_HAVE_NEON
    &ln_kernel_neon,
    &ln_kernel_neon_accurate,
#endif
};

const size_t ln_kernel_count = sizeof ln_kernels / sizeof ln_kernels[0];

const ln_kernel *ln_kernel_find(const char *name)
{
    for (size_t i = 0; i < ln_kernel_count; i++)
        if (strcmp(ln_kernels[i]->name, name) == 0)
            return ln_kernels[i];
    return NULL;
}

int ln_kernel_run(const ln_kernel *k, const ln_args *args, const char **why)
{
    void *state = NULL;
    const char *reason = NULL;
    if (k->unavailable && (reason = k->unavailable()) != NULL) {
        if (why)
            *why = reason;
        return -1;
    }
    if (k->prepare && k->prepare(args, &state, &reason) != 0) {
        if (why)
            *why = reason ? reason : "prepare failed";
        return -1;
    }
    int rc = k->forward(args, state);
    if (k->release)
        k->release(state);
    if (rc != 0 && why)
        *why = "forward failed";
    return rc;
}

double ln_kernel_ulp_bound(const ln_kernel *k, const char *dist)
{
    for (const ln_ulp_bound *b = k->bounds; b && b->dist; b++)
        if (strcmp(b->dist, dist) == 0 || strcmp(b->dist, "*") == 0)
            return b->max_ulp;
    return INFINITY;
}

int ln_kernel_select(char *const *names, size_t n, const ln_kernel **out, size_t *count,
                     char *err, size_t errlen)
{
    *count = 0;
    if (n == 0) {
        for (size_t i = 0; i < ln_kernel_count; i++)
            if (!ln_kernels[i]->unavailable || !ln_kernels[i]->unavailable())
                out[(*count)++] = ln_kernels[i];
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const ln_kernel *k = ln_kernel_find(names[i]);
        const char *why;
        if (!k) {
            snprintf(err, errlen, "unknown kernel '%.64s' (see lnbench list)", names[i]);
            return -1;
        }
        if (k->unavailable && (why = k->unavailable()) != NULL) {
            snprintf(err, errlen, "kernel '%s' cannot run here: %s", k->name, why);
            return -1;
        }
        int dup = 0;
        for (size_t j = 0; j < *count; j++)
            dup |= out[j] == k;
        if (!dup)
            out[(*count)++] = k;
    }
    return 0;
}
