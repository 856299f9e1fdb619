/*
 * store_policy.h - when a kernel's stores of y should be non-temporal,
 * written once for the kernels' LN_STORE_AUTO and for the speed harness,
 * which chooses the hint from a whole benchmark's working set.
 */
#ifndef LNBENCH_STORE_POLICY_H
#define LNBENCH_STORE_POLICY_H

#include <stddef.h>

/* Non-temporal stores pay off when the working set (x and y, and for the
 * add_ operations the residual and h) cannot stay in the last-level cache:
 * a cached store that misses reads the line before writing it (12 instead
 * of 8 bytes of traffic per binary32 element), while streamed y leaves the
 * cache to x.  Half the LLC, not all of it: a working set the size of the
 * LLC already misses (other data, the ways a linear stream conflicts in);
 * on a 32 MiB Zen 4 LLC, 1024 x 4096 (x + y = 32 MiB) ran cached at 0.8
 * of its own DRAM speed.  Below half, cached stores won or tied on that
 * LLC (binary32, avx512: 384 x 4096 and 2688 x 768 (12 and 15.75 MiB),
 * 2048 x 768, 1024 x 768, 256 x 4096), except right at half with long
 * rows (512 x 4096, 16 MiB: streamed 39.5 GB/s, cached 32-35).  The caller that runs several calls side by side
 * (threads on one LLC) knows the whole working set and passes an explicit
 * hint; the speed harness does (bench/speed_harness.c). */
static inline int ln_streaming_pays(size_t working_set_bytes, size_t llc_bytes)
{
    return working_set_bytes > llc_bytes / 2;
}

#endif
