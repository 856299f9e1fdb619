/*
 * speed_harness.h - the speed harness: a plan of kernels x shapes x thread
 * counts, timed under Google Benchmark with hwloc-pinned threads and, for
 * each shape and thread count, the memory roofline measured in the same run.
 *
 * One benchmark per kernel x shape x thread count, named
 *     <kernel>/dim:<dim>/rows:<rows>/real_time/threads:<t>
 * for binary32 LayerNorm (the names it always had), and for any other
 * computation
 *     <kernel>/op:<op>/dtype:<dtype>/cast:<cast>/dim:<dim>/rows:<rows>/...
 * (the last two fields are Google Benchmark's own suffixes for UseRealTime
 * and Threads), preceded for each shape and thread count by two references
 * of the same bytes, `memcpy` then `stream_copy` (stream_copy.h).  Labels
 * are "<op>/<dtype>/<cast> <placement>"; the context records op, dtype,
 * cast, bytes_per_element and the byte model.
 * Counters: bytes_per_second (under lnb_speed_row_bytes' model),
 * items_per_second, ns_per_row, vs_memcpy (bandwidth / memcpy's), roofline
 * (kernels: bandwidth / the faster reference's) and, where perf_event_open
 * works, cycles_per_element and instructions_per_element.
 *
 * The caller (cli/cmd_speed.c) chooses what to measure and where results
 * go; the harness only measures.  Kernels are called through the ABI:
 * prepare (outside the timed loop), forward, synchronize, release.
 */
#ifndef LNBENCH_SPEED_HARNESS_H
#define LNBENCH_SPEED_HARNESS_H

#include "lnbench_kernel.h"
#include "pinning.h"
#include "placement.h"

#include <stddef.h>
#include <stdint.h>

/* Most benchmark threads in one run. */
#define LNB_SPEED_MAX_THREADS 256

typedef struct lnb_shape {
    size_t rows, dim;
} lnb_shape;

typedef struct lnb_speed_plan {
    lnb_topo *topo; /* the machine, from lnb_topo_open */
    const ln_kernel *const *kernels;
    size_t nkernels;
    const lnb_shape *shapes;
    size_t nshapes;
    const int *threads; /* thread counts, each in [1, LNB_SPEED_MAX_THREADS] */
    size_t nthreads;
    lnb_pin_policy pin;
    int cpukind; /* placement.h: LNB_CPUKIND_ALL (every kind, the most
                    performant first), _PERFORMANCE, _EFFICIENCY or a kind index */
    /* What each kernel computes: op, dtype, cast, eps, tensors (gamma
     * and beta only) and store hint (rows, dim and strides are each
     * benchmark's; LN_STORE_AUTO: the harness chooses per shape from the
     * whole working set).  Inputs are generated in binary32 and rounded to
     * the dtype. */
    ln_desc desc;
    uint64_t seed; /* inputs: `normal` rows from this seed */
    /* Recorded in the context (console header and JSON). */
    const char *const *isas; /* instruction sets the run may use */
    size_t nisas;
    const char *command; /* the command line */
} lnb_speed_plan;

/* The byte model: bytes moved per row of dim elements of d's computation,
 * dim * sizeof(dtype) * (2 streams, read x and write y, + 2 for the add_
 * operations, read residual and write h).  gamma/beta/w are not in it: they
 * stay in cache across the rows of a call and are counted once per call
 * (bytes_per_second).  The references copy exactly these bytes. */
size_t lnb_speed_row_bytes(const ln_desc *d, size_t dim);

/* Default row counts for one dim of d's computation, ascending: three from
 * the caches hwloc reports (the working set, lnb_speed_row_bytes per row,
 * within half of L2, within half of the LLC, and at least 4 x the LLC,
 * DRAM-resident), and two the same on every machine, for reports that
 * compare machines shape for shape: LNB_SPEED_COMMON_ROWS rows, and rows
 * for LNB_SPEED_COMMON_BYTES of the model's bytes (32768 x 4096 in
 * binary32), the latter left out when quick (the slowest kernels take
 * seconds per call there).  Each 2^k or 3 * 2^k.  Returns how many
 * distinct counts were written to out (1 to LNB_SPEED_DEFAULT_SHAPES). */
#define LNB_SPEED_DEFAULT_SHAPES 5
#define LNB_SPEED_COMMON_ROWS 64
#define LNB_SPEED_COMMON_BYTES ((double)(1u << 30))
size_t lnb_speed_default_rows(const lnb_topo *t, const ln_desc *d, size_t dim, int quick,
                              size_t out[LNB_SPEED_DEFAULT_SHAPES]);

/* 0 when the buffers of a rows x dim shape of d's computation at
 * max_threads threads fit in 80 % of physical memory, else -1 with a
 * one-line reason. */
int lnb_speed_shape_fits(const ln_desc *d, size_t rows, size_t dim, int max_threads,
                         char *err, size_t errlen);

/* What lnb_speed_run did. */
typedef enum lnb_speed_status {
    LNB_SPEED_OK = 0,       /* ran at least one benchmark */
    LNB_SPEED_BAD_FLAGS,    /* Google Benchmark refused a flag (it said so) */
    LNB_SPEED_NOTHING_RAN,  /* --benchmark_filter matched nothing (it said so) */
    LNB_SPEED_FAILED        /* see err */
} lnb_speed_status;

/* Run the plan.  gb_argv (gb_argc entries, then NULL) holds Google
 * Benchmark's flags after a program name, e.g. --benchmark_min_time=0.1 or
 * --benchmark_out=FILE; its output (console, --benchmark_out, JSON) is
 * Google Benchmark's own.  Probes pinning and the perf counters first and
 * says on stderr, once, when either does not work (the run goes on without).
 * Not reentrant: one run per process at a time. */
lnb_speed_status lnb_speed_run(const lnb_speed_plan *p, int gb_argc, char **gb_argv,
                               char *err, size_t errlen);

#endif
