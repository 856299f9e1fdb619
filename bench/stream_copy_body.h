/*
 * stream_copy_body.h - the one stream-copy loop (see stream_copy.h),
 * included by a stream_copy_<isa>.c file after it defines:
 *
 *   SC_FN            the function's name
 *   SC_VEC           the vector type, SC_LANES floats wide
 *   SC_LOAD(p)       unaligned load
 *   SC_STORE(p, v)   store to p aligned to a vector (non-temporal where the
 *                    ISA has it)
 *   SC_FENCE()       orders the non-temporal stores (may be empty)
 */
#include <stdint.h>

void SC_FN(float *y, const float *x, size_t n);

void SC_FN(float *y, const float *x, size_t n)
{
    size_t j = 0;
    /* Peel up to y's next 64-byte boundary (as the kernels do), so every
     * vector store is aligned and the streaming stores fill whole lines. */
    size_t mis = ((uintptr_t)y / sizeof(float)) & 15;
    size_t end = mis == 0 ? 0 : 16 - mis < n ? 16 - mis : n;
    for (; j < end; j++)
        y[j] = x[j];
    /* Four vectors per iteration: the loads are issued before the stores,
     * so the core keeps several lines of x in flight.  No software
     * prefetch: the hardware prefetcher follows one linear stream, and
     * prefetchnta of every line 2 KiB ahead measured 0.5-0.7x as fast at
     * 32768 x 4096 (Xeon, AVX-512). */
    for (; j + 4 * SC_LANES <= n; j += 4 * SC_LANES) {
        SC_VEC v0 = SC_LOAD(x + j);
        SC_VEC v1 = SC_LOAD(x + j + SC_LANES);
        SC_VEC v2 = SC_LOAD(x + j + 2 * SC_LANES);
        SC_VEC v3 = SC_LOAD(x + j + 3 * SC_LANES);
        SC_STORE(y + j, v0);
        SC_STORE(y + j + SC_LANES, v1);
        SC_STORE(y + j + 2 * SC_LANES, v2);
        SC_STORE(y + j + 3 * SC_LANES, v3);
    }
    for (; j + SC_LANES <= n; j += SC_LANES)
        SC_STORE(y + j, SC_LOAD(x + j));
    for (; j < n; j++)
        y[j] = x[j];
    SC_FENCE();
}
