/*
 * device_host.c - the host "device": plain memory, synchronous copies.
 *
 * CPU kernels work on host memory directly; this lets callers that move
 * data to a kernel's device (the accuracy engine) treat every kernel alike.
 * Buffers are 64-byte aligned, like a cache line or a zmm register.
 */
#include "lnbench_kernel.h"

#include <stdlib.h>
#include <string.h>

static void *host_alloc(size_t bytes)
{
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static int host_set(void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
    return 0;
}

static int host_sync(void)
{
    return 0;
}

const ln_device_ops ln_device_host_ops = {
    .name = "host",
    .alloc = host_alloc,
    .free = free,
    .set = host_set,
    .get = host_set,
    .synchronize = host_sync,
};
