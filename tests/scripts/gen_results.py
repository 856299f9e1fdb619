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
                 [--stream-copy SMALL,LARGE | --old-format]
                 [--commit C] [--pin P] [--min-time S] [--comp OP,DTYPE,CAST]
  gen_results.py accuracy OUT [--host H] [--cpu C] [--kernels a,b]
                 [--worsen KERNEL=FACTOR ...] [--nonfinite KERNEL=N]
                 [--drop KERNEL] [--commit C] [--eps E]

Speed files have both references, memcpy and stream_copy (stream_copy's
GB/s = memcpy's x SMALL on cache-resident shapes, x LARGE on DRAM ones), and
`roofline` = GB/s / the faster of the two, `vs_memcpy` = GB/s / memcpy's, as
lnbench writes them; --old-format writes a file of lnbench before
stream_copy (memcpy only, roofline = GB/s / memcpy's, no vs_memcpy).
"""

import argparse
import json
import random
import sys

# Bandwidths (GB/s) of each synthetic kernel at small (cache) and large
# (DRAM) working sets, roughly like this machine's anchors.
GBPS = {
    "memcpy": (120.0, 42.0),
    "stream_copy": (96.0, 63.0),
    "onednn": (51.0, 23.0),
    "naive_two_pass": (30.0, 18.0),
    "welford": (12.0, 10.0),
    "textbook_one_pass": (34.0, 20.0),
    "two_pass_f64": (16.0, 13.0),
    "avx512": (95.0, 38.0),
}
# Per kernel per distribution: (max_ulp, mean_ulp, p99_ulp, fraction
# faithful, normwise) at dim 4096; None = infinite (written as null, as
# lnbench does).  At dim 768 p99 and normwise are halved, so a test can tell
# which dim a report used.
ULP = {
    "onednn": {"normal": (900.0, 1.1, 4.0, 0.93, 2.0),
               "offset1e4": (4e5, 1.5e3, 9e3, 0.02, 40.0),
               "uniform": (300.0, 0.9, 3.0, 0.95, 1.5)},
    "naive_two_pass": {"normal": (1200.0, 1.3, 5.0, 0.9, 3.0),
                       "offset1e4": (6e5, 2e3, 1e4, 0.01, 60.0),
                       "uniform": (400.0, 1.0, 4.0, 0.92, 2.0)},
    "welford": {"normal": (1500.0, 1.5, 6.0, 0.88, 2.5),
                "offset1e4": (2e5, 900.0, 5e3, 0.03, 25.0),
                "uniform": (500.0, 1.1, 4.5, 0.9, 30.0)},
    "textbook_one_pass": {"normal": (3000.0, 2.0, 8.0, 0.85, 4.0),
                          "offset1e4": (None, 5e6, 1e7, 0.0, None),
                          "uniform": (700.0, 1.4, 5.0, 0.9, 3.0)},
    "two_pass_f64": {"normal": (0.5, 0.25, 0.5, 1.0, 0.5),
                     "offset1e4": (0.5, 0.25, 0.5, 1.0, 0.5),
                     "uniform": (0.5, 0.25, 0.5, 1.0, 0.5)},
    "avx512": {"normal": (0.5, 0.26, 0.5, 1.0, 0.5),
               "offset1e4": (0.5, 0.26, 0.5, 1.0, 0.5),
               "uniform": (0.5, 0.26, 0.5, 1.0, 0.6)},
}
DEFAULT_KERNELS = "onednn,naive_two_pass,welford,two_pass_f64"
DEFAULT_SHAPES = "64x768,1024x768,32768x4096"


def context(a):
    cmd = f"lnbench speed --threads {a.threads} --pin {a.pin} --json {a.out}"
    if a.min_time:
        cmd += f" --benchmark_min_time={a.min_time}"
    if a.reps > 1:
        cmd += f" --benchmark_repetitions={a.reps}"
    return {
        "date": "2026-11-22T00:00:00+00:00", "host_name": a.host,
        "executable": "build/cli/lnbench", "num_cpus": 2, "mhz_per_cpu": 2100,
        "cpu_scaling_enabled": False,
        "caches": [{"type": "Data", "level": 1, "size": 49152, "num_sharing": 1},
                   {"type": "Unified", "level": 2, "size": 1048576, "num_sharing": 1}],
        "load_avg": [0.5, 0.4, 0.3], "library_build_type": "release",
        "hostname": a.host, "cpu_model": a.cpu, "cpu_vendor": "synthetic",
        "git_commit": a.commit, "version": "0.1.0", "compiler": "GNU 12.2.0",
        "c_flags": "-O3", "build_type": "Release", "pin": a.pin, "pin_status": "pinned",
        "isas": "avx2,fma,avx512f", "llc_bytes": "33554432",
        "eps": "9.99999975e-06", "affine": "gamma~1+0.1N(0,1),beta~0.1N(0,1)",
        "seed": "1", "inputs": "normal", "command": cmd,
    }


def pairs(items, conv=float):
    out = {}
    for it in items or []:
        k, _, v = it.partition("=")
        out[k] = conv(v)
    return out


def speed(a):
    rng = random.Random(a.seed)
    refs = ["memcpy"] if a.old_format else ["memcpy", "stream_copy"]
    kernels = refs + [k for k in a.kernels.split(",") if k not in refs]
    sc_small, sc_large = (float(x) for x in a.stream_copy.split(","))
    slow = pairs(a.slow)
    shapes = [tuple(int(x) for x in s.split("x")) for s in a.shapes.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    scale = {"ns": 1.0, "us": 1e-3, "ms": 1e-6, "s": 1e-9}[a.time_unit]
    benches = []
    # --comp: another computation, named as lnbench names it, with its
    # bytes per element (dtype size x 2 streams, x 4 for the add_ ops)
    op, dtype, cast = a.comp.split(",")
    bpe = {"f32": 4, "bf16": 2, "f16": 2}[dtype] * (4 if op.startswith("add_") else 2)
    prefix = "" if (op, dtype, cast) == ("layernorm", "f32", "single") else \
        f"op:{op}/dtype:{dtype}/cast:{cast}/"
    for rows, dim in shapes:
        nbytes = float(bpe) * rows * dim
        big = nbytes > 4 * 1048576
        for t in threads:
            ref_bps = {}
            for k in kernels:
                name = f"{k}/{prefix}dim:{dim}/rows:{rows}/threads:{t}/real_time"
                if name.split("/real_time")[0] in (a.drop or []):
                    continue
                gbps = GBPS.get(k, (25.0, 15.0))[1 if big else 0] * (1.8 if t > 1 else 1.0)
                if k == "stream_copy":
                    gbps = GBPS["memcpy"][1 if big else 0] * (1.8 if t > 1 else 1.0) * \
                        (sc_large if big else sc_small)
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
                         "items_per_second": bps / bpe, "ns_per_row": x / rows,
                         "cycles_per_element": float("nan")}
                    reps.append(e)
                if k in refs:
                    ref_bps[k] = [e["bytes_per_second"] for e in reps]
                for i, e in enumerate(reps):
                    peak = max(v[i] for v in ref_bps.values())
                    e["roofline"] = e["bytes_per_second"] / peak
                    if not a.old_format:
                        e["vs_memcpy"] = e["bytes_per_second"] / ref_bps["memcpy"][i]
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
    ctx = context(a)
    ctx.update({"op": op, "dtype": dtype, "cast": cast, "bytes_per_element": str(bpe)})
    return {"context": ctx, "benchmarks": benches}


def accuracy(a):
    kernels = [k for k in a.kernels.split(",") if k not in ("memcpy", "stream_copy")]
    worsen = pairs(a.worsen)
    nonfinite = pairs(a.nonfinite, int)
    dists, dims = ["normal", "offset1e4", "uniform"], [768, 4096]
    res = []
    for k in kernels:
        if k in (a.drop or []):
            continue
        for d in dists:
            for dim in dims:
                mx, mean, p99, faithful, nw = ULP.get(k, ULP["naive_two_pass"])[d]
                f = worsen.get(k, 1.0)
                g = f * (0.5 if dim == 768 else 1.0)
                res.append({"kernel": k, "dist": d, "dim": dim, "rows": 64,
                            "count": 64 * dim,
                            "max_ulp": None if mx is None else mx * f,
                            "max_row": 3, "max_col": 100, "mean_ulp": mean * f,
                            "p99_ulp": p99 * g, "frac_cr": faithful * 0.7,
                            "frac_faithful": faithful,
                            "normwise": None if nw is None else nw * g,
                            "normwise_mean": None if nw is None else nw * g / 10,
                            "nonfinite": nonfinite.get(k, 0)})
    ctx = {"version": "0.1.0", "git_commit": a.commit, "compiler": "GNU 12.2.0",
           "c_flags": "-O3", "build_type": "Release", "cpu_model": a.cpu,
           "hostname": a.host, "date": "2026-11-22T00:00:00Z", "isas": ["avx2", "avx512f"]}
    return {"lnbench_accuracy": 1, "context": ctx,
            "parameters": {"rows": 64, "eps": a.eps, "seed": 1, "affine": True, "bias": True,
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
    p.add_argument("--stream-copy", default="0.8,1.5")
    p.add_argument("--old-format", action="store_true")
    p.add_argument("--commit", default="0123456789ab")
    p.add_argument("--pin", default="compact")
    p.add_argument("--min-time", default="")
    p.add_argument("--eps", type=float, default=1e-05)
    p.add_argument("--comp", default="layernorm,f32,single")
    a = p.parse_args()
    doc = speed(a) if a.kind == "speed" else accuracy(a)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)  # bare NaN, as Google Benchmark writes
    return 0


if __name__ == "__main__":
    sys.exit(main())
