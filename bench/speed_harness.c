/*
 * speed_harness.c - the speed harness behind speed_harness.h: Google
 * Benchmark through gbench_shim.h, threads pinned with pinning.h, cycles and
 * instructions from perf_counters.h.
 *
 * Threads: Google Benchmark starts t threads per run; thread i binds itself
 * to its planned PU (placement.h), then allocates and first-touches its own
 * contiguous block of rows (so the pages land on its NUMA node) and runs its
 * own loop.
 * Real time is wall-clock (UseRealTime), so rates are aggregate throughput.
 *
 * The byte model (lnb_speed_row_bytes): per row, dim elements of the dtype
 * read from x and written to y, and for the add_ operations also read from
 * the residual and written to h; gamma/beta/w (dim elements each) once per
 * call, since they stay in cache across the rows of a call.  bf16 LayerNorm
 * moves 4 bytes per element, binary32 8, bf16 add_rmsnorm 8.
 *
 * References: per shape and thread count, `memcpy` (glibc's) and then
 * `stream_copy` (stream_copy.h) copy each thread's block of x to y, and for
 * the add_ operations the residual to h, under the same threads, pinning
 * and first touch as the kernels: they move exactly the bytes per row of
 * the kernel's model over a working set of the same size, so they measure
 * the same cache regime (a bf16 shape's working set is half a binary32
 * one's and may fit where the binary32 one does not).  A kernel's roofline
 * is its bandwidth over the faster of the two.  (The add_ references run
 * their two copies one after the other, two streams at a time, where the
 * kernel has four in flight: on DRAM the two can differ by a few %.)
 *
 * Store hint: each kernel gets LN_STORE_STREAMING or LN_STORE_CACHED from
 * the whole benchmark's working set, x + y (+ residual + h) over all its
 * threads, against the LLC hwloc reports (ln_streaming_pays,
 * kernels/store_policy.h: stream above three eighths of it with one thread,
 * above half with more).  A kernel left on
 * LN_STORE_AUTO would see only its thread's share and keep cached stores
 * on a working set that no longer fits.
 */
#define _POSIX_C_SOURCE 200809L
#include "speed_harness.h"

#include "args.h"
#include "cpu_features.h"
#include "gbench_shim.h"
#include "inputs.h"
#include "perf_counters.h"
#include "provenance.h"
#include "store_policy.h"
#include "stream_copy.h"

#include "dtype_convert.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS LNB_SPEED_MAX_THREADS

/* What a benchmark runs. */
typedef enum case_kind {
    CASE_MEMCPY = 0, /* reference: glibc memcpy */
    CASE_STREAM,     /* reference: stream_copy */
    CASE_KERNEL
} case_kind;

/* One reference's measured bandwidth for one shape and thread count: each
 * thread's share (see body), summing to its bytes_per_second. */
typedef struct refbw {
    double bw[MAX_THREADS];
    unsigned char done[MAX_THREADS];
} refbw;

/* The references of one shape and thread count. */
typedef struct refrec {
    refbw mem, stream;
} refrec;

typedef struct bench_case {
    case_kind kind;
    const ln_kernel *k; /* CASE_KERNEL's kernel, else NULL */
    size_t dim, rows;
    int threads;
    ln_store_hint store; /* the kernel's hint for this shape */
    refrec *ref;
} bench_case;

/* One benchmark thread index's buffers.  Thread i of every run uses slot i
 * only, and runs never overlap (Google Benchmark joins its threads), so the
 * slots need no lock. */
typedef struct slot {
    int valid, threads;
    size_t dim, rows; /* the whole shape */
    size_t row0, nrows; /* this thread's block */
    void *x, *y, *residual, *h, *gamma, *beta; /* elements of the plan's dtype */
} slot;

/* The run's settings, shared read-only by the benchmark bodies. */
static struct {
    lnb_topo *topo;
    lnb_pin_policy pin;
    int pin_ok;  /* the start-up probe bound every planned PU */
    lnb_place place[MAX_THREADS]; /* placement.h's plan for the most threads */
    int perf_ok; /* perf_event_open worked at start-up */
    char perf_note[300]; /* else why not */
    ln_desc desc; /* the plan's; rows, dim and strides set per benchmark */
    uint64_t seed;
    const ln_dist *dist;
    const lnb_stream_copy *stream; /* the widest stream copy allowed here */
    slot slots[MAX_THREADS];
} g;

static atomic_flag warned_pin = ATOMIC_FLAG_INIT;
static atomic_flag warned_perf = ATOMIC_FLAG_INIT;
static atomic_flag warned_numa = ATOMIC_FLAG_INIT;

/* memcpy through a volatile pointer: the compiler cannot see that repeated
 * copies of the same buffer are redundant and drop them. */
static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;

static void slot_free(slot *s)
{
    free(s->x);
    free(s->y);
    free(s->residual);
    free(s->h);
    free(s->gamma);
    free(s->beta);
    memset(s, 0, sizeof *s);
}

static void *alloc_bytes(size_t n)
{
    /* 64-byte aligned, size rounded up as aligned_alloc requires. */
    size_t bytes = (n + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes ? bytes : 64);
}

size_t lnb_speed_row_bytes(const ln_desc *d, size_t dim)
{
    size_t streams = ln_op_has_residual(d->op) ? 4 : 2;
    return streams * dim * ln_dtype_size(d->dtype);
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
    const ln_dtype dt = g.desc.dtype;
    const int add = ln_op_has_residual(g.desc.op);
    size_t n = s->nrows * c->dim, es = ln_dtype_size(dt);
    /* Values are generated in binary32 (straight into x for f32), then
     * rounded to the dtype; the staging block is transient. */
    float *stage = dt == LN_DTYPE_F32 ? NULL : malloc(n * sizeof(float));
    float *vecs = malloc(2 * c->dim * sizeof(float));
    s->x = alloc_bytes(n * es);
    s->y = alloc_bytes(n * es);
    s->residual = add ? alloc_bytes(n * es) : NULL;
    s->h = add ? alloc_bytes(n * es) : NULL;
    s->gamma = alloc_bytes(c->dim * es);
    s->beta = alloc_bytes(c->dim * es);
    if ((dt != LN_DTYPE_F32 && !stage) || !vecs || !s->x || !s->y || !s->gamma || !s->beta ||
        (add && (!s->residual || !s->h))) {
        free(stage);
        free(vecs);
        slot_free(s);
        snprintf(err, errlen, "out of memory for %zu x %zu", c->rows, c->dim);
        return -1;
    }
    /* Each block gets its own stream (seed offset by its first row); the
     * residual its own too. */
    float *gen = stage ? stage : s->x;
    ln_generate(g.dist, g.seed + s->row0, s->nrows, c->dim, gen, c->dim);
    if (stage)
        ln_dtype_pack(dt, s->x, stage, n);
    if (add) {
        gen = stage ? stage : s->residual;
        ln_generate(g.dist, g.seed + c->rows + s->row0, s->nrows, c->dim, gen, c->dim);
        if (stage)
            ln_dtype_pack(dt, s->residual, stage, n);
        memset(s->h, 0, n * es);
    }
    memset(s->y, 0, n * es);
    ln_generate_affine(g.seed, c->dim, vecs, vecs + c->dim);
    ln_dtype_pack(dt, s->gamma, vecs, c->dim);
    ln_dtype_pack(dt, s->beta, vecs + c->dim, c->dim);
    free(stage);
    free(vecs);
    /* Where first touch put the rows, when this machine can say: off the
     * planned node, bandwidth is not the node's (said once). */
    if (g.pin_ok && g.place[i].numa >= 0) {
        char why[160];
        int node = lnb_mem_node(g.topo, s->x, n * es, why, sizeof why);
        if (node != -1 && node != g.place[i].numa && !atomic_flag_test_and_set(&warned_numa))
            fprintf(stderr, "lnbench speed: thread %d's rows are on NUMA node %d%s, not the "
                    "planned %d\n", i, node, node == -2 ? " (several)" : "", g.place[i].numa);
    }
    s->dim = c->dim;
    s->rows = c->rows;
    s->threads = c->threads;
    s->valid = 1;
    return 0;
}

/* A reference's aggregate bandwidth over t threads, 0 until all have run. */
static double ref_bw(const refbw *r, int t)
{
    double sum = 0.0;
    for (int j = 0; j < t; j++) {
        if (!r->done[j])
            return 0.0;
        sum += r->bw[j];
    }
    return sum;
}

/* ------------------------------------------------------ device kernels */

/* What a device kernel's loop measured beyond the loop time. */
typedef struct device_measure {
    int kernel_ok;      /* device_seconds answered for every forward */
    double kernel_secs; /* sum of the device's own times of the forwards */
    double e2e_secs;    /* wall time of the end-to-end iterations */
    uint64_t e2e_iters;
} device_measure;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A device kernel's (caps.device != host) run: the slot's block copied to
 * device buffers and one warm-up forward before Google Benchmark's timer
 * starts; the timed loop is
 * forward + synchronize, each forward's device time (device_seconds: OpenCL
 * profiling events) summed for kernel-only bandwidth; then, outside the
 * timer, end-to-end iterations (upload x, forward, download y, wait) for at
 * least 3 iterations and 50 ms.  0, or -1 with err. */
static int device_loop(lnb_gb_state *st, const bench_case *c, const slot *s, const ln_desc *d,
                       void *state, const ln_device_ops *dev, device_measure *m, char *err,
                       size_t errlen)
{
    size_t es = ln_dtype_size(d->dtype), bytes = s->nrows * c->dim * es, vb = c->dim * es;
    int has_g = !!(d->tensors & LN_TENSOR_GAMMA), has_b = !!(d->tensors & LN_TENSOR_BETA);
    void *x = dev->alloc(bytes), *y = dev->alloc(bytes);
    void *gm = has_g ? dev->alloc(vb) : NULL, *bt = has_b ? dev->alloc(vb) : NULL;
    int failed = 0;
    uint64_t n;

    memset(m, 0, sizeof *m);
    m->kernel_ok = c->k->device_seconds != NULL;
    if (!x || !y || (has_g && !gm) || (has_b && !bt) || dev->set(x, s->x, bytes) ||
        (gm && dev->set(gm, s->gamma, vb)) || (bt && dev->set(bt, s->beta, vb)) ||
        dev->synchronize()) {
        snprintf(err, errlen, "%s: no %s buffers for %zu x %zu", c->k->name, dev->name,
                 s->nrows, c->dim);
        failed = 1;
        while (lnb_gb_batch(st) > 0)
            ;
        goto out;
    }
    ln_tensors t = {.x = x, .y = y, .gamma = gm, .beta = bt};
    /* One untimed forward: drivers compile lazily (PoCL specialises each
     * kernel for its work-group size on the first launch, seconds). */
    if (c->k->forward(d, &t, state) != 0 || dev->synchronize() != 0) {
        snprintf(err, errlen, "%s: forward failed", c->k->name);
        failed = 1;
        while (lnb_gb_batch(st) > 0)
            ;
        goto out;
    }
    while ((n = lnb_gb_batch(st)) > 0) {
        for (uint64_t it = 0; it < n; it++) {
            failed |= c->k->forward(d, &t, state) != 0;
            failed |= dev->synchronize() != 0;
            double secs;
            if (m->kernel_ok && c->k->device_seconds(state, &secs) == 0)
                m->kernel_secs += secs;
            else
                m->kernel_ok = 0;
        }
    }
    double t0 = now_seconds(), t1 = t0;
    while (!failed && (m->e2e_iters < 3 || t1 - t0 < 0.05) && m->e2e_iters < 100000) {
        failed |= dev->set(x, s->x, bytes) != 0;
        failed |= c->k->forward(d, &t, state) != 0;
        failed |= dev->get(s->y, y, bytes) != 0;
        failed |= dev->synchronize() != 0;
        m->e2e_iters++;
        t1 = now_seconds();
    }
    m->e2e_secs = t1 - t0;
    if (failed)
        snprintf(err, errlen, "%s: forward failed", c->k->name);
out:
    if (x)
        dev->free(x);
    if (y)
        dev->free(y);
    if (gm)
        dev->free(gm);
    if (bt)
        dev->free(bt);
    return failed ? -1 : 0;
}

/* kernel_bytes_per_second: the byte model over the device's own kernel
 * time; e2e_bytes_per_second: the same bytes over the end-to-end time,
 * transfers included (each thread's, summed over threads). */
static void device_counters(lnb_gb_state *st, const device_measure *m, double iters,
                            double bytes_call)
{
    if (m->kernel_ok && m->kernel_secs > 0)
        lnb_gb_counter(st, "kernel_bytes_per_second", iters * bytes_call / m->kernel_secs,
                       LNB_GB_DEFAULT);
    if (m->e2e_secs > 0)
        lnb_gb_counter(st, "e2e_bytes_per_second",
                       (double)m->e2e_iters * bytes_call / m->e2e_secs, LNB_GB_DEFAULT);
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
        if (lnb_pin_self(g.topo, g.place[i].pu, err, sizeof err) == 0)
            pinned = 1;
        else if (!atomic_flag_test_and_set(&warned_pin))
            fprintf(stderr, "lnbench speed: %s; this thread runs unpinned\n", err);
    }
    if (slot_ensure(i, c, err, sizeof err) != 0) {
        lnb_gb_skip(st, err);
        return;
    }
    slot *s = &g.slots[i];
    ln_desc d = g.desc;
    d.rows = s->nrows;
    d.dim = d.x_stride = d.y_stride = c->dim;
    d.store = c->store;
    ln_tensors tens = {
        .x = s->x, .y = s->y,
        .gamma = d.tensors & LN_TENSOR_GAMMA ? s->gamma : NULL,
        .beta = d.tensors & LN_TENSOR_BETA ? s->beta : NULL,
        .residual = s->residual, .h = s->h,
    };
    const ln_device_ops *dev = c->k ? ln_device_get(c->k->caps.device) : NULL;
    if (c->k && !dev) {
        snprintf(err, sizeof err, "%s: no device %s", c->k->name,
                 ln_device_name(c->k->caps.device));
        lnb_gb_skip(st, err);
        return;
    }
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
    device_measure devm = {0};
    if (c->k && c->k->caps.device != LN_DEVICE_HOST) {
        failed = device_loop(st, c, s, &d, state, dev, &devm, err, sizeof err) != 0;
    } else if (c->k) {
        int (*forward)(const ln_desc *, const ln_tensors *, void *) = c->k->forward;
        /* A device kernel may return before its work is done: wait for it
         * after every batch, so the timer that the next lnb_gb_batch call
         * stops covers the work. */
        while ((n = lnb_gb_batch(st)) > 0) {
            for (uint64_t it = 0; it < n; it++)
                failed |= forward(&d, &tens, state);
            failed |= dev->synchronize();
        }
    } else if (c->kind == CASE_MEMCPY) {
        /* x -> y, and residual -> h for the add_ ops: the model's bytes. */
        size_t bytes = s->nrows * c->dim * ln_dtype_size(d.dtype);
        while ((n = lnb_gb_batch(st)) > 0)
            for (uint64_t it = 0; it < n; it++) {
                copy_fn(s->y, s->x, bytes);
                if (s->h)
                    copy_fn(s->h, s->residual, bytes);
            }
    } else {
        /* The same bytes as floats; a bf16/f16 block of odd length leaves
         * 2 bytes, copied plainly. */
        void (*stream_fn)(float *, const float *, size_t) = g.stream->copy;
        size_t bytes = s->nrows * c->dim * ln_dtype_size(d.dtype);
        size_t count = bytes / sizeof(float), tail = bytes % sizeof(float);
        while ((n = lnb_gb_batch(st)) > 0)
            for (uint64_t it = 0; it < n; it++) {
                stream_fn(s->y, s->x, count);
                if (tail)
                    memcpy((char *)s->y + bytes - tail, (const char *)s->x + bytes - tail, tail);
                if (s->h) {
                    stream_fn(s->h, s->residual, count);
                    if (tail)
                        memcpy((char *)s->h + bytes - tail,
                               (const char *)s->residual + bytes - tail, tail);
                }
            }
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
        if (c->k->caps.device == LN_DEVICE_HOST)
            snprintf(err, sizeof err, "%s: forward failed", c->k->name);
        lnb_gb_skip(st, err);
        return;
    }

    /* Counters: Google Benchmark sums each over the threads (then divides
     * rates by the run's wall time, AVG_THREADS ones by the thread count). */
    double iters = (double)lnb_gb_iterations(st);
    double elems = (double)s->nrows * (double)c->dim;
    /* The byte model: the streams per row, and gamma/beta once per call
     * (cache-resident across its rows); references: the streams only. */
    int vectors = !!(d.tensors & LN_TENSOR_GAMMA) + !!(d.tensors & LN_TENSOR_BETA);
    double bytes_call = (double)s->nrows * (double)lnb_speed_row_bytes(&d, c->dim) +
                        (c->k ? (double)(vectors * ln_dtype_size(d.dtype)) * (double)c->dim : 0.0);
    lnb_gb_counter(st, "bytes_per_second", iters * bytes_call, LNB_GB_RATE);
    lnb_gb_counter(st, "items_per_second", iters * elems, LNB_GB_RATE);
    if (c->k && c->k->caps.device != LN_DEVICE_HOST)
        device_counters(st, &devm, iters, bytes_call);
    /* Wall-clock ns per row of the shape: the threads run their blocks side
     * by side, so one iteration of each covers the whole shape once. */
    double secs = lnb_gb_loop_seconds(st);
    if (iters > 0)
        lnb_gb_counter(st, "ns_per_row", secs * 1e9 / (iters * (double)c->rows),
                       LNB_GB_AVG_THREADS);
    /* This thread's share of the aggregate bandwidth as Google Benchmark
     * reports it: its bytes over the mean of the threads' loop times (the
     * time Google Benchmark divides bytes_per_second by), so the shares add
     * up to bytes_per_second exactly. */
    double run_secs = lnb_gb_run_seconds(st);
    double bw = run_secs > 0 ? iters * bytes_call / run_secs : 0.0;
    if (c->kind == CASE_MEMCPY) {
        c->ref->mem.bw[i] = bw;
        c->ref->mem.done[i] = 1;
        lnb_gb_counter(st, "vs_memcpy", 1.0, LNB_GB_AVG_THREADS);
    } else {
        /* Ratios to the references of this shape and thread count, which
         * ran before (memcpy, then stream_copy; a reference never reads its
         * own run's records, which its other threads are still writing).
         * Each thread contributes its share over the aggregate reference;
         * Google Benchmark's sum over the threads is the ratio of the
         * bytes_per_second it reports. */
        double mem_bw = ref_bw(&c->ref->mem, t);
        if (mem_bw > 0)
            lnb_gb_counter(st, "vs_memcpy", bw / mem_bw, LNB_GB_DEFAULT);
        if (c->kind == CASE_STREAM) {
            c->ref->stream.bw[i] = bw;
            c->ref->stream.done[i] = 1;
        } else {
            double stream_bw = ref_bw(&c->ref->stream, t);
            double roof = mem_bw > stream_bw ? mem_bw : stream_bw;
            if (mem_bw > 0 && stream_bw > 0)
                lnb_gb_counter(st, "roofline", bw / roof, LNB_GB_DEFAULT);
        }
    }
    if (have_perf && iters * elems > 0) {
        lnb_gb_counter(st, "cycles_per_element", (double)cycles / (iters * elems),
                       LNB_GB_AVG_THREADS);
        lnb_gb_counter(st, "instructions_per_element",
                       (double)instructions / (iters * elems), LNB_GB_AVG_THREADS);
    }
    if (i == 0) {
        /* "<op>/<dtype>/<cast> <placement>": what ran, and where. */
        char label[160];
        int len = snprintf(label, sizeof label, "%s/%s/%s ", ln_op_name(d.op),
                           ln_dtype_name(d.dtype), ln_cast_name(d.cast));
        if (g.pin == LNB_PIN_NONE || !g.pin_ok || !pinned) {
            snprintf(label + len, sizeof label - (size_t)len, "unpinned");
        } else {
            len += snprintf(label + len, sizeof label - (size_t)len, "%s:pu",
                            lnb_pin_policy_name(g.pin));
            for (int j = 0; j < t && len > 0 && (size_t)len < sizeof label - 8; j++)
                len += snprintf(label + len, sizeof label - (size_t)len, "%s%d",
                                j ? "," : "", g.place[j].pu);
        }
        lnb_gb_label(st, label);
    }
}

/* ---------------------------------------------------------------- plan */

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

size_t lnb_speed_default_rows(const lnb_topo *t, const ln_desc *d, size_t dim, int quick,
                              size_t out[LNB_SPEED_DEFAULT_SHAPES])
{
    size_t l2 = lnb_topo_cache_bytes(t, 2);
    size_t llc = lnb_topo_llc_bytes(t, NULL);
    if (!l2)
        l2 = (size_t)1 << 20;
    if (!llc)
        llc = ln_llc_bytes();
    double row_bytes = (double)lnb_speed_row_bytes(d, dim);
    size_t cand[LNB_SPEED_DEFAULT_SHAPES] = {
        round_floor((double)l2 / 2 / row_bytes), round_floor((double)llc / 2 / row_bytes),
        round_ceil(4.0 * (double)llc / row_bytes), LNB_SPEED_COMMON_ROWS,
        quick ? 0 : round_ceil(LNB_SPEED_COMMON_BYTES / row_bytes)};
    /* ascending, each count once */
    size_t n = 0;
    for (;;) {
        size_t next = 0;
        for (int i = 0; i < LNB_SPEED_DEFAULT_SHAPES; i++)
            if (cand[i] && (n == 0 || cand[i] > out[n - 1]) && (next == 0 || cand[i] < next))
                next = cand[i];
        if (next == 0)
            return n;
        out[n++] = next;
    }
}

int lnb_speed_shape_fits(const ln_desc *d, size_t rows, size_t dim, int max_threads,
                         char *err, size_t errlen)
{
    /* The model's streams, per-thread gamma and beta, and for bf16/f16 the
     * transient binary32 block the inputs are generated in. */
    double es = (double)ln_dtype_size(d->dtype);
    double need = (double)rows * (double)lnb_speed_row_bytes(d, dim) +
                  2.0 * es * (double)dim * (double)max_threads +
                  (d->dtype == LN_DTYPE_F32 ? 0.0 : 4.0 * (double)rows * (double)dim);
    uint64_t phys = ln_physical_memory();
    if (need > (double)(SIZE_MAX / 2) || (phys && need > 0.8 * (double)phys)) {
        snprintf(err, errlen,
                 "shape %zu x %zu needs %.1f GiB of buffers, more than 80%% of "
                 "the %.1f GiB of memory",
                 rows, dim, need / (1 << 30), (double)phys / (1 << 30));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ run */

static void add_context_size(const char *key, size_t bytes)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%zu", bytes);
    lnb_gb_add_context(key, buf);
}

/* The machine's topology and the placement plan actually used (placement.h),
 * with the start-up check of where first touch put each thread's pages. */
static void add_placement_context(const lnb_speed_plan *p, int max_threads)
{
    char buf[2048], err[256];
    lnb_topo_summary(g.topo, buf, sizeof buf);
    lnb_gb_add_context("topology", buf);
    lnb_topo_kinds_summary(g.topo, buf, sizeof buf);
    lnb_gb_add_context("core_kinds", buf);
    lnb_cpukind_name(p->cpukind, buf, sizeof buf);
    lnb_gb_add_context("cpukind", buf);
    int len = snprintf(buf, sizeof buf, "%s, %d thread%s: ", lnb_pin_policy_name(g.pin),
                       max_threads, max_threads > 1 ? "s" : "");
    lnb_place_format(g.place, max_threads, buf + len, sizeof buf - (size_t)len);
    lnb_gb_add_context("placement", buf);
    int on_node = 0, checked = 0;
    for (int i = 0; i < max_threads; i++)
        checked += g.place[i].numa >= 0;
    if (g.pin == LNB_PIN_NONE || !g.pin_ok)
        snprintf(buf, sizeof buf, "unpinned: pages where the OS puts them");
    else if (lnb_mem_probe(g.topo, g.place, max_threads, &on_node, err, sizeof err) != 0)
        snprintf(buf, sizeof buf, "first touch by each pinned thread; not checked: %.200s", err);
    else
        snprintf(buf, sizeof buf,
                 "first touch by each pinned thread; checked at start-up: %d of %d threads' "
                 "pages on their planned NUMA node", on_node, checked);
    lnb_gb_add_context("memory_placement", buf);
}

/* The provenance stanza: Google Benchmark's JSON "context" and console
 * header. */
static void add_context(const lnb_speed_plan *p, const char *pin_status,
                        const char *perf_status, int max_threads, size_t llc)
{
    char buf[1024];
    lnb_gb_add_context("hostname", ln_prov_hostname());
    lnb_gb_add_context("version", ln_prov_version());
    lnb_gb_add_context("git_commit", ln_prov_git_commit());
    lnb_gb_add_context("compiler", ln_prov_compiler());
    lnb_gb_add_context("c_flags", ln_prov_c_flags());
    lnb_gb_add_context("build_type", ln_prov_build_type());
    buf[0] = '\0';
    for (size_t i = 0; i < p->nisas; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "", p->isas[i]);
    }
    lnb_gb_add_context("isas", buf[0] ? buf : "none");
    /* "<device>_device": the GPU the device kernels run on. */
    for (int dv = LN_DEVICE_HOST + 1; dv < LN_DEVICE_COUNT; dv++) {
        const ln_device_ops *dev = ln_device_get((ln_device)dv);
        const char *on = dev && dev->describe ? dev->describe() : NULL;
        if (on) {
            snprintf(buf, sizeof buf, "%s_device", ln_device_name((ln_device)dv));
            lnb_gb_add_context(buf, on);
        }
    }
    lnb_gb_add_context("cpu_model", lnb_topo_cpu_model(g.topo));
    lnb_gb_add_context("cpu_vendor", lnb_topo_cpu_vendor(g.topo));
    lnb_gb_add_context("cpu_signature", ln_prov_cpu_signature());
    lnb_gb_add_context("cpu_uarch", ln_prov_cpu_uarch());
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
                     g.place[i].core, g.place[i].pu);
    }
    lnb_gb_add_context("pin_threads", buf);
    add_placement_context(p, max_threads);
    lnb_gb_add_context("perf_counters", perf_status);
    /* What was computed, and the byte model it is counted with. */
    const ln_desc *d = &p->desc;
    int add = ln_op_has_residual(d->op);
    size_t es = ln_dtype_size(d->dtype);
    lnb_gb_add_context("op", ln_op_name(d->op));
    lnb_gb_add_context("dtype", ln_dtype_name(d->dtype));
    lnb_gb_add_context("cast", ln_cast_name(d->cast));
    snprintf(buf, sizeof buf, "%zu", lnb_speed_row_bytes(d, 1));
    lnb_gb_add_context("bytes_per_element", buf);
    int vectors = !!(d->tensors & LN_TENSOR_GAMMA) + !!(d->tensors & LN_TENSOR_BETA);
    snprintf(buf, sizeof buf,
             "%zu bytes per element (read x, write y%s; %s %zu bytes) + %zu bytes per column "
             "(gamma/w and beta as present, once per call per thread: cache-resident across "
             "its rows); memcpy and stream_copy copy x to y%s, %zu bytes per element",
             lnb_speed_row_bytes(d, 1), add ? ", read residual, write h" : "",
             ln_dtype_name(d->dtype), es, (size_t)vectors * es,
             add ? " and residual to h" : "", lnb_speed_row_bytes(d, 1));
    lnb_gb_add_context("byte_model", buf);
    snprintf(buf, sizeof buf, "%s: %s", g.stream->name, g.stream->how);
    lnb_gb_add_context("stream_copy", buf);
    lnb_gb_add_context("roofline",
                       "kernel bandwidth / max(memcpy, stream_copy) of the same shape and "
                       "threads in this run; vs_memcpy = kernel / memcpy");
    if (p->desc.store == LN_STORE_AUTO)
        snprintf(buf, sizeof buf,
                 "streaming when x + y%s over all threads > 3/8 LLC with one thread, > LLC/2 "
                 "with more (LLC %zu bytes), else cached",
                 add ? " + residual + h" : "", llc);
    else
        snprintf(buf, sizeof buf, "%s for every shape",
                 p->desc.store == LN_STORE_STREAMING ? "streaming" : "cached");
    lnb_gb_add_context("store_policy", buf);
    lnb_gb_add_context("name_format",
                       "<kernel>/dim:<dim>/rows:<rows>/real_time/threads:<t> for layernorm f32 "
                       "single, else <kernel>/op:<op>/dtype:<dtype>/cast:<cast>/dim:<dim>/"
                       "rows:<rows>/real_time/threads:<t>");
    lnb_gb_add_context("inputs", "normal");
    snprintf(buf, sizeof buf, "%s%s%s",
             p->desc.tensors & LN_TENSOR_GAMMA ? "gamma~1+0.1N(0,1)" : "",
             (p->desc.tensors & LN_TENSOR_GAMMA) && (p->desc.tensors & LN_TENSOR_BETA) ? "," : "",
             p->desc.tensors & LN_TENSOR_BETA ? "beta~0.1N(0,1)" : "");
    lnb_gb_add_context("affine", buf[0] ? buf : "none");
    snprintf(buf, sizeof buf, "%.9g", (double)p->desc.eps);
    lnb_gb_add_context("eps", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)p->seed);
    lnb_gb_add_context("seed", buf);
    lnb_gb_add_context("threads_model",
                       "contiguous row block per benchmark thread, each thread bound as `pin` "
                       "says and first-touching its buffers; onednn: one single-threaded "
                       "primitive per benchmark thread");
    lnb_gb_add_context("command", p->command ? p->command : "");
}

/* Start-up probes, said once on stderr before any benchmark: pinning (the
 * run goes on unpinned when a binding fails) and the perf counters. */
static void probe(const lnb_speed_plan *p, int max_threads, char *pin_status,
                  size_t pin_len, char *perf_status, size_t perf_len)
{
    char err[256];
    int pu[MAX_THREADS];
    for (int i = 0; i < max_threads; i++)
        pu[i] = g.place[i].pu;
    g.pin = p->pin;
    g.pin_ok = 0;
    if (p->pin == LNB_PIN_NONE) {
        snprintf(pin_status, pin_len, "unpinned (--pin none)");
    } else if (lnb_pin_probe(g.topo, pu, max_threads, err, sizeof err) != 0) {
        fprintf(stderr, "lnbench speed: cannot pin threads (%s); running unpinned\n", err);
        snprintf(pin_status, pin_len, "unpinned: %.256s", err);
    } else {
        g.pin_ok = 1;
        snprintf(pin_status, pin_len, "pinned");
    }
    lnb_perf perf;
    g.perf_ok = 0;
    if (lnb_perf_open(&perf, err, sizeof err) == 0) {
        lnb_perf_close(&perf);
        g.perf_ok = 1;
        snprintf(perf_status, perf_len, "cycles,instructions (perf_event_open, user space)");
    } else {
        /* Said once, by the first benchmark that runs (so a run that fails
         * before any benchmark keeps its one-line error). */
        snprintf(g.perf_note, sizeof g.perf_note, "%.256s", err);
        snprintf(perf_status, perf_len, "not supported: %.256s", err);
    }
}

lnb_speed_status lnb_speed_run(const lnb_speed_plan *p, int gb_argc, char **gb_argv,
                               char *err, size_t errlen)
{
    lnb_speed_status status = LNB_SPEED_FAILED;
    bench_case *cases = NULL;
    refrec *refs = NULL;
    size_t ncases = 0, nrefs = 0;

    const char *why = NULL;
    if (ln_desc_valid(&p->desc, &why) != 0) {
        snprintf(err, errlen, "%s", why);
        return LNB_SPEED_FAILED;
    }
    if (p->desc.tensors & ~(unsigned)(LN_TENSOR_GAMMA | LN_TENSOR_BETA)) {
        snprintf(err, errlen, "the harness times gamma and beta only (no mean or rstd)");
        return LNB_SPEED_FAILED;
    }
    int max_threads = 1;
    for (size_t i = 0; i < p->nthreads; i++) {
        if (p->threads[i] < 1 || p->threads[i] > MAX_THREADS) {
            snprintf(err, errlen, "%d threads: must be 1 to %d", p->threads[i], MAX_THREADS);
            return LNB_SPEED_FAILED;
        }
        if (p->threads[i] > max_threads)
            max_threads = p->threads[i];
    }
    g.topo = p->topo;
    if (lnb_place_plan(p->topo, p->pin, p->cpukind, max_threads, g.place, err, errlen) != 0)
        return LNB_SPEED_FAILED;
    g.desc = p->desc;
    g.seed = p->seed;
    g.stream = lnb_stream_copy_select();
    g.dist = ln_dist_find("normal");
    if (!g.dist) {
        snprintf(err, errlen, "the `normal` input distribution is missing");
        return LNB_SPEED_FAILED;
    }

    if (lnb_gb_initialize(&gb_argc, gb_argv) != 0) {
        /* Google Benchmark has printed the one-line error. */
        status = LNB_SPEED_BAD_FLAGS;
        goto done;
    }
    char pin_status[320], perf_status[320];
    probe(p, max_threads, pin_status, sizeof pin_status, perf_status, sizeof perf_status);

    /* Register: per shape and thread count, memcpy and stream_copy first,
     * then the kernels. */
    size_t llc = lnb_topo_llc_bytes(g.topo, NULL);
    if (!llc)
        llc = ln_llc_bytes();
    cases = calloc(p->nshapes * p->nthreads * (p->nkernels + 2), sizeof *cases);
    refs = calloc(p->nshapes * p->nthreads, sizeof *refs);
    if (!cases || !refs) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* Names: binary32 LayerNorm keeps the names it always had (baselines
     * pair by name); any other computation names itself, so that results
     * of different computations never pair. */
    char comp[96] = "";
    if (p->desc.op != LN_OP_LAYERNORM || p->desc.dtype != LN_DTYPE_F32 ||
        p->desc.cast != LN_CAST_SINGLE)
        snprintf(comp, sizeof comp, "op:%s/dtype:%s/cast:%s/", ln_op_name(p->desc.op),
                 ln_dtype_name(p->desc.dtype), ln_cast_name(p->desc.cast));
    for (size_t s = 0; s < p->nshapes; s++) {
        for (size_t ti = 0; ti < p->nthreads; ti++) {
            int t = p->threads[ti];
            size_t rows = p->shapes[s].rows, dim = p->shapes[s].dim;
            if (rows < (size_t)t) {
                fprintf(stderr, "lnbench speed: skipping %zu x %zu at %d threads: fewer rows "
                                "than threads\n", rows, dim, t);
                continue;
            }
            refrec *r = &refs[nrefs++];
            /* The store policy on the whole working set (all threads' x and
             * y, residual and h), unless the plan fixed a hint. */
            ln_store_hint store = p->desc.store;
            if (store == LN_STORE_AUTO)
                store = ln_streaming_pays(rows * lnb_speed_row_bytes(&p->desc, dim),
                                          (unsigned)t, llc)
                            ? LN_STORE_STREAMING : LN_STORE_CACHED;
            for (size_t ki = 0; ki < p->nkernels + 2; ki++) {
                bench_case *c = &cases[ncases++];
                c->kind = ki == 0 ? CASE_MEMCPY : ki == 1 ? CASE_STREAM : CASE_KERNEL;
                c->k = ki < 2 ? NULL : p->kernels[ki - 2];
                c->dim = dim;
                c->rows = rows;
                c->threads = t;
                c->store = store;
                c->ref = r;
                char name[256];
                snprintf(name, sizeof name, "%s/%sdim:%zu/rows:%zu",
                         c->k ? c->k->name : ki == 0 ? "memcpy" : "stream_copy", comp, dim,
                         rows);
                lnb_gb_bench *b = lnb_gb_register(name, body, c);
                if (!b) {
                    snprintf(err, errlen, "cannot register a benchmark");
                    goto done;
                }
                lnb_gb_threads(b, t);
                lnb_gb_use_real_time(b);
            }
        }
    }
    add_context(p, pin_status, perf_status, max_threads, llc);

    /* 0 run: Google Benchmark has said the filter matched nothing. */
    status = lnb_gb_run() == 0 ? LNB_SPEED_NOTHING_RAN : LNB_SPEED_OK;

done:
    lnb_gb_shutdown();
    for (int i = 0; i < MAX_THREADS; i++)
        slot_free(&g.slots[i]);
    g.topo = NULL;
    free(cases);
    free(refs);
    return status;
}
