/*
 * gbench_flags.h - Google Benchmark's own flags, checked before the run.
 *
 * Google Benchmark 1.7 reacts to a bad flag value in ways that break
 * lnbench's exit-status contract: --benchmark_repetitions=-1 trips an
 * internal check and aborts (SIGABRT), --benchmark_format=bogus prints its
 * usage and exits 0, a bool flag takes any word as "true".  lnbench speed
 * passes every --benchmark_* flag through this check first: a value Google
 * Benchmark would not take as meant is a usage error (exit 2, nothing
 * written).
 */
#ifndef LNBENCH_GBENCH_FLAGS_H
#define LNBENCH_GBENCH_FLAGS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* arg is one "--benchmark_NAME[=VALUE]" (or "--v=N") argument.  Returns -1
 * with a one-line reason in err when Google Benchmark 1.7 knows the flag and
 * the value is not valid for it, else 0 (a flag it does not know is left to
 * it: it refuses those cleanly, "unrecognized command-line flag"). */
int lnb_gb_check_flag(const char *arg, char *err, size_t errlen);

/* For a valid bool flag argument: 1 when it says true ("--benchmark_x",
 * "=true", "=yes", "=on", "=1"), 0 when false. */
int lnb_gb_flag_true(const char *arg);

#ifdef __cplusplus
}
#endif

#endif
