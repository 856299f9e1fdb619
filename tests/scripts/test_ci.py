#!/usr/bin/python3
"""Tests of the CI tools: scripts/gate, scripts/history (store, exports),
scripts/report --history, scripts/icount-stepi, and the lnbench command's
NO_COLOR and --help exit statuses.

  test_ci.py NAME      run one test (ctest runs each as its own test)
  test_ci.py all       run every test

Result files are synthetic (tests/scripts/gen_results.py, or samples written
here), the reruns use a fake lnbench that prints planted times, so every
verdict is known in advance.  Exit 0 pass, 1 fail, 77 skipped.
"""

import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_scripts import (SKIP, check, expect_exit2, gen,  # noqa: E402
                          load_script, run, run_tests)

ROOT = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable or "/usr/bin/python3"


def speed_file(path, samples, host="ci-box", cpu="Synthetic CPU"):
    """A Google Benchmark 1.7 JSON file holding exactly these samples:
    {key: [real_time ns, ...]} with key "<kernel>/dim:D/rows:R/threads:T"."""
    benches = []
    for key, xs in samples.items():
        name = key.rsplit("/threads:", 1)[0] + "/real_time/threads:" + key.rsplit(":", 1)[1]
        for i, x in enumerate(xs):
            benches.append({"name": name, "run_name": name, "run_type": "iteration",
                            "repetitions": len(xs), "repetition_index": i, "threads": 1,
                            "iterations": 10, "real_time": x, "cpu_time": x, "time_unit": "ns"})
    doc = {"context": {"date": "2026-12-01T00:00:00+00:00", "hostname": host, "cpu_model": cpu,
                       "host_name": host, "num_cpus": 2}, "benchmarks": benches}
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


FAKE = r'''#!/usr/bin/python3
# A stand-in lnbench for the gate's rerun: `speed` writes planted times.
import json, os, sys
args = dict(a.split("=", 1) if "=" in a else (a, "") for a in sys.argv[2:] if a.startswith("--b"))
opts = {sys.argv[i]: sys.argv[i + 1] for i in range(2, len(sys.argv) - 1)
        if sys.argv[i].startswith("--") and "=" not in sys.argv[i]}
reps = int(args["--benchmark_repetitions"])
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write("%SIDE%\n")
import random
rng = random.Random(len(open(os.environ["FAKE_LOG"]).read()))
benches = []
for k in opts["--kernels"].split(","):
    for d in opts["--dims"].split(","):
        for r in opts["--rows"].split(","):
            name = f"{k}/dim:{d}/rows:{r}/real_time/threads:1"
            for i in range(reps):
                t = %TIME% * (1 + rng.gauss(0, 0.01))
                benches.append({"name": name, "run_name": name, "run_type": "iteration",
                                "repetitions": reps, "threads": 1, "iterations": 10,
                                "real_time": t, "cpu_time": t, "time_unit": "ns"})
json.dump({"context": {"hostname": "ci-box", "cpu_model": "x"}, "benchmarks": benches},
          open(opts["--json"], "w"))
'''


def fake_lnbench(tmp, side, time_ns):
    path = os.path.join(tmp, f"lnbench-{side}")
    with open(path, "w") as f:
        f.write(FAKE.replace("%SIDE%", side).replace("%TIME%", repr(time_ns)))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


# ---------------------------------------------------------------- gate

def test_gate_holm(tmp):
    """Holm's adjusted p-values on a hand-computed case, and the gate: a
    shift that the U test flags at 0.05 on one benchmark among twenty is not
    a regression after the correction, a large one still is."""
    g = load_script("gate")
    adj = g.holm([0.01, 0.04, 0.03, 0.005])
    want = [0.03, 0.06, 0.06, 0.02]
    check(all(abs(a - w) < 1e-12 for a, w in zip(adj, want)), f"holm: {adj} != {want}")
    rng = random.Random(7)
    base = {f"k{i}/dim:64/rows:16/threads:1": [100 + rng.random() for _ in range(12)]
            for i in range(20)}
    new = {k: list(v) for k, v in base.items()}
    marg = "k3/dim:64/rows:16/threads:1"
    base[marg] = [100 + 1.5 * i for i in range(12)]
    new[marg] = [x + 6.0 for x in base[marg]]            # +5.5 %, overlapping: p ~ 0.02
    c = load_script("compare")
    p = c.mann_whitney_p(base[marg], new[marg])
    check(0.0025 < p < 0.05, f"test setup: marginal p {p} should be < 0.05 but > 0.05/20")
    b, n = speed_file(os.path.join(tmp, "b.json"), base), speed_file(os.path.join(tmp, "n.json"), new)
    pc = run("compare", "--only", "speed", b, n)
    check(pc.returncode == 1, f"compare alone should flag the marginal shift:\n{pc.stdout}")
    out = os.path.join(tmp, "g.json")
    pg = run("gate", "--base", b, "--new", n, "--gate-speed", "--json", out)
    check(pg.returncode == 0, f"gate should drop it after Holm:\n{pg.stdout}{pg.stderr}")
    check("after Holm" in pg.stdout, f"gate does not say why:\n{pg.stdout}")
    new[marg] = [x * 1.3 for x in base[marg]]
    n2 = speed_file(os.path.join(tmp, "n2.json"), new)
    pg = run("gate", "--base", b, "--new", n2, "--gate-speed", "--json", out)
    check(pg.returncode == 1, f"a 30 % slow-down must survive Holm:\n{pg.stdout}{pg.stderr}")
    check(json.load(open(out))["flagged"]["speed"] == [marg], open(out).read())


def test_gate_rerun(tmp):
    """A flagged speed regression is rerun, base and head alternating in a
    random order per round; it fails only when the rerun agrees, and both
    verdicts are reported."""
    key = "welford/dim:768/rows:64/threads:1"
    rng = random.Random(3)
    base = speed_file(os.path.join(tmp, "b.json"), {key: [1000 * (1 + rng.gauss(0, .01)) for _ in range(12)]})
    new = speed_file(os.path.join(tmp, "n.json"), {key: [1300 * (1 + rng.gauss(0, .01)) for _ in range(12)]})
    log = os.path.join(tmp, "order.log")
    os.environ["FAKE_LOG"] = log
    fb = fake_lnbench(tmp, "base", 1000.0)
    for head_time, want_rc, word in ((1000.0, 0, "not confirmed"), (1300.0, 1, "confirmed")):
        if os.path.exists(log):
            os.unlink(log)
        fh = fake_lnbench(tmp, "head", head_time)
        out, summ = os.path.join(tmp, "g.json"), os.path.join(tmp, "s.md")
        p = run("gate", "--base", base, "--new", new, "--gate-speed", "--rerun-base", fb,
                "--rerun-head", fh, "--rounds", "6", "--rerun-reps", "3", "--seed", "11",
                "--json", out, "--summary", summ)
        check(p.returncode == want_rc, f"head {head_time}: exit {p.returncode}, want {want_rc}:\n"
              f"{p.stdout}{p.stderr}")
        doc = json.load(open(out))
        check(len(doc["rerun"]) == 1 and doc["rerun"][0]["confirmed"] == (want_rc == 1),
              f"rerun verdict: {doc['rerun']}")
        check(f"-> {word}" in p.stdout, f"stdout lacks the rerun verdict:\n{p.stdout}")
        s = open(summ).read()
        check("Interleaved rerun" in s and "first run" in s, f"summary lacks both verdicts:\n{s}")
        sides = open(log).read().split()
        check(len(sides) == 12, f"expected 6 rounds x 2 runs, got {sides}")
        rounds = [tuple(sides[i:i + 2]) for i in range(0, 12, 2)]
        check(all(sorted(r) == ["base", "head"] for r in rounds), f"not paired: {rounds}")
        check(len(set(rounds)) == 2, f"order never changes between rounds: {rounds}")
    # Without --gate-speed the same regression is reported, not failed; no rerun.
    p = run("gate", "--base", base, "--new", new, "--rerun-base", fb, "--rerun-head", fh)
    check(p.returncode == 0 and "reported, not gated" in p.stdout, p.stdout + p.stderr)


def test_gate_reports(tmp):
    """Accuracy and instruction counts gate without --gate-speed; the
    summary keeps failing rows open and every row in <details>; the comment
    has the marker a bot finds; bad input is one line and exit 2."""
    b = gen(tmp, "b.json", "speed", "--reps", "12", "--seed", "1")
    n = gen(tmp, "n.json", "speed", "--reps", "12", "--seed", "2")
    ba = gen(tmp, "ba.json", "accuracy")
    na = gen(tmp, "na.json", "accuracy", "--worsen", "welford=3")
    same = gen(tmp, "same.json", "accuracy")
    summ, com = os.path.join(tmp, "s.md"), os.path.join(tmp, "c.md")
    p = run("gate", "--base", b, ba, "--new", n, na, "--summary", summ, "--comment", com)
    check(p.returncode == 1, f"worse accuracy must fail:\n{p.stdout}{p.stderr}")
    s = open(summ).read()
    opened = s.split("<details>")[0]
    check("welford/normal" in opened and "naive_two_pass/normal" not in opened,
          f"failing rows must be open and unchanged ones collapsed:\n{opened}")
    check(s.count("<details>") == 2 and "naive_two_pass/normal" in s, "full tables missing")
    check(open(com).read().startswith("<!-- lnbench-gate -->"), "comment lacks its marker")
    p = run("gate", "--base", b, ba, "--new", n, same)
    check(p.returncode == 0, f"unchanged accuracy must pass:\n{p.stdout}{p.stderr}")
    ic_b, ic_n = os.path.join(tmp, "ib.json"), os.path.join(tmp, "in.json")
    for path, v in ((ic_b, 10.0), (ic_n, 10.5)):
        json.dump({"lnbench_icount": 1, "method": "stepi", "context": {"hostname": "h", "cpu_model": "c"},
                   "results": [{"key": "avx512/dim:768/rows:16/threads:1", "kernel": "avx512",
                                "instructions_per_element": v}]}, open(path, "w"))
    p = run("gate", "--base", ic_b, "--new", ic_n)
    check(p.returncode == 1 and "avx512/dim:768" in p.stdout, f"icount +5 % must fail:\n{p.stdout}")
    # A commit that adds a kernel is gated on the rest; one that loses one fails.
    common = {f"k{i}/dim:64/rows:16/threads:1": [100.0 + i for i in range(12)] for i in range(3)}
    more = dict(common, **{"newkernel/dim:64/rows:16/threads:1": [50.0] * 12})
    sb = speed_file(os.path.join(tmp, "sb.json"), common)
    sm = speed_file(os.path.join(tmp, "sm.json"), more)
    p = run("gate", "--base", sb, "--new", sm, "--gate-speed")
    check(p.returncode == 0 and "new (no baseline)" in p.stdout, f"added kernel:\n{p.stdout}{p.stderr}")
    p = run("gate", "--base", sm, "--new", sb, "--gate-speed")
    check(p.returncode == 1 and "missing from new" in p.stdout, f"lost kernel:\n{p.stdout}{p.stderr}")
    expect_exit2(run("gate", "--base", b, "--new", n, na), "base has")
    expect_exit2(run("gate", "--base", b, "--new", os.path.join(tmp, "missing.json")), "no such file")


# ---------------------------------------------------------------- history

def test_history(tmp):
    """Two commits appended to a store: index, files, exports in
    github-action-benchmark's and Bencher's formats (numbers only, no
    infinities), the gate's flags kept; the same commit again replaces its
    run; bad input exits 2."""
    store = os.path.join(tmp, "store")
    b = gen(tmp, "b.json", "speed", "--reps", "9", "--seed", "1")
    ba = gen(tmp, "ba.json", "accuracy")
    n = gen(tmp, "n.json", "speed", "--reps", "9", "--seed", "2", "--slow", "welford=1.5")
    na = gen(tmp, "na.json", "accuracy")
    gj = os.path.join(tmp, "g.json")
    run("gate", "--base", b, ba, "--new", n, na, "--gate-speed", "--json", gj)
    p = run("history", "append", store, "--commit", "a" * 40, "--leg", "x86", b, ba)
    check(p.returncode == 0, p.stderr)
    p = run("history", "append", store, "--commit", "b" * 40, "--leg", "x86", "--gate", gj, n, na)
    check(p.returncode == 0, p.stderr)
    idx = [json.loads(x) for x in open(os.path.join(store, "index.jsonl"))]
    check([e["commit"] for e in idx] == ["a" * 12, "b" * 12], f"index: {idx}")
    check(idx[1]["verdict"] == "fail" and any("welford" in k for k in idx[1]["flagged"]["speed"]),
          f"gate flags not kept: {idx[1]}")
    for e in idx:
        for f in e["files"].values():
            check(os.path.exists(os.path.join(store, f)), f"missing stored file {f}")
    ex = os.path.join(store, "exports", "x86")
    for name in ("gab-smaller.json", "gab-bigger.json"):
        doc = json.load(open(os.path.join(ex, name)))
        check(isinstance(doc, list) and doc, f"{name}: not a non-empty list")
        for x in doc:
            check(set(x) >= {"name", "unit", "value"} and isinstance(x["value"], (int, float)),
                  f"{name}: bad entry {x}")
    small = json.load(open(os.path.join(ex, "gab-smaller.json")))
    names = {x["name"] for x in small}
    check("x86/welford/dim:768/rows:64/threads:1 time" in names, "speed time not exported")
    check("x86/welford/normal/dim:4096/rows:64 max_ulp" in names, "max ulp not exported")
    # textbook_one_pass is not in the default kernels; the synthetic infinite
    # error of the generator's table must not reach any export.
    text = open(os.path.join(ex, "bencher.json")).read()
    check("Infinity" not in text and "NaN" not in text, "non-finite number in BMF")
    bmf = json.loads(text)
    w = bmf["x86/welford/dim:768/rows:64/threads:1"]
    check(w["latency"]["lower_value"] <= w["latency"]["value"] <= w["latency"]["upper_value"]
          and w["throughput"]["value"] > 0, f"BMF entry: {w}")
    check("max-ulp" in bmf["x86/welford/normal/dim:4096/rows:64"], "BMF lacks accuracy measures")
    p = run("history", "append", store, "--commit", "b" * 40, "--leg", "x86", n, na)
    idx = [json.loads(x) for x in open(os.path.join(store, "index.jsonl"))]
    check(p.returncode == 0 and "replaced" in p.stdout and len(idx) == 2, p.stdout)
    p = run("history", "list", store)
    check(p.returncode == 0 and p.stdout.count("x86") == 2, p.stdout)
    expect_exit2(run("history", "append", store, "--commit", "xyz", "--leg", "x86", n), "commit")
    expect_exit2(run("history", "append", store, "--commit", "c" * 40, "--leg", "X 86", n), "leg")
    expect_exit2(run("history", "append", store, "--commit", "c" * 40, "--leg", "x86", n, n),
                 "two speed")
    o = os.path.join(tmp, "ex")
    p = run("history", "export", n, na, "-o", o)
    check(p.returncode == 0 and os.path.exists(os.path.join(o, "bencher.json")), p.stderr)


def test_history_report(tmp):
    """scripts/report --history: a chart per kernel and shape over both
    commits, the failed commit marked, written whole or not at all."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("python3-matplotlib missing")
        return SKIP
    store = os.path.join(tmp, "store")
    b = gen(tmp, "b.json", "speed", "--reps", "9", "--seed", "1", "--shapes", "64x768")
    n = gen(tmp, "n.json", "speed", "--reps", "9", "--seed", "2", "--shapes", "64x768",
            "--slow", "welford=1.5")
    gj = os.path.join(tmp, "g.json")
    run("gate", "--base", b, "--new", n, "--gate-speed", "--json", gj)
    run("history", "append", store, "--commit", "1" * 40, "--leg", "x86", b)
    run("history", "append", store, "--commit", "2" * 40, "--leg", "x86", "--gate", gj, n)
    out = os.path.join(tmp, "rep")
    p = run("report", "--history", store, "-o", out)
    check(p.returncode == 0, p.stderr)
    md = open(os.path.join(out, "history.md")).read()
    check("`111111111111`" in md and "`222222222222`" in md, f"commits not listed:\n{md}")
    check(re.search(r"`222222222222` \| [^|]* \| fail \| 1 \|", md) is not None,
          f"flagged commit not marked:\n{md}")
    pngs = os.listdir(os.path.join(out, "plots"))
    check("speed-x86-dim768-rows64-t1.png" in pngs, f"plots: {pngs}")
    for f in pngs:
        check(open(os.path.join(out, "plots", f), "rb").read(8) == b"\x89PNG\r\n\x1a\n", f"{f}: not PNG")
    check("data:image/png;base64" in open(os.path.join(out, "history.html")).read(), "html lacks plots")
    expect_exit2(run("report", "--history", store, "-o", out), "exists")
    expect_exit2(run("report", "--history", os.path.join(tmp, "none"), "-o", os.path.join(tmp, "r2")),
                 "no such history store")
    check(not os.path.exists(os.path.join(tmp, "r2")), "a failed report left output")
    expect_exit2(run("report", "-o", os.path.join(tmp, "r3")), "--history")


# ---------------------------------------------------------------- lnbench itself

def lnbench_exe():
    exe = os.environ.get("LNBENCH_EXE")
    return exe if exe and os.access(exe, os.X_OK) else None


def test_stepi(tmp):
    """icount-stepi counts exactly what callgrind counts on a kernel both can
    run (the same inclusive count of <kernel>_forward on the same input), so
    its counts of AVX-512 kernels are the same measure; merged files keep
    callgrind's rows."""
    exe = lnbench_exe()
    if not exe or not shutil.which("gdb") or not shutil.which("valgrind"):
        print("needs LNBENCH_EXE, gdb and valgrind")
        return SKIP
    cg, st = os.path.join(tmp, "cg.json"), os.path.join(tmp, "st.json")
    p = run("icount", "--lnbench", exe, "--kernels", "naive_two_pass", "--shapes", "2x24", "-o", cg)
    check(p.returncode == 0, p.stderr)
    p = run("icount-stepi", "--lnbench", exe, "--kernels", "naive_two_pass", "--shapes",
            "2x24", "--merge", cg, "-o", st)
    check(p.returncode == 0, p.stderr)
    a = {r["key"]: r for r in json.load(open(cg))["results"]}
    b = {r["key"]: r for r in json.load(open(st))["results"]}
    k = "naive_two_pass/dim:24/rows:2/threads:1"
    check(b[k]["method"] == "stepi" and b[k]["instructions_per_call"] > 100, f"stepi row: {b[k]}")
    check(b[k]["instructions_per_call"] == a[k]["instructions_per_call"],
          f"stepi {b[k]['instructions_per_call']} != callgrind {a[k]['instructions_per_call']}")
    expect_exit2(run("icount-stepi", "--lnbench", exe, "--kernels", "nosuch", "-o",
                     os.path.join(tmp, "x.json")), "unknown kernel")


def test_cli_color_help(tmp):
    """NO_COLOR reaches Google Benchmark (no escape codes on a terminal),
    and every lnbench --help and every Python script's --help states its
    exit statuses."""
    exe = lnbench_exe()
    if not exe:
        print("needs LNBENCH_EXE")
        return SKIP
    outs = [["--help"]] + [[c, "--help"] for c in ("list", "accuracy", "speed")]
    for args in outs:
        p = subprocess.run([exe, *args], capture_output=True, text=True)
        check(p.returncode == 0 and re.search(r"exit status", p.stdout, re.I),
              f"lnbench {' '.join(args)} does not state its exit statuses")
    for s in ("compare", "summary", "report", "promote-baseline", "icount", "icount-stepi",
              "gate", "history", "regen-bounds"):
        p = run(s, "--help")
        check(p.returncode == 0 and re.search(r"exit status", p.stdout, re.I),
              f"scripts/{s} --help does not state its exit statuses")
    if not shutil.which("script"):
        return 0
    cmd = f"{exe} speed --kernels naive_two_pass --dims 16 --rows 4 --threads 1 --pin none " \
          "--benchmark_min_time=0"
    seen = {}
    for nc in ("", "1"):
        env = dict(os.environ, NO_COLOR=nc)
        p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                           env=env, stdin=subprocess.DEVNULL)
        check(p.returncode == 0, f"speed on a pty failed: {p.stdout[-300:]}")
        seen[nc] = "\x1b[" in p.stdout
    check(seen[""], "setup: Google Benchmark printed no colour on a terminal")
    check(not seen["1"], "NO_COLOR=1: colour escape codes still printed")


TESTS = {n[5:]: f for n, f in sorted(globals().items()) if n.startswith("test_")}


def main():
    return run_tests(TESTS, "lnbench-ci")


if __name__ == "__main__":
    sys.exit(main())
