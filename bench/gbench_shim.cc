// gbench_shim.cc - the C API of gbench_shim.h over Google Benchmark 1.7.x.
//
// The only C++ file of lnbench.  It holds no benchmark logic: every body is
// a C callback; this file only forwards to benchmark::State and keeps the
// two timestamps Google Benchmark does not expose (the loop's start and end,
// used by the roofline ratio).
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

// One benchmark's sum of its threads' loop times in the current run, in
// nanoseconds: thread 0 clears it before the start barrier, each thread
// adds its own before the stop barrier, so after that barrier every thread
// reads the complete sum.
struct run_clock {
    std::atomic<int64_t> ns{0};
};

struct lnb_gb_state {
    benchmark::State *s;
    run_clock *clock;
    std::chrono::steady_clock::time_point t0, t1;
    int started, finished;
    uint64_t iterations;
};

static double elapsed(const lnb_gb_state *st)
{
    return std::chrono::duration<double>(st->t1 - st->t0).count();
}

// Google Benchmark's JSON, kept in memory: every call first points the
// reporter back at the buffer (RunSpecifiedBenchmarks sets its own file
// stream on the file reporter before the first report).
class captured_json : public benchmark::JSONReporter {
  public:
    std::ostringstream buf;
    bool ReportContext(const Context &c) override
    {
        SetOutputStream(&buf);
        SetErrorStream(&buf);
        return JSONReporter::ReportContext(c);
    }
    void ReportRuns(const std::vector<Run> &r) override
    {
        SetOutputStream(&buf);
        JSONReporter::ReportRuns(r);
    }
    void Finalize() override
    {
        SetOutputStream(&buf);
        JSONReporter::Finalize();
    }
};

static FILE *json_out;
static int json_console_to_stderr;

extern "C" {

void lnb_gb_json_to(FILE *f, int console_to_stderr)
{
    json_out = f;
    json_console_to_stderr = console_to_stderr;
}

int lnb_gb_initialize(int *argc, char **argv)
{
    benchmark::Initialize(argc, argv);
    return benchmark::ReportUnrecognizedArguments(*argc, argv) ? -1 : 0;
}

lnb_gb_bench *lnb_gb_register(const char *name, lnb_gb_fn fn, void *user)
{
    auto clock = std::make_shared<run_clock>();
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, user, clock](benchmark::State &s) {
            lnb_gb_state st{};
            st.s = &s;
            st.clock = clock.get();
            fn(&st, user);
            // A body that returned without finishing its loop would trip
            // Google Benchmark's own check; finish it here instead.
            while (!st.finished && lnb_gb_batch(&st) > 0) {
            }
        });
    return reinterpret_cast<lnb_gb_bench *>(b);
}

void lnb_gb_threads(lnb_gb_bench *b, int nthreads)
{
    reinterpret_cast<benchmark::internal::Benchmark *>(b)->Threads(nthreads);
}

void lnb_gb_use_real_time(lnb_gb_bench *b)
{
    reinterpret_cast<benchmark::internal::Benchmark *>(b)->UseRealTime();
}

void lnb_gb_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value ? value : "");
}

size_t lnb_gb_run(void)
{
    if (!json_out)
        return benchmark::RunSpecifiedBenchmarks();
    captured_json file;
    benchmark::ConsoleReporter console(benchmark::ConsoleReporter::OO_None);
    console.SetOutputStream(&std::cerr);
    size_t n = benchmark::RunSpecifiedBenchmarks(json_console_to_stderr ? &console : nullptr,
                                                 &file);
    // Through the caller's stdio stream, whose errors it checks at commit.
    const std::string &text = file.buf.str();
    if (!text.empty())
        fwrite(text.data(), 1, text.size(), json_out);
    return n;
}

void lnb_gb_shutdown(void)
{
    benchmark::ClearRegisteredBenchmarks();
    benchmark::Shutdown();
}

uint64_t lnb_gb_batch(lnb_gb_state *st)
{
    if (st->finished)
        return 0;
    if (!st->started) {
        // One batch of max_iterations: Google Benchmark has already chosen
        // the count, so the C loop runs it in one go without crossing back.
        benchmark::IterationCount n = st->s->max_iterations;
        st->started = 1;
        if (st->s->thread_index() == 0)
            st->clock->ns.store(0);
        if (n < 1)
            n = 1;
        if (st->s->KeepRunningBatch(n)) {
            st->t0 = std::chrono::steady_clock::now();
            st->iterations = static_cast<uint64_t>(n);
            return static_cast<uint64_t>(n);
        }
        // Skipped before the loop: KeepRunningBatch already finished it.
        st->finished = 1;
        st->t0 = st->t1 = std::chrono::steady_clock::now();
        return 0;
    }
    st->t1 = std::chrono::steady_clock::now();
    st->finished = 1;
    st->clock->ns.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(st->t1 - st->t0).count());
    // Stops the timer and waits for the other threads; returns false.
    while (st->s->KeepRunningBatch(1)) {
        st->iterations++;
    }
    return 0;
}

double lnb_gb_loop_seconds(const lnb_gb_state *st)
{
    return st->finished ? elapsed(st) : 0.0;
}

double lnb_gb_run_seconds(const lnb_gb_state *st)
{
    if (!st->finished)
        return 0.0;
    return static_cast<double>(st->clock->ns.load()) * 1e-9 / st->s->threads();
}

uint64_t lnb_gb_iterations(const lnb_gb_state *st)
{
    return st->iterations;
}

int lnb_gb_thread_index(const lnb_gb_state *st)
{
    return st->s->thread_index();
}

int lnb_gb_thread_count(const lnb_gb_state *st)
{
    return st->s->threads();
}

void lnb_gb_counter(lnb_gb_state *st, const char *name, double value,
                    unsigned flags)
{
    int f = 0;
    if (flags & LNB_GB_RATE)
        f |= benchmark::Counter::kIsRate;
    if (flags & LNB_GB_AVG_THREADS)
        f |= benchmark::Counter::kAvgThreads;
    if (flags & LNB_GB_INVERT)
        f |= benchmark::Counter::kInvert;
    st->s->counters[name] =
        benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f));
}

void lnb_gb_label(lnb_gb_state *st, const char *label)
{
    st->s->SetLabel(label);
}

void lnb_gb_skip(lnb_gb_state *st, const char *message)
{
    st->s->SkipWithError(message);
}

} // extern "C"
