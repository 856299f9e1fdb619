/*
 * memcheck.h - will an allocation of this size fit, before we try it?
 *
 * A run that outgrows memory is not refused by malloc on Linux (overcommit):
 * it is killed by the OOM killer minutes later, leaving nothing useful.  So
 * the commands estimate what a run needs from their own allocation model and
 * compare it up front with what this process can still get.
 */
#ifndef LNBENCH_MEMCHECK_H
#define LNBENCH_MEMCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes this process can still allocate: the smallest of MemAvailable
 * (/proc/meminfo), the cgroup's memory.max - memory.current, and RLIMIT_AS
 * minus the address space already mapped.  *what names the limit that
 * binds ("MemAvailable", "the cgroup limit", "RLIMIT_AS", or "physical
 * memory" where none of those is known).  UINT64_MAX when nothing is known. */
uint64_t ln_mem_available(const char **what);

/* 0 when `need` bytes fit (with `threads` threads, each of which reserves
 * stack and a malloc arena of address space under RLIMIT_AS); else -1 with
 * "needs about X GiB, more than the Y GiB available (<limit>)" in err. */
int ln_mem_check(uint64_t need, unsigned threads, char *err, size_t errlen);

#endif
