/*
 * metal_unavailable.c - the Metal kernels in a build without Metal.
 *
 * They are listed with their capabilities like on a Mac, and say why they
 * cannot run; metal_host.m replaces this file on Apple platforms.
 */
#include "metal_kernels.h"

static const char *metal_unavailable(void)
{
#ifdef __APPLE__
    return "built without Metal: Metal.framework not found";
#else
    return "built without Metal: not an Apple platform";
#endif
}

/* Never reached through the ABI (ln_kernel_run asks unavailable first);
 * a caller that skips the question gets a failure, not a crash. */
static int metal_forward(const ln_desc *d, const ln_tensors *t, void *state)
{
    (void)d;
    (void)t;
    (void)state;
    return -1;
}

#define LN_METAL_UNAVAILABLE(kname, variant, desc, promises) \
    const ln_kernel ln_kernel_##kname = {                    \
        .name = #kname,                                      \
        .family = "metal",                                   \
        .description = desc,                                 \
        .caps = LN_METAL_CAPS(promises),                     \
        .unavailable = metal_unavailable,                    \
        .forward = metal_forward,                            \
    };
LN_METAL_KERNEL_TABLE(LN_METAL_UNAVAILABLE)
