#!/usr/bin/python3
"""Synthetic lnbench result files for the script tests.

Writes files in the exact formats `lnbench speed --json` (Google Benchmark
1.7.1 JSON, bare NaN included) and `lnbench accuracy --json` produce, from a
fixed RNG seed, so a test can plant a slow-down or an accuracy loss and know
what the gate must say.

  gen_results.py speed OUT [--host H] [--cpu C] [--kernels a,b] [--reps N]
                 [--noise SD] [--seed S] [--slow KERNEL=FACTOR ...]
                 [--shapes ROWSxDIM,...] [--threads 1,2] [--drop NAME]
                 [--time-unit ns] [--aggregates-only]
  gen_results.py accuracy OUT [--host H] [--cpu C] [--kernels a,b]
                 [--worsen KERNEL=FACTOR ...] [--nonfinite KERNEL=N]
                 [--drop KERNEL]
"""

import argparse
import json
import random
import sys

# Bandwidths (GB/s) of each synthetic kernel at small (cache) and large
# (DRAM) working sets, roughly like this machine's anchors.
GBPS = {
    "memcpy": (120.0, 42.0),
    "onednn": (51.0, 23.0),
    "naive_two_pass": (30.0, 18.0),
    "welford": (12.0, 10.0),
    "textbook_one_pass": (34.0, 20.0),
    "two_pass_f64": (16.0, 13.0),
    "avx512": (95.0, 38.0),
}
# (max_ulp, mean_ulp) per kernel per distribution.
ULP = {
    "onednn": {"normal": (900.0, 1.1), "offset1e4": (4e5, 1.5e3), "uniform": (300.0, 0.9)},
    "naive_two_pass": {"normal": (1200.0, 1.3), "offset1e4": (6e5, 2e3), "uniform": (400.0, 1.0)},
    "welford": {"normal": (1500.0, 1.5), "offset1e4": (2e5, 900.0), "uniform": (500.0, 1.1)},
    "textbook_one_pass": {"normal": (3000.0, 2.0), "offset1e4": (None, 5e6), "uniform": (700.0, 1.4)},
    "two_pass_f64": {"normal": (0.5, 0.25), "offset1e4": (0.5, 0.25), "uniform": (0.5, 0.25)},
    "avx512": {"normal": (0.5, 0.26), "offset1e4": (0.5, 0.26), "uniform": (0.5, 0.26)},
}
DEFAULT_KERNELS = "onednn,naive_two_pass,welford,two_pass_f64"
DEFAULT_SHAPES = "64x768,1024x768,32768x4096"


def context(host, cpu):
    return {
        "date": "2026-11-22T00:00:00+00:00", "host_name": host,
        "executable": "build/cli/lnbench", "num_cpus": 2, "mhz_per_cpu": 2100,
        "cpu_scaling_enabled": False,
        "caches": [{"type": "Data", "level": 1, "size": 49152, "num_sharing": 1},
                   {"type": "Unified", "level": 2, "size": 1048576, "num_sharing": 1}],
        "load_avg": [0.5, 0.4, 0.3], "library_build_type": "release",
        "hostname": host, "cpu_model": cpu, "cpu_vendor": "synthetic",
        "git_commit": "0123456789ab", "version": "0.1.0", "compiler": "GNU 12.2.0",
        "c_flags": "-O3", "build_type": "Release", "pin": "compact",
        "isas": "avx2,fma,avx512f", "llc_bytes": "33554432",
    }


def pairs(items, conv=float):
    out = {}
    for it in items or []:
        k, _, v = it.partition("=")
        out[k] = conv(v)
    return out


def speed(a):
    rng = random.Random(a.seed)
    kernels = ["memcpy"] + [k for k in a.kernels.split(",") if k != "memcpy"]
    slow = pairs(a.slow)
    shapes = [tuple(int(x) for x in s.split("x")) for s in a.shapes.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    scale = {"ns": 1.0, "us": 1e-3, "ms": 1e-6, "s": 1e-9}[a.time_unit]
    benches = []
    for rows, dim in shapes:
        nbytes = 8.0 * rows * dim
        big = nbytes > 4 * 1048576
        for t in threads:
            mem_bps = None
            for k in kernels:
                name = f"{k}/dim:{dim}/rows:{rows}/threads:{t}/real_time"
                if name.split("/real_time")[0] in (a.drop or []):
                    continue
                gbps = GBPS.get(k, (25.0, 15.0))[1 if big else 0] * (1.8 if t > 1 else 1.0)
                t_ns = nbytes / gbps * slow.get(k, 1.0)
                reps = []
                for i in range(a.reps):
                    x = t_ns * (1.0 + rng.gauss(0.0, a.noise))
                    bps = nbytes / (x * 1e-9)
                    e = {"name": name, "family_index": 0, "per_family_instance_index": 0,
                         "run_name": name, "run_type": "iteration", "repetitions": a.reps,
                         "repetition_index": i, "threads": t, "iterations": 1000,
                         "real_time": x * scale, "cpu_time": x * scale * t,
                         "time_unit": a.time_unit, "bytes_per_second": bps,
                         "items_per_second": bps / 8.0, "ns_per_row": x / rows,
                         "cycles_per_element": float("nan")}
                    reps.append(e)
                if k == "memcpy":
                    mem_bps = [e["bytes_per_second"] for e in reps]
                for i, e in enumerate(reps):
                    e["roofline"] = e["bytes_per_second"] / mem_bps[i]
                if not a.aggregates_only:
                    benches.extend(reps)
                xs = sorted(e["real_time"] for e in reps)
                med = xs[len(xs) // 2]
                for agg, val in (("mean", sum(xs) / len(xs)), ("median", med),
                                 ("stddev", 0.0), ("cv", 0.0)):
                    e = dict(reps[0])
                    e.update({"name": f"{name}_{agg}", "run_type": "aggregate",
                              "aggregate_name": agg, "real_time": val,
                              "cpu_time": val * t})
                    if agg == "cv":
                        e["aggregate_unit"] = "percentage"
                    e.pop("repetition_index")
                    benches.append(e)
    return {"context": context(a.host, a.cpu), "benchmarks": benches}


def accuracy(a):
    kernels = [k for k in a.kernels.split(",") if k != "memcpy"]
    worsen = pairs(a.worsen)
    nonfinite = pairs(a.nonfinite, int)
    dists, dims = ["normal", "offset1e4", "uniform"], [768, 4096]
    res = []
    for k in kernels:
        if k in (a.drop or []):
            continue
        for d in dists:
            for dim in dims:
                mx, mean = ULP.get(k, ULP["naive_two_pass"])[d]
                f = worsen.get(k, 1.0)
                res.append({"kernel": k, "dist": d, "dim": dim, "rows": 64,
                            "count": 64 * dim,
                            "max_ulp": None if mx is None else mx * f,
                            "max_row": 3, "max_col": 100, "mean_ulp": mean * f,
                            "p99_ulp": mean * 3 * f, "frac_cr": 0.7, "frac_faithful": 0.95,
                            "normwise": 1.3, "nonfinite": nonfinite.get(k, 0)})
    ctx = {"version": "0.1.0", "git_commit": "0123456789ab", "compiler": "GNU 12.2.0",
           "c_flags": "-O3", "build_type": "Release", "cpu_model": a.cpu,
           "hostname": a.host, "date": "2026-11-22T00:00:00Z", "isas": ["avx2", "avx512f"]}
    return {"lnbench_accuracy": 1, "context": ctx,
            "parameters": {"rows": 64, "eps": 1e-05, "seed": 1, "affine": True, "bias": True,
                           "dims": dims, "dists": dists, "kernels": kernels, "input": None},
            "results": res,
            "unavailable": [{"kernel": "neon", "reason": "not an arm64 build"}]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["speed", "accuracy"])
    p.add_argument("out")
    p.add_argument("--host", default="ci-box")
    p.add_argument("--cpu", default="Synthetic CPU @ 2.10GHz")
    p.add_argument("--kernels", default=DEFAULT_KERNELS)
    p.add_argument("--reps", type=int, default=12)
    p.add_argument("--noise", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--slow", action="append")
    p.add_argument("--shapes", default=DEFAULT_SHAPES)
    p.add_argument("--threads", default="1")
    p.add_argument("--drop", action="append")
    p.add_argument("--time-unit", default="ns")
    p.add_argument("--aggregates-only", action="store_true")
    p.add_argument("--worsen", action="append")
    p.add_argument("--nonfinite", action="append")
    a = p.parse_args()
    doc = speed(a) if a.kind == "speed" else accuracy(a)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)  # bare NaN, as Google Benchmark writes
    return 0


if __name__ == "__main__":
    sys.exit(main())
