/*
 * perf_counters.h - cycles and instructions of the calling thread through
 * perf_event_open(2).
 *
 * Debian's Google Benchmark is built without libpfm, so its
 * --benchmark_perf_counters cannot help; the kernel interface is simple
 * enough to use directly.  User-space counts only (exclude_kernel), which
 * perf_event_paranoid <= 2 allows to unprivileged users.  Where the syscall
 * is missing or refused (containers, VMs without a PMU, non-Linux) open
 * fails with a reason and callers carry on without the counters.
 * LNBENCH_NO_PERF=1 in the environment forces that failure.
 */
#ifndef LNBENCH_PERF_COUNTERS_H
#define LNBENCH_PERF_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lnb_perf {
    int fd_cycles;       /* group leader */
    int fd_instructions; /* group member */
} lnb_perf;

/* Open (disabled) counters for the calling thread.  0, or -1 with a reason. */
int lnb_perf_open(lnb_perf *p, char *err, size_t errlen);
/* Reset and enable. */
void lnb_perf_start(lnb_perf *p);
/* Disable and read; counts scaled up if the kernel multiplexed them.
 * 0, or -1 when the read failed. */
int lnb_perf_stop(lnb_perf *p, uint64_t *cycles, uint64_t *instructions);
void lnb_perf_close(lnb_perf *p);

#endif
