/*
 * cmd_speed.c - `lnbench speed`: every kernel timed under Google Benchmark,
 * threads pinned with hwloc, each shape's memcpy measured in the same run as
 * the memory roofline.
 *
 * One benchmark per kernel x shape x thread count, named
 *     <kernel>/dim:<dim>/rows:<rows>/real_time/threads:<t>
 * (the last two fields are Google Benchmark's own suffixes for UseRealTime
 * and Threads).  For each shape and thread count, memcpy of the same buffer
 * size is registered (so it runs) first; every kernel's `roofline` counter is
 * its bandwidth over that memcpy's.
 *
 * Threads: Google Benchmark starts t threads per run; thread i binds itself
 * to its core (pinning.h), then allocates and first-touches its own contiguous
 * block of rows (so the pages land on its NUMA node) and runs its own loop.
 * Real time is wall-clock (UseRealTime), so rates are aggregate throughput.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "commands.h"
#include "cpu_features.h"
#include "gbench_shim.h"
#include "inputs.h"
#include "lnbench_kernel.h"
#include "outfile.h"
#include "perf_counters.h"
#include "pinning.h"
#include "provenance.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 256
#define DEFAULT_MIN_TIME "0.1"
#define QUICK_MIN_TIME "0.05"

static const char speed_help[] =
    "usage: lnbench speed [options] [--benchmark_* ...]\n"
    "\n"
    "Times every kernel with Google Benchmark, one benchmark per kernel x shape x\n"
    "thread count, named <kernel>/dim:<dim>/rows:<rows>/real_time/threads:<t>.\n"
    "For each shape and thread count `memcpy` of the same buffer size runs first;\n"
    "it is the memory roofline.\n"
    "\n"
    "options:\n"
    "  --kernels K,..   kernels to time (default: every available one; see `lnbench list`)\n"
    "  --dims D,..      row lengths (default: 768,1024,4096,8192,12288)\n"
    "  --rows N,..      rows per shape, for every dim (default: per dim, three counts\n"
    "                   from hwloc's cache sizes: x+y within half of L2, within half\n"
    "                   of the LLC, and at least 4 x LLC, i.e. DRAM-resident;\n"
    "                   each rounded to 2^k or 3*2^k)\n"
    "  --threads T,..   thread counts (default: 1 and the number of cores)\n"
    "  --pin P          compact | scatter | none (default: compact): one core per\n"
    "                   thread, hwloc logical order (compact) or spread (scatter)\n"
    "  --oversubscribe  allow more threads than cores\n"
    "  --no-affine      gamma and beta NULL (default: gamma ~ 1+0.1N, beta ~ 0.1N)\n"
    "  --eps E          epsilon (default: 1e-5)\n"
    "  --seed S         input generator seed (default: 1); inputs are `normal`\n"
    "  --quick          a short suite: dims 768,4096 (unless --dims) and\n"
    "                   --benchmark_min_time=" QUICK_MIN_TIME "\n"
    "  --json FILE      also write Google Benchmark JSON to FILE (written whole or\n"
    "                   not at all; compare.py reads it)\n"
    "  --force          let --json replace an existing file\n"
    "  -h, --help       this text\n"
    "\n"
    "Any --benchmark_* flag goes to Google Benchmark unchanged (--benchmark_filter,\n"
    "--benchmark_repetitions, --benchmark_enable_random_interleaving, --benchmark_out,\n"
    "--benchmark_out_format, --benchmark_context, ...).  Default\n"
    "--benchmark_min_time=" DEFAULT_MIN_TIME " (seconds).\n"
    "\n"
    "Counters:\n"
    "  bytes_per_second  under the byte model: 8 bytes per element (read x, write y)\n"
    "                    plus 8 bytes per column for gamma and beta once per call\n"
    "                    (each thread's call); memcpy: 8 bytes per element.\n"
    "                    Write-allocate traffic is not counted: a kernel with\n"
    "                    ordinary stores that misses cache moves 12 bytes/element.\n"
    "  items_per_second  elements normalised per second (all threads)\n"
    "  ns_per_row        wall-clock nanoseconds per row (all threads together)\n"
    "  roofline          bandwidth / memcpy bandwidth of the same shape, threads and\n"
    "                    pinning in this run (needs that memcpy benchmark to have run\n"
    "                    first: keep it in --benchmark_filter)\n"
    "  cycles_per_element, instructions_per_element\n"
    "                    user-space counts via perf_event_open, averaged over threads\n"
    "                    (absent where perf is not supported; said once on stderr)\n"
    "\n"
    "Threads split the rows into contiguous blocks; each thread pins itself, first-\n"
    "touches its own block and runs its own loop.  `onednn` runs one single-threaded\n"
    "primitive per benchmark thread, so at t threads every kernel uses t cores.\n"
    "LNBENCH_PIN_FAIL=1 forces binding to fail (the run goes on unpinned, saying so);\n"
    "LNBENCH_NO_PERF=1 disables the perf counters.\n";

/* memcpy's measured bandwidth for one shape and thread count, per thread. */
typedef struct memrec {
    int threads;
    double bw[MAX_THREADS];
    unsigned char done[MAX_THREADS];
} memrec;

typedef struct bench_case {
    const ln_kernel *k; /* NULL: the memcpy baseline */
    size_t dim, rows;
    int threads;
    memrec *mem;
} bench_case;

/* One benchmark thread index's buffers.  Thread i of every run uses slot i
 * only, and runs never overlap (Google Benchmark joins its threads), so the
 * slots need no lock. */
typedef struct slot {
    int valid, threads;
    size_t dim, rows; /* the whole shape */
    size_t row0, nrows; /* this thread's block */
    float *x, *y, *gamma, *beta;
} slot;

/* The run's settings, shared read-only by the benchmark bodies. */
static struct {
    lnb_topo *topo;
    lnb_pin_policy pin;
    int pin_ok;  /* the start-up probe bound every planned core */
    int core[MAX_THREADS];
    int perf_ok; /* perf_event_open worked at start-up */
    char perf_note[300]; /* else why not */
    int affine;
    float eps;
    uint64_t seed;
    const ln_dist *dist;
    slot slots[MAX_THREADS];
} g;

static atomic_flag warned_pin = ATOMIC_FLAG_INIT;
static atomic_flag warned_perf = ATOMIC_FLAG_INIT;

/* memcpy through a volatile pointer: the compiler cannot see that repeated
 * copies of the same buffer are redundant and drop them. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

static void die_usage(const char *msg)
{
    fprintf(stderr, "lnbench speed: %s\n", msg);
}

static void slot_free(slot *s)
{
    free(s->x);
    free(s->y);
    free(s->gamma);
    free(s->beta);
    memset(s, 0, sizeof *s);
}

static float *alloc_floats(size_t n)
{
    /* 64-byte aligned, size rounded up as aligned_alloc requires. */
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* Make slot i hold thread i's block of c's shape: allocated and written
 * (first touch) by the calling, already pinned, thread. */
static int slot_ensure(int i, const bench_case *c, char *err, size_t errlen)
{
    slot *s = &g.slots[i];
    if (s->valid && s->dim == c->dim && s->rows == c->rows && s->threads == c->threads)
        return 0;
    slot_free(s);
    size_t t = (size_t)c->threads, base = c->rows / t, extra = c->rows % t;
    size_t ui = (size_t)i;
    s->nrows = base + (ui < extra);
    s->row0 = ui * base + (ui < extra ? ui : extra);
    size_t n = s->nrows * c->dim;
    s->x = alloc_floats(n);
    s->y = alloc_floats(n);
    s->gamma = alloc_floats(c->dim);
    s->beta = alloc_floats(c->dim);
    if (!s->x || !s->y || !s->gamma || !s->beta) {
        slot_free(s);
        snprintf(err, errlen, "out of memory for %zu x %zu", c->rows, c->dim);
        return -1;
    }
    /* Each block gets its own stream (seed offset by its first row). */
    ln_generate(g.dist, g.seed + s->row0, s->nrows, c->dim, s->x, c->dim);
    memset(s->y, 0, n * sizeof(float));
    ln_generate_affine(g.seed, c->dim, s->gamma, s->beta);
    s->dim = c->dim;
    s->rows = c->rows;
    s->threads = c->threads;
    s->valid = 1;
    return 0;
}

static void body(lnb_gb_state *st, void *user)
{
    const bench_case *c = user;
    int i = lnb_gb_thread_index(st), t = lnb_gb_thread_count(st);
    char err[256];

    /* Slots above this run's thread count belong to nobody now: free them so
     * at most one old shape stays allocated beside the new one. */
    if (i == 0)
        for (int j = t; j < MAX_THREADS; j++)
            if (g.slots[j].valid)
                slot_free(&g.slots[j]);

    int pinned = 0;
    if (g.pin != LNB_PIN_NONE && g.pin_ok) {
        if (lnb_pin_self(g.topo, g.core[i], err, sizeof err) == 0)
            pinned = 1;
        else if (!atomic_flag_test_and_set(&warned_pin))
            fprintf(stderr, "lnbench speed: %s; this thread runs unpinned\n", err);
    }
    if (slot_ensure(i, c, err, sizeof err) != 0) {
        lnb_gb_skip(st, err);
        return;
    }
    slot *s = &g.slots[i];
    ln_desc d = {
        .op = LN_OP_LAYERNORM, .dtype = LN_DTYPE_F32,
        .rows = s->nrows, .dim = c->dim,
        .x_stride = c->dim, .y_stride = c->dim,
        .eps = g.eps,
        .tensors = g.affine ? LN_TENSOR_GAMMA | LN_TENSOR_BETA : 0u,
        .store = LN_STORE_AUTO,
    };
    ln_tensors tens = {
        .x = s->x, .y = s->y,
        .gamma = g.affine ? s->gamma : NULL,
        .beta = g.affine ? s->beta : NULL,
    };
    void *state = NULL;
    if (c->k && c->k->prepare) {
        const char *why = NULL;
        if (c->k->prepare(&d, &state, &why) != 0) {
            snprintf(err, sizeof err, "%s: %s", c->k->name, why ? why : "prepare failed");
            lnb_gb_skip(st, err);
            return;
        }
    }

    if (!g.perf_ok && !atomic_flag_test_and_set(&warned_perf))
        fprintf(stderr, "lnbench speed: cycle and instruction counters not supported: %s\n",
                g.perf_note);
    lnb_perf perf;
    int have_perf = g.perf_ok && lnb_perf_open(&perf, err, sizeof err) == 0;
    if (have_perf)
        lnb_perf_start(&perf);

    int failed = 0;
    uint64_t n;
    if (c->k) {
        int (*forward)(const ln_desc *, const ln_tensors *, void *) = c->k->forward;
        while ((n = lnb_gb_batch(st)) > 0)
            for (uint64_t it = 0; it < n; it++)
                failed |= forward(&d, &tens, state);
    } else {
        size_t bytes = s->nrows * c->dim * sizeof(float);
        while ((n = lnb_gb_batch(st)) > 0)
            for (uint64_t it = 0; it < n; it++)
                copy_fn(s->y, s->x, bytes);
    }

    uint64_t cycles = 0, instructions = 0;
    if (have_perf) {
        if (lnb_perf_stop(&perf, &cycles, &instructions) != 0)
            have_perf = 0;
        lnb_perf_close(&perf);
    }
    if (c->k && c->k->release)
        c->k->release(state);
    if (failed) {
        snprintf(err, sizeof err, "%s: forward failed", c->k->name);
        lnb_gb_skip(st, err);
        return;
    }

    /* Counters: Google Benchmark sums each over the threads (then divides
     * rates by the run's wall time, AVG_THREADS ones by the thread count). */
    double iters = (double)lnb_gb_iterations(st);
    double elems = (double)s->nrows * (double)c->dim;
    double bytes_call = 8.0 * elems + (c->k && g.affine ? 8.0 * (double)c->dim : 0.0);
    lnb_gb_counter(st, "bytes_per_second", iters * bytes_call, LNB_GB_RATE);
    lnb_gb_counter(st, "items_per_second", iters * elems, LNB_GB_RATE);
    /* Wall-clock ns per row of the shape: the threads run their blocks side
     * by side, so one iteration of each covers the whole shape once. */
    double secs = lnb_gb_loop_seconds(st);
    if (iters > 0)
        lnb_gb_counter(st, "ns_per_row", secs * 1e9 / (iters * (double)c->rows),
                       LNB_GB_AVG_THREADS);
    double bw = secs > 0 ? iters * bytes_call / secs : 0.0;
    if (!c->k) {
        c->mem->bw[i] = bw;
        c->mem->done[i] = 1;
        lnb_gb_counter(st, "roofline", 1.0, LNB_GB_AVG_THREADS);
    } else {
        /* Each thread contributes its share; the sum is the ratio of the
         * aggregate bandwidths. */
        double mem_bw = 0.0;
        int complete = 1;
        for (int j = 0; j < t; j++) {
            complete &= c->mem->done[j];
            mem_bw += c->mem->bw[j];
        }
        if (complete && mem_bw > 0)
            lnb_gb_counter(st, "roofline", bw / mem_bw, LNB_GB_DEFAULT);
    }
    if (have_perf && iters * elems > 0) {
        lnb_gb_counter(st, "cycles_per_element", (double)cycles / (iters * elems),
                       LNB_GB_AVG_THREADS);
        lnb_gb_counter(st, "instructions_per_element",
                       (double)instructions / (iters * elems), LNB_GB_AVG_THREADS);
    }
    if (i == 0) {
        char label[128];
        if (g.pin == LNB_PIN_NONE || !g.pin_ok || !pinned) {
            snprintf(label, sizeof label, "unpinned");
        } else {
            int len = snprintf(label, sizeof label, "%s:pu", lnb_pin_policy_name(g.pin));
            for (int j = 0; j < t && len > 0 && (size_t)len < sizeof label - 8; j++)
                len += snprintf(label + len, sizeof label - (size_t)len, "%s%d",
                                j ? "," : "", lnb_pin_core_pu(g.topo, g.core[j]));
        }
        lnb_gb_label(st, label);
    }
}

/* ---------------------------------------------------------------- setup */

typedef struct speed_opts {
    char **kernel_names;
    size_t nkernels;
    uint64_t *dims, *rows, *threads;
    size_t ndims, nrows, nthreads;
    lnb_pin_policy pin;
    int oversubscribe, affine, quick, force;
    float eps;
    uint64_t seed;
    const char *json_path;
    /* argv for Google Benchmark */
    char **gb_argv;
    int gb_argc;
    int user_min_time, user_out;
} speed_opts;

static int is_gb_flag(const char *a)
{
    return !strncmp(a, "--benchmark_", 12) || !strncmp(a, "--v=", 4);
}

/* Returns 0, 1 for --help (printed), -1 on error (printed). */
static int parse_args(int argc, char **argv, speed_opts *o)
{
    char err[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(speed_help, stdout);
            return 1;
        }
        if (is_gb_flag(a)) {
            o->gb_argv[o->gb_argc++] = argv[i];
            o->user_min_time |= !strncmp(a, "--benchmark_min_time", 20);
            o->user_out |= !strncmp(a, "--benchmark_out=", 16) ||
                           !strcmp(a, "--benchmark_out");
            continue;
        }
        if (!strcmp(a, "--oversubscribe")) {
            o->oversubscribe = 1;
            continue;
        }
        if (!strcmp(a, "--no-affine")) {
            o->affine = 0;
            continue;
        }
        if (!strcmp(a, "--quick")) {
            o->quick = 1;
            continue;
        }
        if (!strcmp(a, "--force")) {
            o->force = 1;
            continue;
        }
        static const char *const valued[] = {"--kernels", "--dims", "--rows", "--threads",
                                             "--pin", "--eps", "--seed", "--json"};
        int known = 0;
        for (size_t v = 0; v < sizeof valued / sizeof valued[0]; v++)
            known |= !strcmp(a, valued[v]);
        if (!known) {
            snprintf(err, sizeof err, "unknown option '%s' (try --help)", a);
            die_usage(err);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(err, sizeof err, "%s needs a value", a);
            die_usage(err);
            return -1;
        }
        const char *v = argv[++i];
        int rc = 0;
        if (!strcmp(a, "--kernels")) {
            ln_free_list(o->kernel_names, o->nkernels);
            o->kernel_names = NULL;
            o->nkernels = 0;
            rc = ln_parse_name_list(a, v, &o->kernel_names, &o->nkernels, err, sizeof err);
        } else if (!strcmp(a, "--dims")) {
            free(o->dims);
            o->dims = NULL;
            o->ndims = 0;
            rc = ln_parse_u64_list(a, v, 1, (uint64_t)1 << 26, &o->dims, &o->ndims, err,
                                   sizeof err);
        } else if (!strcmp(a, "--rows")) {
            free(o->rows);
            o->rows = NULL;
            o->nrows = 0;
            rc = ln_parse_u64_list(a, v, 1, (uint64_t)1 << 34, &o->rows, &o->nrows, err,
                                   sizeof err);
        } else if (!strcmp(a, "--threads")) {
            free(o->threads);
            o->threads = NULL;
            o->nthreads = 0;
            rc = ln_parse_u64_list(a, v, 1, MAX_THREADS, &o->threads, &o->nthreads, err,
                                   sizeof err);
        } else if (!strcmp(a, "--pin")) {
            if (lnb_pin_policy_parse(v, &o->pin) != 0) {
                snprintf(err, sizeof err,
                         "--pin: unknown policy '%.64s' (compact, scatter or none)", v);
                rc = -1;
            }
        } else if (!strcmp(a, "--eps")) {
            rc = ln_parse_float(a, v, &o->eps, err, sizeof err);
            if (rc == 0 && !(o->eps >= 0)) {
                snprintf(err, sizeof err, "--eps: '%.64s' is negative", v);
                rc = -1;
            }
        } else if (!strcmp(a, "--seed")) {
            rc = ln_parse_u64(a, v, 0, UINT64_MAX, &o->seed, err, sizeof err);
        } else if (!strcmp(a, "--json")) {
            o->json_path = v;
        }
        if (rc != 0) {
            die_usage(err);
            return -1;
        }
    }
    if (o->json_path && o->user_out) {
        die_usage("--json and --benchmark_out cannot both be given");
        return -1;
    }
    return 0;
}

/* Row counts are "round": 2^k or 3 * 2^k, so the default shapes read well
 * and overshoot a cache-size target by at most 1.5x. */
static size_t round_floor(double x)
{
    size_t p = 1;
    while ((double)(p * 2) <= x)
        p *= 2;
    return p >= 2 && (double)(p / 2 * 3) <= x ? p / 2 * 3 : p;
}

static size_t round_ceil(double x)
{
    size_t p = 1;
    while ((double)p < x)
        p *= 2;
    return p >= 4 && (double)(p / 4 * 3) >= x ? p / 4 * 3 : p;
}

/* Default rows for one dim: x and y (8 bytes per element) within half of
 * L2, within half of the LLC, and at least 4 x the LLC (DRAM). */
static size_t default_rows(size_t dim, size_t l2, size_t llc, size_t out[3])
{
    double row_bytes = 8.0 * (double)dim;
    size_t n = 0;
    size_t cand[3] = {round_floor((double)l2 / 2 / row_bytes),
                      round_floor((double)llc / 2 / row_bytes),
                      round_ceil(4.0 * (double)llc / row_bytes)};
    for (int i = 0; i < 3; i++)
        if (n == 0 || cand[i] > out[n - 1])
            out[n++] = cand[i];
    return n;
}

static void on_signal(int sig)
{
    ln_output_cleanup_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void add_context_size(const char *key, size_t bytes)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", bytes);
    lnb_gb_add_context(key, buf);
}

/* The provenance stanza: Google Benchmark's JSON "context" and console
 * header. */
static void add_context(const speed_opts *o, const char *pin_status,
                        const char *perf_status, int max_threads, int argc, char **argv)
{
    char buf[1024];
    lnb_gb_add_context("hostname", ln_prov_hostname());
    lnb_gb_add_context("version", ln_prov_version());
    lnb_gb_add_context("git_commit", ln_prov_git_commit());
    lnb_gb_add_context("compiler", ln_prov_compiler());
    lnb_gb_add_context("c_flags", ln_prov_c_flags());
    lnb_gb_add_context("build_type", ln_prov_build_type());
    buf[0] = '\0';
    for (int isa = 0; isa < LN_ISA_COUNT; isa++)
        if (!ln_isa_unavailable((ln_isa)isa)) {
            size_t len = strlen(buf);
            snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "",
                     ln_isa_name((ln_isa)isa));
        }
    lnb_gb_add_context("isas", buf[0] ? buf : "none");
    lnb_gb_add_context("cpu_model", lnb_topo_cpu_model(g.topo));
    lnb_gb_add_context("cpu_vendor", lnb_topo_cpu_vendor(g.topo));
    snprintf(buf, sizeof buf, "%d", lnb_topo_cores(g.topo));
    lnb_gb_add_context("cores", buf);
    snprintf(buf, sizeof buf, "%d", lnb_topo_pus(g.topo));
    lnb_gb_add_context("pus", buf);
    snprintf(buf, sizeof buf, "%d", lnb_topo_numa_nodes(g.topo));
    lnb_gb_add_context("numa_nodes", buf);
    add_context_size("l1d_bytes", lnb_topo_cache_bytes(g.topo, 1));
    add_context_size("l2_bytes", lnb_topo_cache_bytes(g.topo, 2));
    add_context_size("l3_bytes", lnb_topo_cache_bytes(g.topo, 3));
    add_context_size("llc_bytes", lnb_topo_llc_bytes(g.topo, NULL));
    lnb_gb_add_context("pin", lnb_pin_policy_name(g.pin));
    lnb_gb_add_context("pin_status", pin_status);
    buf[0] = '\0';
    for (int i = 0; i < max_threads; i++) {
        size_t len = strlen(buf);
        if (g.pin == LNB_PIN_NONE || !g.pin_ok)
            snprintf(buf + len, sizeof buf - len, "%sthread%d:any", i ? "," : "", i);
        else
            snprintf(buf + len, sizeof buf - len, "%sthread%d:core%d/pu%d", i ? "," : "", i,
                     g.core[i], lnb_pin_core_pu(g.topo, g.core[i]));
    }
    lnb_gb_add_context("pin_threads", buf);
    lnb_gb_add_context("perf_counters", perf_status);
    lnb_gb_add_context("byte_model",
                       "8 bytes per element (read x, write y) + 8 bytes per column "
                       "(gamma, beta) once per call per thread; memcpy 8 bytes per element");
    lnb_gb_add_context("name_format",
                       "<kernel>/dim:<dim>/rows:<rows>/real_time/threads:<t>");
    lnb_gb_add_context("inputs", "normal");
    snprintf(buf, sizeof buf, "%s", o->affine ? "gamma~1+0.1N(0,1),beta~0.1N(0,1)" : "none");
    lnb_gb_add_context("affine", buf);
    snprintf(buf, sizeof buf, "%.9g", (double)o->eps);
    lnb_gb_add_context("eps", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->seed);
    lnb_gb_add_context("seed", buf);
    lnb_gb_add_context("threads_model",
                       "contiguous row block per benchmark thread, each thread bound as `pin` "
                       "says and first-touching its buffers; onednn: one single-threaded primitive per "
                       "benchmark thread");
    buf[0] = '\0';
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "lnbench ", argv[i]);
    }
    lnb_gb_add_context("command", buf);
}

int cmd_speed(int argc, char **argv)
{
    speed_opts o;
    memset(&o, 0, sizeof o);
    o.pin = LNB_PIN_COMPACT;
    o.affine = 1;
    o.eps = 1e-5f;
    o.seed = 1;
    /* argv[0], the pass-through flags, min_time, out, out_format. */
    o.gb_argv = calloc((size_t)argc + 4, sizeof *o.gb_argv);
    int status = 2;
    ln_outfile *json = NULL;
    bench_case *cases = NULL;
    memrec *mems = NULL;
    const ln_kernel **kernels = NULL;
    size_t nk = 0, ncases = 0, nmems = 0;
    int gb_initialized = 0;
    char err[512];
    char min_time_arg[64], out_arg[64];
    static char gb_name[] = "lnbench speed";
    static char out_format[] = "--benchmark_out_format=json";

    if (!o.gb_argv) {
        die_usage("out of memory");
        goto done;
    }
    o.gb_argv[o.gb_argc++] = gb_name;
    int prc = parse_args(argc, argv, &o);
    if (prc != 0) {
        status = prc > 0 ? 0 : 2;
        goto done;
    }

    /* Kernels: the named ones (each must exist and run here), else every
     * available one. */
    kernels = calloc(ln_kernel_count + 1, sizeof *kernels);
    if (!kernels) {
        die_usage("out of memory");
        goto done;
    }
    if (ln_kernel_select(o.kernel_names, o.nkernels, NULL, kernels, &nk, err, sizeof err) != 0) {
        die_usage(err);
        goto done;
    }
    if (!o.nkernels)
        for (size_t i = 0; i < ln_kernel_count; i++) {
            const ln_kernel *k = ln_kernels[i];
            const char *why = ln_kernel_unavailable(k);
            if (why)
                fprintf(stderr, "lnbench speed: skipping %s: %s\n", k->name, why);
        }

    g.topo = lnb_topo_open(err, sizeof err);
    if (!g.topo) {
        die_usage(err);
        status = 1;
        goto done;
    }
    int cores = lnb_topo_cores(g.topo);
    if (!o.nthreads) {
        o.threads = calloc(2, sizeof *o.threads);
        if (!o.threads) {
            die_usage("out of memory");
            goto done;
        }
        o.threads[o.nthreads++] = 1;
        if (cores > 1)
            o.threads[o.nthreads++] = (uint64_t)(cores < MAX_THREADS ? cores : MAX_THREADS);
    }
    int max_threads = 1;
    for (size_t i = 0; i < o.nthreads; i++) {
        if ((int)o.threads[i] > cores && !o.oversubscribe) {
            snprintf(err, sizeof err,
                     "--threads: %llu exceeds the %d cores hwloc reports "
                     "(--oversubscribe allows it)",
                     (unsigned long long)o.threads[i], cores);
            die_usage(err);
            goto done;
        }
        if ((int)o.threads[i] > max_threads)
            max_threads = (int)o.threads[i];
    }
    if (!o.ndims) {
        static const uint64_t dflt[] = {768, 1024, 4096, 8192, 12288};
        static const uint64_t quick[] = {768, 4096};
        const uint64_t *d = o.quick ? quick : dflt;
        size_t nd = o.quick ? sizeof quick / sizeof quick[0] : sizeof dflt / sizeof dflt[0];
        o.dims = malloc(nd * sizeof *d);
        if (!o.dims) {
            die_usage("out of memory");
            goto done;
        }
        memcpy(o.dims, d, nd * sizeof *d);
        o.ndims = nd;
    }

    /* Shapes, and the memory check before anything is allocated. */
    size_t l2 = lnb_topo_cache_bytes(g.topo, 2);
    size_t llc = lnb_topo_llc_bytes(g.topo, NULL);
    if (!l2)
        l2 = (size_t)1 << 20;
    if (!llc)
        llc = ln_llc_bytes();
    size_t max_shapes = o.ndims * (o.nrows ? o.nrows : 3);
    size_t (*shapes)[2] = calloc(max_shapes, sizeof *shapes);
    size_t nshapes = 0;
    if (!shapes) {
        die_usage("out of memory");
        goto done;
    }
    uint64_t phys = ln_physical_memory();
    for (size_t d = 0; d < o.ndims; d++) {
        size_t r[3] = {0, 0, 0};
        size_t nr = o.nrows ? o.nrows : default_rows((size_t)o.dims[d], l2, llc, r);
        for (size_t i = 0; i < nr; i++) {
            size_t rows = o.nrows ? (size_t)o.rows[i] : r[i];
            size_t dim = (size_t)o.dims[d];
            /* x and y plus per-thread gamma and beta. */
            double need = 8.0 * (double)rows * (double)dim +
                          8.0 * (double)dim * (double)max_threads;
            if (need > (double)(SIZE_MAX / 2) || (phys && need > 0.8 * (double)phys)) {
                snprintf(err, sizeof err,
                         "shape %zu x %zu needs %.1f GiB of buffers, more than 80%% of "
                         "the %.1f GiB of memory",
                         rows, dim, need / (1 << 30), (double)phys / (1 << 30));
                die_usage(err);
                free(shapes);
                goto done;
            }
            shapes[nshapes][0] = rows;
            shapes[nshapes][1] = dim;
            nshapes++;
        }
    }

    g.affine = o.affine;
    g.eps = o.eps;
    g.seed = o.seed;
    g.dist = ln_dist_find("normal");
    if (!g.dist) {
        die_usage("the `normal` input distribution is missing");
        free(shapes);
        status = 1;
        goto done;
    }

    /* Google Benchmark's flags: the user's, then our defaults. */
    if (!o.user_min_time) {
        snprintf(min_time_arg, sizeof min_time_arg, "--benchmark_min_time=%s",
                 o.quick ? QUICK_MIN_TIME : DEFAULT_MIN_TIME);
        o.gb_argv[o.gb_argc++] = min_time_arg;
    }
    if (o.json_path) {
        /* Opened now so a bad path fails before the run; Google Benchmark
         * writes through /dev/fd into the temporary, which is renamed into
         * place only when the run completes. */
        json = ln_outfile_open(o.json_path, o.force, err, sizeof err);
        if (!json) {
            fprintf(stderr, "lnbench speed: --json: %s\n", err);
            free(shapes);
            goto done;
        }
        snprintf(out_arg, sizeof out_arg, "--benchmark_out=/dev/fd/%d",
                 fileno(ln_outfile_stream(json)));
        o.gb_argv[o.gb_argc++] = out_arg;
        o.gb_argv[o.gb_argc++] = out_format;
    }
    o.gb_argv[o.gb_argc] = NULL;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    atexit(ln_output_cleanup_all); /* Google Benchmark may exit() on bad flags */
    gb_initialized = 1;
    if (lnb_gb_initialize(&o.gb_argc, o.gb_argv) != 0) {
        /* Google Benchmark has printed the one-line error. */
        free(shapes);
        goto done;
    }

    /* Start-up probes, reported once, before any benchmark. */
    lnb_pin_plan(g.topo, o.pin, max_threads, g.core);
    g.pin = o.pin;
    g.pin_ok = 0;
    char pin_status[320];
    if (o.pin == LNB_PIN_NONE) {
        snprintf(pin_status, sizeof pin_status, "unpinned (--pin none)");
    } else if (lnb_pin_probe(g.topo, g.core, max_threads, err, sizeof err) != 0) {
        fprintf(stderr, "lnbench speed: cannot pin threads (%s); running unpinned\n", err);
        snprintf(pin_status, sizeof pin_status, "unpinned: %.256s", err);
    } else {
        g.pin_ok = 1;
        snprintf(pin_status, sizeof pin_status, "pinned");
    }
    char perf_status[320];
    {
        lnb_perf p;
        if (lnb_perf_open(&p, err, sizeof err) == 0) {
            lnb_perf_close(&p);
            g.perf_ok = 1;
            snprintf(perf_status, sizeof perf_status,
                     "cycles,instructions (perf_event_open, user space)");
        } else {
            /* Said once, by the first benchmark that runs (so a run that
             * fails before any benchmark keeps its one-line error). */
            snprintf(g.perf_note, sizeof g.perf_note, "%.256s", err);
            snprintf(perf_status, sizeof perf_status, "not supported: %.256s", err);
        }
    }
    /* Register: per shape and thread count, memcpy first, then the kernels. */
    cases = calloc(nshapes * o.nthreads * (nk + 1), sizeof *cases);
    mems = calloc(nshapes * o.nthreads, sizeof *mems);
    if (!cases || !mems) {
        die_usage("out of memory");
        free(shapes);
        goto done;
    }
    for (size_t s = 0; s < nshapes; s++) {
        for (size_t ti = 0; ti < o.nthreads; ti++) {
            int t = (int)o.threads[ti];
            size_t rows = shapes[s][0], dim = shapes[s][1];
            if (rows < (size_t)t) {
                fprintf(stderr, "lnbench speed: skipping %zu x %zu at %d threads: fewer rows "
                                "than threads\n", rows, dim, t);
                continue;
            }
            memrec *m = &mems[nmems++];
            m->threads = t;
            for (size_t ki = 0; ki <= nk; ki++) {
                bench_case *c = &cases[ncases++];
                c->k = ki == 0 ? NULL : kernels[ki - 1];
                c->dim = dim;
                c->rows = rows;
                c->threads = t;
                c->mem = m;
                char name[256];
                snprintf(name, sizeof name, "%s/dim:%zu/rows:%zu", c->k ? c->k->name : "memcpy",
                         dim, rows);
                lnb_gb_bench *b = lnb_gb_register(name, body, c);
                if (!b) {
                    die_usage("cannot register a benchmark");
                    free(shapes);
                    goto done;
                }
                lnb_gb_threads(b, t);
                lnb_gb_use_real_time(b);
            }
        }
    }
    free(shapes);
    add_context(&o, pin_status, perf_status, max_threads, argc, argv);

    if (lnb_gb_run() == 0) {
        /* Google Benchmark has said the filter matched nothing (one line);
         * no result file: an empty one would only mislead a comparison. */
        goto done;
    }
    for (int i = 0; i < MAX_THREADS; i++)
        slot_free(&g.slots[i]);
    if (json) {
        int rc = ln_outfile_commit(json, err, sizeof err);
        json = NULL;
        if (rc != 0) {
            fprintf(stderr, "lnbench speed: --json: %s\n", err);
            status = 1;
            goto done;
        }
    }
    status = 0;

done:
    ln_outfile_abort(json);
    if (gb_initialized)
        lnb_gb_shutdown();
    for (int i = 0; i < MAX_THREADS; i++)
        slot_free(&g.slots[i]);
    lnb_topo_close(g.topo);
    g.topo = NULL;
    free(cases);
    free(mems);
    free(kernels);
    ln_free_list(o.kernel_names, o.nkernels);
    free(o.dims);
    free(o.rows);
    free(o.threads);
    free(o.gb_argv);
    return status;
}
