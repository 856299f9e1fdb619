/*
 * gbench_shim.h - Google Benchmark (1.7.x) driven from C.
 *
 * Google Benchmark has no C API, so one C++ file (gbench_shim.cc) wraps the
 * few calls lnbench needs: register a benchmark by name with a C callback and
 * a user pointer, the keep-running loop (batched, so the C/C++ boundary is
 * crossed twice per run, not once per iteration), counters, skipping with a
 * message and the custom context.  Every benchmark body stays C.
 *
 * A body looks like:
 *
 *     static void body(lnb_gb_state *st, void *user)
 *     {
 *         ... setup, not timed ...
 *         uint64_t n;
 *         while ((n = lnb_gb_batch(st)) > 0)
 *             for (uint64_t i = 0; i < n; i++)
 *                 work(user);
 *         lnb_gb_counter(st, "bytes_per_second", bytes, LNB_GB_RATE);
 *     }
 *
 * The standard --benchmark_* flags keep working: lnb_gb_initialize passes
 * argv to benchmark::Initialize, and the output (console, --benchmark_out,
 * JSON schema) is Google Benchmark's own.
 */
#ifndef LNBENCH_GBENCH_SHIM_H
#define LNBENCH_GBENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lnb_gb_state lnb_gb_state; /* one benchmark thread's state */
typedef struct lnb_gb_bench lnb_gb_bench; /* a registered benchmark */
typedef void (*lnb_gb_fn)(lnb_gb_state *st, void *user);

/* Counter flags: the values of benchmark::Counter::Flags. */
enum {
    LNB_GB_DEFAULT = 0,
    LNB_GB_RATE = 1 << 0,        /* divided by the run's (real or CPU) time */
    LNB_GB_AVG_THREADS = 1 << 1, /* divided by the thread count */
    LNB_GB_INVERT = 1 << 2       /* inverted last (maps to kInvert) */
};

/* benchmark::Initialize on argc/argv (removes the flags it knows).  Returns
 * 0, or -1 when argv still holds arguments nobody recognised (they are
 * reported on stderr by Google Benchmark). */
int lnb_gb_initialize(int *argc, char **argv);

/* Register `name` (copied) running fn(st, user) on each benchmark thread.
 * `user` must stay valid until lnb_gb_run returns.  NULL on failure. */
lnb_gb_bench *lnb_gb_register(const char *name, lnb_gb_fn fn, void *user);
void lnb_gb_threads(lnb_gb_bench *b, int nthreads);
void lnb_gb_use_real_time(lnb_gb_bench *b);

/* AddCustomContext: shown in the console header and the JSON "context". */
void lnb_gb_add_context(const char *key, const char *value);

/* Run the benchmarks --benchmark_filter selects, reporting to the console
 * and to --benchmark_out as Google Benchmark does.  Returns how many ran. */
size_t lnb_gb_run(void);

/* Make lnb_gb_run write its JSON (Google Benchmark's own JSONReporter
 * output, byte for byte) into f, a stream the caller opened and checks,
 * instead of a file Google Benchmark opens itself: 1.7 never checks the
 * writes to that one, so a full disk left a truncated file and exit 0.  The
 * JSON is built in memory and written once the run is complete.  Needs
 * --benchmark_out=/dev/null --benchmark_out_format=json among the flags
 * (Google Benchmark uses a file reporter only with a file name).  With
 * console_to_stderr the console table goes to stderr (for f = stdout).
 * NULL f: back to Google Benchmark's own handling. */
void lnb_gb_json_to(FILE *f, int console_to_stderr);

/* Free the registrations and Google Benchmark's own state. */
void lnb_gb_shutdown(void);

/* --- inside a body --- */

/* The batched keep-running loop: the number of iterations to run now, 0 when
 * the run is over (then the loop must end).  The first call starts the
 * timer (after all threads of the run have arrived), the one that returns 0
 * stops it. */
uint64_t lnb_gb_batch(lnb_gb_state *st);
/* Wall-clock seconds this thread spent between the loop's start and end, as
 * measured by the shim itself (Google Benchmark keeps its timer private). */
double lnb_gb_loop_seconds(const lnb_gb_state *st);
/* After the loop: the mean of the loop seconds of this run's threads, the
 * time Google Benchmark divides real-time rates by (it averages its threads'
 * timers), so sum(value) / lnb_gb_run_seconds() over the threads is what
 * it reports for a LNB_GB_RATE counter. */
double lnb_gb_run_seconds(const lnb_gb_state *st);
/* Iterations this thread ran in its loop. */
uint64_t lnb_gb_iterations(const lnb_gb_state *st);

int lnb_gb_thread_index(const lnb_gb_state *st);
int lnb_gb_thread_count(const lnb_gb_state *st);

/* Set counter `name` to value.  With threads, Google Benchmark sums the
 * threads' values (then LNB_GB_AVG_THREADS divides by the count). */
void lnb_gb_counter(lnb_gb_state *st, const char *name, double value,
                    unsigned flags);
/* The run's label (call it from one thread only). */
void lnb_gb_label(lnb_gb_state *st, const char *label);
/* Mark the run failed with a message; the loop then runs no iterations. */
void lnb_gb_skip(lnb_gb_state *st, const char *message);

#ifdef __cplusplus
}
#endif

#endif
