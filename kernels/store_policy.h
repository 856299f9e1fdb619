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
 * cache to x.  Half the LLC with two or more threads, three eighths with
 * one: one core's stream kept far less of the LLC than two cores' did.  On a
 * 32 MiB Zen 4 LLC (AMD EPYC VM, avx512, binary32, GB/s cached vs
 * streamed):
 *   1 thread:  4096 x 256 (8 MiB) 40-42 vs 36-38; at 12 MiB long rows
 *              lost (4096 x 384: 27-29 vs 37) and short ones won
 *              (768 x 2048: 34-46 vs 32-36);
 *              4096 x 512 and 768 x 2688 (16 MiB) 15-29 vs 34-39, below
 *              the shapes' own DRAM speed (22-26);
 *   2 threads: 8 to 16 MiB 65-87 (4096 x 512 once 39) vs 42-70;
 *              24 MiB 39-50 vs 47-70; 32 MiB 26 vs 46-70.
 * Streaming where caching would have won cost at most ~15 %, the reverse
 * up to half.  The caller that runs several calls side by side (threads
 * on one LLC) knows the whole working set and passes an explicit hint;
 * the speed harness does (bench/speed_harness.c).  A kernel's own
 * LN_STORE_AUTO sees one call, on one thread. */
static inline int ln_streaming_pays(size_t working_set_bytes, unsigned threads, size_t llc_bytes)
{
    return working_set_bytes > (threads > 1 ? llc_bytes / 2 : llc_bytes / 8 * 3);
}

#endif
