/*
 * cmd_speed.c - `lnbench speed`: the command line of the speed harness
 * (bench/speed_harness.h): options, the kernels and shapes to time, and the
 * result file.  The measuring itself is the harness's.
 */
#define _POSIX_C_SOURCE 200809L
#include "args.h"
#include "commands.h"
#include "gbench_flags.h"
#include "gbench_shim.h"
#include "lnbench_kernel.h"
#include "outfile.h"
#include "pinning.h"
#include "placement.h"
#include "signals.h"
#include "speed_harness.h"

#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MIN_TIME "0.1"
#define QUICK_MIN_TIME "0.05"

static const char speed_help[] =
    "usage: lnbench speed [options] [--benchmark_* ...]\n"
    "\n"
    "Times every kernel with Google Benchmark, one benchmark per kernel x shape x\n"
    "thread count, named <kernel>/dim:<dim>/rows:<rows>/real_time/threads:<t>.\n"
    "For each shape and thread count two references run first on the same buffers,\n"
    "threads and pinning: `memcpy` (glibc's) and `stream_copy` (read x, write y with\n"
    "the widest non-temporal stores allowed here: AVX-512 _mm512_stream_ps, else AVX2\n"
    "_mm256_stream_ps, else SSE2 _mm_stream_ps, then sfence; on AArch64 a plain\n"
    "vld1q/vst1q loop, STNP having no C intrinsic; LNBENCH_DISABLE_ISA masks the\n"
    "wider ones).  The faster of the two is the memory roofline.\n"
    "\n"
    "Any operation, dtype or cast other than layernorm f32 single is named too:\n"
    "<kernel>/op:<op>/dtype:<dtype>/cast:<cast>/dim:<dim>/rows:<rows>/real_time/threads:<t>\n"
    "(labels say \"<op>/<dtype>/<cast> <placement>\" for every run).  A kernel named with\n"
    "--kernels that cannot compute the combination is an error; by default such\n"
    "kernels are skipped, said on stderr.\n"
    "\n"
    "Stores: each kernel is told LN_STORE_STREAMING when the benchmark's working set,\n"
    "x + y (+ residual + h) over all its threads (rows * the bytes per row below),\n"
    "exceeds three eighths of the LLC hwloc reports with one thread, or half of it\n"
    "with more, else LN_STORE_CACHED (the context's store_policy says which).\n"
    "\n"
    "options:\n"
    "  --kernels K,..   kernels to time (default: every available one; see `lnbench list`)\n"
    "  --dims D,..      row lengths (default: 768,1024,4096,8192,12288)\n"
    "  --rows N,..      rows per shape, for every dim (default: per dim, three counts\n"
    "                   from hwloc's cache sizes: the working set (the byte model\n"
    "                   below) within half of L2, within half of the LLC, and at\n"
    "                   least 4 x LLC, i.e. DRAM-resident; and two the same on\n"
    "                   every machine, for side-by-side reports: 64 rows, and\n"
    "                   1 GiB of the model's bytes (32768 x 4096 in binary32;\n"
    "                   not with --quick);\n"
    "                   each rounded to 2^k or 3*2^k)\n"
    "  --threads T,..   thread counts (default: 1 and the number of cores), or\n"
    "                   `sweep`: 1, 2, 4, ... up to the cores, then on up to the PUs\n"
    "                   (SMT siblings), of the chosen core kind\n"
    "  --pin P          cores | compact | scatter | none (default: cores): one thread\n"
    "                   per core in hwloc's logical order, SMT siblings once every core\n"
    "                   has one (cores); PUs in logical order, a core's siblings\n"
    "                   together (compact); round-robin over packages, NUMA nodes and\n"
    "                   caches, siblings last (scatter); the OS decides (none)\n"
    "  --cpukind K      all | performance | efficiency | an hwloc kind index: the core\n"
    "                   kind of a hybrid CPU to run on (default: all, the most\n"
    "                   performant kind first)\n"
    "  --oversubscribe  allow more threads than PUs\n"
    "  --op OP          layernorm | rmsnorm | add_layernorm | add_rmsnorm\n"
    "                   (default: layernorm)\n"
    "  --dtype T        f32 | bf16 | f16: x, y, gamma/w, beta, residual, h (default: f32)\n"
    "  --cast C         single | llama | gemma: where the result rounds to the dtype\n"
    "                   (llama, gemma: RMS operations only; default: single)\n"
    "  --no-affine      gamma/w and beta NULL (default: gamma ~ 1+0.1N, beta ~ 0.1N;\n"
    "                   the RMS operations have w and no beta)\n"
    "  --eps E          epsilon (default: 1e-5)\n"
    "  --seed S         input generator seed (default: 1); inputs are `normal`\n"
    "  --quick          a short suite: dims 768,4096 (unless --dims) and\n"
    "                   --benchmark_min_time=" QUICK_MIN_TIME "\n"
    "  --json FILE      also write Google Benchmark JSON to FILE (written whole or\n"
    "                   not at all, a write error is exit 1; compare.py reads it);\n"
    "                   FILE - is standard output (the console table goes to stderr)\n"
    "  --force          let --json replace an existing file\n"
    "  -h, --help       this text\n"
    "\n"
    "A value follows its option as `--dims 768` or `--dims=768`; `--` ends the\n"
    "options.\n"
    "\n"
    "Any --benchmark_* flag goes to Google Benchmark unchanged (--benchmark_filter,\n"
    "--benchmark_repetitions, --benchmark_enable_random_interleaving, --benchmark_out,\n"
    "--benchmark_out_format, --benchmark_context, ...).  Default\n"
    "--benchmark_min_time=" DEFAULT_MIN_TIME " (seconds).  Each is checked before the run:\n"
    "an unknown flag or a value Google Benchmark would not take as meant (a bool\n"
    "that is not true/false, --benchmark_repetitions below 1, an unknown format)\n"
    "is exit 2; --benchmark_list_tests writes no results, so not with --json.\n"
    "\n"
    "Counters:\n"
    "  bytes_per_second  under the byte model: per element, sizeof(dtype) read from x\n"
    "                    and written to y, and for the add_ operations also read from\n"
    "                    the residual and written to h (f32: 8 bytes per element, bf16\n"
    "                    and f16: 4; add_: twice that), plus gamma and beta once per\n"
    "                    call (each thread's call: they stay in cache across its rows).\n"
    "                    memcpy and stream_copy copy x to y (and the residual to h):\n"
    "                    the same bytes per row over the same working set, so they\n"
    "                    measure the same cache regime.  Write-allocate traffic is not\n"
    "                    counted: a kernel with ordinary stores that misses cache moves\n"
    "                    1.5x the model (f32: 12 bytes/element instead of 8).\n"
    "  items_per_second  elements normalised per second (all threads)\n"
    "  ns_per_row        wall-clock nanoseconds per row (all threads together)\n"
    "  roofline          kernel bandwidth / max(memcpy, stream_copy bandwidth) of the\n"
    "                    same shape, threads and pinning in this run: the faster\n"
    "                    reference sets the roofline (kernels only; needs both\n"
    "                    references to have run first: keep them in --benchmark_filter)\n"
    "  vs_memcpy         bandwidth / memcpy bandwidth of the same shape and threads\n"
    "                    (kernels and stream_copy; 1 on memcpy itself)\n"
    "  kernel_bytes_per_second, e2e_bytes_per_second\n"
    "                    device kernels (OpenCL): the byte model over the device's\n"
    "                    own kernel time (profiling events), and over upload x +\n"
    "                    forward + download y (end to end, measured after the loop)\n"
    "  cycles_per_element, instructions_per_element\n"
    "                    user-space counts via perf_event_open, averaged over threads\n"
    "                    (absent where perf is not supported; said once on stderr)\n"
    "\n"
    "Threads split the rows into contiguous blocks; each thread pins itself, first-\n"
    "touches its own block and runs its own loop.  `onednn` runs one single-threaded\n"
    "primitive per benchmark thread, so at t threads every kernel uses t cores.\n"
    "LNBENCH_PIN_FAIL=1 forces binding to fail (the run goes on unpinned, saying so);\n"
    "LNBENCH_NO_PERF=1 disables the perf counters.  NO_COLOR (set, not empty) turns\n"
    "Google Benchmark's colours off (--benchmark_color=false, unless given).\n"
    "Exit status: 0 done, 1 the run or the result file failed, 2 bad usage/input\n"
    "(nothing ran: bad flags, or a --benchmark_filter that matches nothing).\n";

typedef struct speed_opts {
    char **kernel_names;
    size_t nkernels;
    uint64_t *dims, *rows, *threads;
    size_t ndims, nrows, nthreads;
    lnb_pin_policy pin;
    int cpukind, sweep;
    int oversubscribe, affine, quick, force;
    int op, dtype, cast; /* ln_op, ln_dtype, ln_cast */
    float eps;
    uint64_t seed;
    const char *json_path;
    /* argv for Google Benchmark */
    char **gb_argv;
    int gb_argc;
    int user_min_time, user_out, user_color, list_tests;
} speed_opts;

static void say(const char *msg)
{
    fprintf(stderr, "lnbench speed: %s\n", msg);
}

/* Flags Google Benchmark reads itself (its --v=N is the only one without
 * the prefix); always in the --flag=value form. */
static int is_gb_flag(const char *a)
{
    return !strncmp(a, "--benchmark_", 12) || !strncmp(a, "--v=", 4);
}

/* Long-only options: values outside the short options' characters. */
enum {
    OPT_KERNELS = 256, OPT_DIMS, OPT_ROWS, OPT_THREADS, OPT_PIN, OPT_OVERSUBSCRIBE,
    OPT_NO_AFFINE, OPT_EPS, OPT_SEED, OPT_QUICK, OPT_JSON, OPT_FORCE, OPT_CPUKIND, OPT_OP,
    OPT_DTYPE, OPT_CAST
};

static const struct option speed_options[] = {
    {"kernels", required_argument, NULL, OPT_KERNELS},
    {"dims", required_argument, NULL, OPT_DIMS},
    {"rows", required_argument, NULL, OPT_ROWS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"pin", required_argument, NULL, OPT_PIN},
    {"cpukind", required_argument, NULL, OPT_CPUKIND},
    {"oversubscribe", no_argument, NULL, OPT_OVERSUBSCRIBE},
    {"no-affine", no_argument, NULL, OPT_NO_AFFINE},
    {"op", required_argument, NULL, OPT_OP},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {"cast", required_argument, NULL, OPT_CAST},
    {"eps", required_argument, NULL, OPT_EPS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"quick", no_argument, NULL, OPT_QUICK},
    {"json", required_argument, NULL, OPT_JSON},
    {"force", no_argument, NULL, OPT_FORCE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns 0, 1 for --help (printed), -1 on error (printed). */
static int parse_args(int argc, char **argv, speed_opts *o)
{
    char err[256];
    int c;
    /* '+': stop at the first operand, never permute argv; ':': report a
     * missing value as ':'.  Messages are ours (opterr = 0). */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", speed_options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'h':
            fputs(speed_help, stdout);
            return 1;
        case OPT_KERNELS:
            ln_free_list(o->kernel_names, o->nkernels);
            o->kernel_names = NULL;
            o->nkernels = 0;
            rc = ln_parse_name_list("--kernels", optarg, &o->kernel_names, &o->nkernels, err,
                                    sizeof err);
            break;
        case OPT_DIMS:
            free(o->dims);
            o->dims = NULL;
            o->ndims = 0;
            rc = ln_parse_u64_list("--dims", optarg, 1, (uint64_t)1 << 26, &o->dims, &o->ndims,
                                   err, sizeof err);
            break;
        case OPT_ROWS:
            free(o->rows);
            o->rows = NULL;
            o->nrows = 0;
            rc = ln_parse_u64_list("--rows", optarg, 1, (uint64_t)1 << 34, &o->rows, &o->nrows,
                                   err, sizeof err);
            break;
        case OPT_THREADS:
            free(o->threads);
            o->threads = NULL;
            o->nthreads = 0;
            o->sweep = !strcmp(optarg, "sweep");
            if (o->sweep)
                break;
            rc = ln_parse_u64_list("--threads", optarg, 1, LNB_SPEED_MAX_THREADS, &o->threads,
                                   &o->nthreads, err, sizeof err);
            break;
        case OPT_PIN:
            if (lnb_pin_policy_parse(optarg, &o->pin) != 0) {
                snprintf(err, sizeof err,
                         "--pin: unknown policy '%.64s' (cores, compact, scatter or none)",
                         optarg);
                rc = -1;
            }
            break;
        case OPT_CPUKIND:
            if (lnb_cpukind_parse(optarg, &o->cpukind) != 0) {
                snprintf(err, sizeof err, "--cpukind: unknown kind '%.64s' (all, performance, "
                         "efficiency or a kind index)", optarg);
                rc = -1;
            }
            break;
        case OPT_OVERSUBSCRIBE:
            o->oversubscribe = 1;
            break;
        case OPT_NO_AFFINE:
            o->affine = 0;
            break;
        case OPT_OP:
            if ((o->op = ln_op_from_name(optarg)) < 0) {
                snprintf(err, sizeof err, "--op: unknown operation '%.64s' (layernorm, "
                         "rmsnorm, add_layernorm or add_rmsnorm)", optarg);
                rc = -1;
            }
            break;
        case OPT_DTYPE:
            if ((o->dtype = ln_dtype_from_name(optarg)) < 0) {
                snprintf(err, sizeof err, "--dtype: unknown dtype '%.64s' (f32, bf16 or f16)",
                         optarg);
                rc = -1;
            }
            break;
        case OPT_CAST:
            if ((o->cast = ln_cast_from_name(optarg)) < 0) {
                snprintf(err, sizeof err, "--cast: unknown cast '%.64s' (single, llama or "
                         "gemma)", optarg);
                rc = -1;
            }
            break;
        case OPT_EPS:
            rc = ln_parse_float("--eps", optarg, &o->eps, err, sizeof err);
            if (rc == 0 && !(o->eps >= 0)) {
                snprintf(err, sizeof err, "--eps: '%.64s' is negative", optarg);
                rc = -1;
            }
            break;
        case OPT_SEED:
            rc = ln_parse_u64("--seed", optarg, 0, UINT64_MAX, &o->seed, err, sizeof err);
            break;
        case OPT_QUICK:
            o->quick = 1;
            break;
        case OPT_JSON:
            o->json_path = optarg;
            break;
        case OPT_FORCE:
            o->force = 1;
            break;
        default: {
            /* getopt_long has stepped past the option it did not know: a
             * Google Benchmark flag goes to Google Benchmark unchanged. */
            const char *a = argv[optind - 1];
            if (c == '?' && optopt == 0 && is_gb_flag(a)) {
                if (lnb_gb_check_flag(a, err, sizeof err) != 0) {
                    rc = -1;
                    break;
                }
                o->list_tests = !strncmp(a, "--benchmark_list_tests", 22) ?
                                    lnb_gb_flag_true(a) : o->list_tests;
                o->gb_argv[o->gb_argc++] = argv[optind - 1];
                o->user_min_time |= !strncmp(a, "--benchmark_min_time", 20);
                o->user_color |= !strncmp(a, "--benchmark_color", 17);
                o->user_out |= !strncmp(a, "--benchmark_out=", 16) ||
                               !strcmp(a, "--benchmark_out");
                break;
            }
            ln_getopt_error(c, argv, speed_options, err, sizeof err);
            rc = -1;
        }
        }
        if (rc != 0) {
            say(err);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, sizeof err, "unexpected argument '%.64s' (try --help)",
                 argv[optind]);
        say(err);
        return -1;
    }
    if (o->json_path && o->user_out) {
        say("--json and --benchmark_out cannot both be given");
        return -1;
    }
    if (o->json_path && o->list_tests) {
        say("--benchmark_list_tests runs nothing: no results for --json");
        return -1;
    }
    return 0;
}

/* The kernels to time: the named ones (each must run here and compute
 * every planned dim), else every available one that can (note_skipped
 * says which are left out). */
static int select_kernels(const speed_opts *o, const ln_desc *base, const ln_kernel **out,
                          size_t *n, char *err, size_t errlen)
{
    const ln_kernel **found = calloc(ln_kernel_count + 1, sizeof *found);
    if (!found) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t di = 0; di < o->ndims && rc == 0; di++) {
        ln_desc d = *base;
        d.dim = d.x_stride = d.y_stride = (size_t)o->dims[di];
        size_t nfound = 0;
        rc = ln_kernel_select(o->kernel_names, o->nkernels, &d, found, &nfound, err, errlen);
        if (rc != 0)
            break;
        if (di == 0) {
            memcpy(out, found, nfound * sizeof *found);
            *n = nfound;
            continue;
        }
        /* Keep those that can compute this dim too, in registry order. */
        size_t kept = 0;
        for (size_t i = 0; i < *n; i++)
            for (size_t j = 0; j < nfound; j++)
                if (out[i] == found[j]) {
                    out[kept++] = out[i];
                    break;
                }
        *n = kept;
    }
    free(found);
    return rc;
}

/* The kernels of the default list left out, and why: said once every
 * up-front check has passed, so a refusal stays one line on stderr. */
static void note_skipped(const speed_opts *o, const ln_desc *base, const ln_kernel *const *out,
                         size_t n)
{
    if (o->nkernels)
        return;
    for (size_t i = 0; i < ln_kernel_count; i++) {
        const ln_kernel *k = ln_kernels[i];
        const char *why = ln_kernel_unavailable(k);
        int chosen = 0;
        for (size_t j = 0; j < n; j++)
            chosen |= out[j] == k;
        if (!ln_device_get(k->caps.device))
            continue; /* a device this build lacks: `lnbench list` says why */
        if (why)
            fprintf(stderr, "lnbench speed: skipping %s: %s\n", k->name, why);
        else if (!chosen) {
            /* The kernel's reason (for the first dim: the usual case). */
            ln_desc d = *base;
            const char *reason = NULL;
            d.dim = d.x_stride = d.y_stride = (size_t)o->dims[0];
            ln_kernel_supports(k, &d, &reason);
            fprintf(stderr, "lnbench speed: skipping %s: cannot compute %s %s (cast %s): %s\n",
                    k->name, ln_op_name(base->op), ln_dtype_name(base->dtype),
                    ln_cast_name(base->cast), reason ? reason : "not for every dim");
        }
    }
}

/* "lnbench speed --dims ...": the command line, for the run's context. */
static char *command_line(int argc, char **argv)
{
    size_t len = strlen("lnbench") + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, "lnbench");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int cmd_speed(int argc, char **argv)
{
    speed_opts o;
    memset(&o, 0, sizeof o);
    o.pin = LNB_PIN_CORES;
    o.cpukind = LNB_CPUKIND_ALL;
    o.affine = 1;
    o.eps = 1e-5f;
    o.seed = 1;
    /* argv[0], the pass-through flags, min_time, color, out, out_format. */
    o.gb_argv = calloc((size_t)argc + 5, sizeof *o.gb_argv);
    int status = 2;
    ln_outfile *json = NULL;
    const ln_kernel **kernels = NULL;
    lnb_shape *shapes = NULL;
    int *threads = NULL;
    lnb_topo *topo = NULL;
    char *command = NULL;
    size_t nk = 0, nshapes = 0;
    char err[512];
    char min_time_arg[64], out_arg[64];
    static char gb_name[] = "lnbench speed";
    static char out_format[] = "--benchmark_out_format=json";
    static char no_color_arg[] = "--benchmark_color=false";

    if (!o.gb_argv) {
        say("out of memory");
        goto done;
    }
    o.gb_argv[o.gb_argc++] = gb_name;
    int prc = parse_args(argc, argv, &o);
    if (prc != 0) {
        status = prc > 0 ? 0 : 2;
        goto done;
    }
    if (!o.ndims) {
        static const uint64_t dflt[] = {768, 1024, 4096, 8192, 12288};
        static const uint64_t quick[] = {768, 4096};
        const uint64_t *d = o.quick ? quick : dflt;
        size_t nd = o.quick ? sizeof quick / sizeof quick[0] : sizeof dflt / sizeof dflt[0];
        o.dims = malloc(nd * sizeof *d);
        if (!o.dims) {
            say("out of memory");
            goto done;
        }
        memcpy(o.dims, d, nd * sizeof *d);
        o.ndims = nd;
    }

    /* What every benchmark computes; rows, dim and strides are its own.
     * The RMS forms have w (gamma) and no beta. */
    unsigned affine = ln_op_is_rms((ln_op)o.op) ? LN_TENSOR_GAMMA
                                                : LN_TENSOR_GAMMA | LN_TENSOR_BETA;
    ln_desc desc = {
        .op = (ln_op)o.op,
        .dtype = (ln_dtype)o.dtype,
        .cast = (ln_cast)o.cast,
        .dim = 1, .x_stride = 1, .y_stride = 1,
        .eps = o.eps,
        .tensors = o.affine ? affine : 0u,
        .store = LN_STORE_AUTO,
    };
    const char *invalid = NULL;
    if (ln_desc_valid(&desc, &invalid) != 0) {
        snprintf(err, sizeof err, "--op %s --dtype %s --cast %s: %s", ln_op_name(desc.op),
                 ln_dtype_name(desc.dtype), ln_cast_name(desc.cast), invalid);
        say(err);
        goto done;
    }
    kernels = calloc(ln_kernel_count + 1, sizeof *kernels);
    if (!kernels) {
        say("out of memory");
        goto done;
    }
    if (select_kernels(&o, &desc, kernels, &nk, err, sizeof err) != 0) {
        say(err);
        goto done;
    }

    topo = lnb_topo_open(err, sizeof err);
    if (!topo) {
        say(err);
        status = 1;
        goto done;
    }
    /* The cores and PUs of the chosen core kind bound the thread counts. */
    int cores = 0, pus = 0;
    if (lnb_place_capacity(topo, o.cpukind, &cores, &pus, err, sizeof err) != 0) {
        say(err);
        goto done;
    }
    if (o.sweep) {
        int counts[64];
        size_t nc = lnb_place_sweep(cores, pus, LNB_SPEED_MAX_THREADS, counts, 64);
        o.threads = calloc(nc, sizeof *o.threads);
        if (!o.threads) {
            say("out of memory");
            goto done;
        }
        for (size_t i = 0; i < nc; i++)
            o.threads[o.nthreads++] = (uint64_t)counts[i];
    }
    if (!o.nthreads) {
        o.threads = calloc(2, sizeof *o.threads);
        if (!o.threads) {
            say("out of memory");
            goto done;
        }
        o.threads[o.nthreads++] = 1;
        if (cores > 1)
            o.threads[o.nthreads++] =
                (uint64_t)(cores < LNB_SPEED_MAX_THREADS ? cores : LNB_SPEED_MAX_THREADS);
    }
    threads = calloc(o.nthreads, sizeof *threads);
    if (!threads) {
        say("out of memory");
        goto done;
    }
    int max_threads = 1;
    for (size_t i = 0; i < o.nthreads; i++) {
        if ((int)o.threads[i] > pus && !o.oversubscribe) {
            snprintf(err, sizeof err,
                     "--threads: %llu exceeds the %d PUs hwloc reports%s "
                     "(--oversubscribe allows it)",
                     (unsigned long long)o.threads[i], pus,
                     o.cpukind == LNB_CPUKIND_ALL ? "" : " for that core kind");
            say(err);
            goto done;
        }
        threads[i] = (int)o.threads[i];
        if (threads[i] > max_threads)
            max_threads = threads[i];
    }

    /* Shapes, and the memory check before anything is allocated. */
    shapes = calloc(o.ndims * (o.nrows ? o.nrows : LNB_SPEED_DEFAULT_SHAPES), sizeof *shapes);
    if (!shapes) {
        say("out of memory");
        goto done;
    }
    for (size_t d = 0; d < o.ndims; d++) {
        size_t dim = (size_t)o.dims[d];
        size_t r[LNB_SPEED_DEFAULT_SHAPES] = {0};
        size_t nr = o.nrows ? o.nrows : lnb_speed_default_rows(topo, &desc, dim, o.quick, r);
        for (size_t i = 0; i < nr; i++) {
            size_t rows = o.nrows ? (size_t)o.rows[i] : r[i];
            if (lnb_speed_shape_fits(&desc, rows, dim, max_threads, err, sizeof err) != 0) {
                say(err);
                goto done;
            }
            shapes[nshapes].rows = rows;
            shapes[nshapes].dim = dim;
            nshapes++;
        }
    }

    /* Google Benchmark's flags: the user's, then our defaults. */
    if (!o.user_min_time) {
        snprintf(min_time_arg, sizeof min_time_arg, "--benchmark_min_time=%s",
                 o.quick ? QUICK_MIN_TIME : DEFAULT_MIN_TIME);
        o.gb_argv[o.gb_argc++] = min_time_arg;
    }
    /* https://no-color.org: Google Benchmark 1.7 does not read NO_COLOR. */
    const char *no_color = getenv("NO_COLOR");
    if (no_color && *no_color && !o.user_color)
        o.gb_argv[o.gb_argc++] = no_color_arg;
    /* Before any output exists: every catchable signal removes the
     * temporaries (common/signals.c). */
    ln_signals_install();
    if (o.json_path) {
        /* Opened now so a bad path fails before the run.  The shim writes
         * Google Benchmark's JSON into this checked stream once the run is
         * complete (Google Benchmark's own file writes go unchecked), and
         * the file is renamed into place only when that succeeded. */
        json = ln_outfile_open(o.json_path, o.force, err, sizeof err);
        if (!json) {
            fprintf(stderr, "lnbench speed: --json: %s\n", err);
            goto done;
        }
        lnb_gb_json_to(ln_outfile_stream(json), strcmp(o.json_path, "-") == 0);
        snprintf(out_arg, sizeof out_arg, "--benchmark_out=/dev/null");
        o.gb_argv[o.gb_argc++] = out_arg;
        o.gb_argv[o.gb_argc++] = out_format;
    }
    o.gb_argv[o.gb_argc] = NULL;
    note_skipped(&o, &desc, kernels, nk);

    const char *isas[LN_ISA_COUNT];
    command = command_line(argc, argv);
    if (!command) {
        say("out of memory");
        goto done;
    }
    lnb_speed_plan plan = {
        .topo = topo,
        .kernels = kernels, .nkernels = nk,
        .shapes = shapes, .nshapes = nshapes,
        .threads = threads, .nthreads = o.nthreads,
        .pin = o.pin,
        .cpukind = o.cpukind,
        .desc = desc,
        .seed = o.seed,
        .isas = isas, .nisas = cli_isas(isas, LN_ISA_COUNT),
        .command = command,
    };
    atexit(ln_output_cleanup_all); /* Google Benchmark may exit() on bad flags */
    switch (lnb_speed_run(&plan, o.gb_argc, o.gb_argv, err, sizeof err)) {
    case LNB_SPEED_OK:
        break;
    case LNB_SPEED_BAD_FLAGS:
    case LNB_SPEED_NOTHING_RAN:
        /* Google Benchmark has said why (one line); no result file: an
         * empty one would only mislead a comparison. */
        goto done;
    case LNB_SPEED_FAILED:
        say(err);
        status = 1;
        goto done;
    }
    /* The console table complete?  (> /dev/full: exit 1, nothing committed.) */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        say("error writing standard output");
        status = 1;
        goto done;
    }
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
    lnb_gb_json_to(NULL, 0);
    ln_outfile_abort(json);
    lnb_topo_close(topo);
    free(command);
    free(shapes);
    free(threads);
    free(kernels);
    ln_free_list(o.kernel_names, o.nkernels);
    free(o.dims);
    free(o.rows);
    free(o.threads);
    free(o.gb_argv);
    return status;
}
