/*
 * stream_copy.h - the streaming reference of the speed harness: read x,
 * write y with the widest non-temporal stores this CPU has.
 *
 * glibc's memcpy is not the memory roofline on every machine (on a Zen 4
 * host a plain loop of AVX-512 non-temporal stores moves 1.56x more with
 * one thread), so every speed run measures this loop beside memcpy and the
 * roofline is the faster of the two.  One body (stream_copy_body.h) is
 * compiled once per ISA with that ISA's flags, like the kernels, and the
 * widest one ln_isa_unavailable() allows (so LNBENCH_DISABLE_ISA masks it)
 * is chosen at run time:
 *
 *   x86-64   AVX-512 _mm512_stream_ps, else AVX2 _mm256_stream_ps, else
 *            SSE2 _mm_stream_ps (baseline x86-64, never masked); sfence at
 *            the end.
 *   AArch64  a plain ld1/st1 (vld1q/vst1q) loop: STNP, the only
 *            non-temporal store, has no C intrinsic, and ordinary stores
 *            of whole lines are what AArch64 cores stream well anyway.
 *   else     a plain C loop.
 */
#ifndef LNBENCH_STREAM_COPY_H
#define LNBENCH_STREAM_COPY_H

#include <stddef.h>

typedef struct lnb_stream_copy {
    const char *name; /* "avx512", "avx2", "sse2", "neon", "c" */
    const char *how;  /* one line, for the run's context */
    /* y[0..n) = x[0..n); buffers must not overlap. */
    void (*copy)(float *y, const float *x, size_t n);
} lnb_stream_copy;

/* The widest variant this host may run (never NULL). */
const lnb_stream_copy *lnb_stream_copy_select(void);

#endif
