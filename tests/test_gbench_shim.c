/*
 * test_gbench_shim.c - the C shim over Google Benchmark: a C body registered
 * by name runs (on every requested thread), its counters reach Google
 * Benchmark's JSON, the batched loop reports its iterations, a skipped run
 * is marked as an error, and the custom context appears.  No timing is
 * asserted (tiny --benchmark_min_time, noisy machine).
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "gbench_shim.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct probe {
    atomic_int calls;        /* body invocations */
    atomic_int threads_seen; /* bit i: thread index i ran */
    atomic_ullong iterations;
    atomic_int bad_loop;     /* loop seconds or iteration count inconsistent */
} probe;

static probe single, multi, skipped;

static void body(lnb_gb_state *st, void *user)
{
    probe *p = user;
    atomic_fetch_add(&p->calls, 1);
    atomic_fetch_or(&p->threads_seen, 1 << lnb_gb_thread_index(st));
    uint64_t n, total = 0;
    volatile unsigned sink = 0; /* per thread: the body runs on several */
    while ((n = lnb_gb_batch(st)) > 0)
        for (uint64_t i = 0; i < n; i++) {
            sink += (unsigned)i;
            total++;
        }
    if (lnb_gb_iterations(st) != total || total == 0 || lnb_gb_loop_seconds(st) < 0)
        atomic_fetch_add(&p->bad_loop, 1);
    atomic_fetch_add(&p->iterations, total);
    lnb_gb_counter(st, "shim_counter", 42.0, LNB_GB_AVG_THREADS);
    lnb_gb_counter(st, "shim_rate", (double)total, LNB_GB_RATE);
    if (lnb_gb_thread_index(st) == 0)
        lnb_gb_label(st, "shim-label");
}

static void skip_body(lnb_gb_state *st, void *user)
{
    probe *p = user;
    atomic_fetch_add(&p->calls, 1);
    lnb_gb_skip(st, "skipped on purpose");
    /* Returning without the loop is allowed: the shim finishes it. */
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

int main(int argc_main, char **argv_main)
{
    /* --no-threads: skip the two-thread benchmark (Google Benchmark's
     * multi-threaded runs hang under qemu-user, shim or not). */
    int threads = !(argc_main > 1 && !strcmp(argv_main[1], "--no-threads"));
    char path[] = "/tmp/lnbench_shim_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    char out[128];
    snprintf(out, sizeof out, "--benchmark_out=%s", path);
    char *argv[] = {"test_gbench_shim", "--benchmark_min_time=0.001", out,
                    "--benchmark_out_format=json", NULL};
    int argc = 4;
    CHECK(lnb_gb_initialize(&argc, argv) == 0, "initialize refused our flags");

    lnb_gb_bench *b1 = lnb_gb_register("shim/single", body, &single);
    CHECK(b1 != NULL, "register shim/single");
    if (threads) {
        lnb_gb_bench *b2 = lnb_gb_register("shim/multi", body, &multi);
        CHECK(b2 != NULL, "register shim/multi");
        lnb_gb_threads(b2, 2);
        lnb_gb_use_real_time(b2);
    }
    lnb_gb_bench *b3 = lnb_gb_register("shim/skipped", skip_body, &skipped);
    CHECK(b3 != NULL, "register shim/skipped");
    lnb_gb_add_context("shim_context_key", "shim_context_value");

    size_t ran = lnb_gb_run();
    CHECK(ran == (threads ? 3u : 2u), "%zu benchmarks ran", ran);
    CHECK(atomic_load(&single.calls) >= 1, "single body never called");
    CHECK(atomic_load(&single.iterations) >= 1, "single body ran no iteration");
    CHECK(atomic_load(&single.threads_seen) == 1, "single: thread mask %d",
          atomic_load(&single.threads_seen));
    if (threads) {
        /* thread indexes 0 and 1 */
        CHECK(atomic_load(&multi.threads_seen) == 3, "multi: thread mask %d",
              atomic_load(&multi.threads_seen));
        CHECK(atomic_load(&multi.calls) >= 2, "multi: %d body calls", atomic_load(&multi.calls));
    }
    CHECK(atomic_load(&single.bad_loop) == 0, "single: iteration count or loop time inconsistent");
    CHECK(atomic_load(&multi.bad_loop) == 0, "multi: iteration count or loop time inconsistent");
    CHECK(atomic_load(&skipped.calls) >= 1, "skipped body never called");

    char *json = slurp(path);
    CHECK(json != NULL, "cannot read %s", path);
    if (json) {
        CHECK(strstr(json, "\"name\": \"shim/single\"") != NULL, "single missing");
        if (threads)
            CHECK(strstr(json, "\"name\": \"shim/multi/real_time/threads:2\"") != NULL,
                  "multi missing");
        /* 42, averaged over threads */
        CHECK(strstr(json, "\"shim_counter\": 4.2") != NULL, "counter not averaged");
        CHECK(strstr(json, "\"shim_rate\"") != NULL, "rate counter missing");
        CHECK(strstr(json, "\"label\": \"shim-label\"") != NULL, "label missing");
        CHECK(strstr(json, "\"shim_context_key\": \"shim_context_value\"") != NULL,
              "custom context missing");
        CHECK(strstr(json, "\"error_occurred\": true") != NULL, "skip not marked as an error");
        CHECK(strstr(json, "skipped on purpose") != NULL, "skip message missing");
        if (check_failures)
            fprintf(stderr, "--- JSON ---\n%s\n", json);
        free(json);
    }
    lnb_gb_shutdown();
    remove(path);
    return CHECK_DONE("test_gbench_shim");
}
