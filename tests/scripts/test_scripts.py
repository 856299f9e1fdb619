#!/usr/bin/python3
"""Tests of scripts/ (compare, summary, report, promote-baseline, icount,
regen-bounds).

  test_scripts.py NAME      run one test (ctest runs each as its own test)
  test_scripts.py all       run every test

Every test builds its synthetic result files at run time, in a temporary
directory, with tests/scripts/gen_results.py (fixed RNG seeds), runs the script
as a user would (/usr/bin/python3, a subprocess) and checks exit status and
output.  Exit 0 pass, 1 fail, 77 skipped (a Debian package is missing).
"""

import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPTS = os.path.join(ROOT, "scripts")
GEN = os.path.join(HERE, "gen_results.py")
PY = sys.executable or "/usr/bin/python3"
SKIP = 77


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run(script, *args, cwd=None):
    p = subprocess.run([PY, os.path.join(SCRIPTS, script), *map(str, args)],
                       capture_output=True, text=True, cwd=cwd, timeout=120)
    check("Traceback" not in p.stderr and "Traceback" not in p.stdout,
          f"{script} printed a traceback:\n{p.stderr}")
    return p


def gen(tmp, name, kind, *args):
    path = os.path.join(tmp, name)
    subprocess.run([PY, GEN, kind, path, *map(str, args)], check=True)
    return path


def load_script(name):
    """Import a script without a .py suffix as a module (for unit tests)."""
    sys.path.insert(0, SCRIPTS)
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"),
                                                  os.path.join(SCRIPTS, name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def expect_exit2(p, *needles):
    """Unusable input: status 2, exactly one line on stderr naming the cause."""
    check(p.returncode == 2, f"expected exit 2, got {p.returncode}\n{p.stdout}{p.stderr}")
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1, f"expected a one-line message, got:\n{p.stderr}")
    for n in needles:
        check(n in lines[0], f"message lacks '{n}': {lines[0]}")


# ---------------------------------------------------------------- compare

def test_gate_slowdown(tmp):
    """A planted 10 % slow-down of one kernel, 12 repetitions: exit 1, and
    only that kernel's benchmarks are regressions."""
    b = gen(tmp, "b.json", "speed", "--seed", 11, "--reps", 12)
    n = gen(tmp, "n.json", "speed", "--seed", 12, "--reps", 12,
            "--slow", "naive_two_pass=1.10")
    md = os.path.join(tmp, "gate.md")
    p = run("compare", b, n, "--markdown", md)
    check(p.returncode == 1, f"slow-down passed the gate (exit {p.returncode})\n{p.stdout}")
    reg = [ln for ln in p.stdout.splitlines() if "REGRESSION" in ln]
    check(len(reg) == 3 and all(ln.startswith("naive_two_pass/") for ln in reg),
          f"expected the 3 naive_two_pass shapes as regressions:\n{p.stdout}")
    check("weak" not in p.stdout, "12 repetitions must not be called weak")
    check("geometric mean" in p.stdout, "no geometric-mean summary")
    check("unchanged" in p.stdout, "unchanged benchmarks not listed")
    text = open(md).read()
    check("**REGRESSION**" in text and "| benchmark |" in text, "markdown lacks the table")


def test_gate_noise(tmp):
    """Pure noise (same distribution, different seeds) passes, for several
    seed pairs; an improvement and a slowed peer (not gated) pass too."""
    for s in (1, 2, 3):
        b = gen(tmp, f"b{s}.json", "speed", "--seed", 100 + s, "--noise", 0.02)
        n = gen(tmp, f"n{s}.json", "speed", "--seed", 200 + s, "--noise", 0.02)
        p = run("compare", b, n)
        check(p.returncode == 0, f"noise failed the gate (seeds {s}):\n{p.stdout}{p.stderr}")
        check("PASS" in p.stdout, "no PASS line")
    f = gen(tmp, "fast.json", "speed", "--seed", 7, "--slow", "welford=0.8",
            "--slow", "onednn=1.3")
    p = run("compare", os.path.join(tmp, "b1.json"), f)
    check(p.returncode == 0, f"improvement / peer slow-down failed the gate:\n{p.stdout}")
    check(any(ln.startswith("welford/") and "improved" in ln for ln in p.stdout.splitlines()),
          "improvement not listed")
    check(any(ln.startswith("onednn/") and "not gated" in ln for ln in p.stdout.splitlines()),
          "slowed peer not listed as not gated")


def test_gate_weak(tmp):
    """6 repetitions: verdict marked weak; 1 repetition: medians only; a
    per-kernel threshold in the config file lets a 10 % slow-down pass."""
    b = gen(tmp, "b.json", "speed", "--seed", 1, "--reps", 6)
    n = gen(tmp, "n.json", "speed", "--seed", 2, "--reps", 6, "--slow", "welford=1.2")
    p = run("compare", b, n)
    check(p.returncode == 1 and "weak" in p.stdout, f"6 reps: {p.returncode}\n{p.stdout}")
    b = gen(tmp, "b1.json", "speed", "--seed", 1, "--reps", 1)
    n = gen(tmp, "n1.json", "speed", "--seed", 2, "--reps", 1, "--slow", "welford=1.2")
    p = run("compare", b, n)
    check(p.returncode == 1 and "medians only" in p.stdout, f"1 rep:\n{p.stdout}")
    b = gen(tmp, "b12.json", "speed", "--seed", 1)
    n = gen(tmp, "n12.json", "speed", "--seed", 2, "--slow", "welford=1.10")
    cfg = os.path.join(tmp, "gate.toml")
    with open(cfg, "w") as f:
        f.write('[speed]\nthreshold_pct = 5.0\n[speed.kernel.welford]\nthreshold_pct = 15.0\n')
    p = run("compare", b, n, "--config", cfg)
    check(p.returncode == 0, f"per-kernel threshold ignored:\n{p.stdout}")
    p = run("compare", b, n, "--threshold", 20)
    check(p.returncode == 0, "--threshold ignored")
    with open(cfg, "w") as f:
        f.write('[speed\nthreshold_pct = \n')
    expect_exit2(run("compare", b, n, "--config", cfg), "bad TOML")
    expect_exit2(run("compare", b, n, "--config", os.path.join(tmp, "none.toml")),
                 "no such config")
    # GB's aggregates-only output still compares (medians only).
    n = gen(tmp, "agg.json", "speed", "--seed", 2, "--aggregates-only", "--slow", "welford=1.2")
    p = run("compare", b, n)
    check(p.returncode == 1 and "medians only" in p.stdout, f"aggregates only:\n{p.stdout}")


def test_gate_accuracy(tmp):
    """Accuracy: grown ulp, new nonfinite, a missing kernel each fail; the
    same file passes; a speed+accuracy pair gates on both."""
    b = gen(tmp, "ba.json", "accuracy")
    p = run("compare", b, b)
    check(p.returncode == 0, f"identical accuracy failed:\n{p.stdout}")
    for name, args, needle in (("worse.json", ("--worsen", "welford=1.5"), "max_ulp"),
                               ("nf.json", ("--nonfinite", "two_pass_f64=2"), "nonfinite 0 -> 2"),
                               ("drop.json", ("--drop", "welford"), "missing from new")):
        n = gen(tmp, name, "accuracy", *args)
        p = run("compare", b, n)
        check(p.returncode == 1, f"{name}: accuracy regression passed:\n{p.stdout}")
        check(needle in p.stdout, f"{name}: output lacks '{needle}'")
    # onednn (a peer) is not gated.
    n = gen(tmp, "peer.json", "accuracy", "--worsen", "onednn=3")
    check(run("compare", b, n).returncode == 0, "peer accuracy change failed the gate")
    # Pairs: speed unchanged + accuracy worse -> 1, whatever the timing.
    bs = gen(tmp, "bs.json", "speed", "--seed", 1)
    ns = gen(tmp, "ns.json", "speed", "--seed", 2)
    n = os.path.join(tmp, "worse.json")
    p = run("compare", bs, b, ns, n)
    check(p.returncode == 1 and "Speed: 0 regression" in p.stdout, f"pair:\n{p.stdout}")
    # Run directories, told apart by content.
    for d, files in (("base", (bs, b)), ("new", (ns, n))):
        os.mkdir(os.path.join(tmp, d))
        for f, kind in zip(files, ("speed", "accuracy")):
            os.link(f, os.path.join(tmp, d, f"20261122T000000Z-{kind}.json"))
    p = run("compare", os.path.join(tmp, "base"), os.path.join(tmp, "new"))
    check(p.returncode == 1 and "Accuracy: 6 regression" in p.stdout, f"dirs:\n{p.stdout}")


def test_bad_input(tmp):
    """Unusable input: exit 2, one line, no traceback, no markdown file."""
    b = gen(tmp, "b.json", "speed")
    text = open(b).read()
    cases = {}
    for name, body in (("trunc.json", text[: len(text) // 2]),
                       ("trunc2.json", text[: len(text) - 3]),
                       ("garbage.json", "{ this is not json }"),
                       ("empty.json", ""),
                       ("list.json", "[1, 2, 3]"),
                       ("other.json", '{"hello": 1}'),
                       ("binary.json", "\udcff")):
        path = os.path.join(tmp, name)
        with open(path, "w", errors="surrogateescape") as f:
            f.write(body)
        cases[name] = path
    md = os.path.join(tmp, "out.md")
    for name, needle in (("trunc.json", "truncated"), ("trunc2.json", "truncated"),
                         ("garbage.json", "malformed"), ("empty.json", "empty"),
                         ("list.json", "not a result file"), ("other.json", "neither"),
                         ("binary.json", "UTF-8")):
        p = run("compare", b, cases[name], "--markdown", md)
        expect_exit2(p, name, needle)
        check(not os.path.exists(md), "markdown written despite bad input")
    expect_exit2(run("compare", b, os.path.join(tmp, "nope.json")), "nope.json", "no such file")
    expect_exit2(run("compare", b), "BASE NEW")
    expect_exit2(run("compare", "--bogus", b, b), "--bogus")
    u = gen(tmp, "us.json", "speed", "--time-unit", "us")
    expect_exit2(run("compare", b, u), "time units differ")
    x = gen(tmp, "x.json", "speed", "--host", "elsewhere")
    expect_exit2(run("compare", b, x), "different machines", "elsewhere")
    check(run("compare", b, x, "--allow-cross-machine").returncode == 0, "cross-machine flag")
    a = gen(tmp, "a.json", "accuracy")
    expect_exit2(run("compare", b, a), "missing from new: speed")
    # Bare NaN counters (GB's output) are fine, not an error.
    check("NaN" in text, "generator should write a bare NaN like Google Benchmark")
    check(run("compare", b, b).returncode == 0, "file with NaN counters rejected")


def test_mismatch(tmp):
    """Benchmark sets that differ: exit 2 naming what each side lacks."""
    b = gen(tmp, "b.json", "speed", "--kernels", "naive_two_pass,welford")
    n = gen(tmp, "n.json", "speed", "--kernels", "naive_two_pass,welford,avx512",
            "--drop", "welford/dim:768/rows:64/threads:1")
    p = run("compare", b, n)
    expect_exit2(p, "missing from new: welford/dim:768/rows:64/threads:1",
                 "missing from base: avx512/dim:4096/rows:32768/threads:1")
    a1 = gen(tmp, "a1.json", "accuracy")
    doc = json.load(open(a1))
    doc["parameters"]["seed"] = 2
    a2 = os.path.join(tmp, "a2.json")
    json.dump(doc, open(a2, "w"))
    expect_exit2(run("compare", a1, a2), "seed")


def test_units(tmp):
    """The U test agrees with scipy (or a stored value); names parse."""
    cmp = load_script("compare")
    x = [1.0, 2, 3, 4, 5, 5, 6, 7]
    y = [4.0, 5, 6, 7, 8, 9, 9, 10, 11]
    p = cmp.mann_whitney_p(x, y)
    check(abs(p - 0.011930070499750364) < 1e-12, f"U test p {p}")
    try:
        from scipy.stats import mannwhitneyu
        import random
        rng = random.Random(5)
        for _ in range(20):
            a = [round(rng.gauss(0, 1), 1) for _ in range(rng.randint(2, 15))]
            c = [round(rng.gauss(0.5, 1), 1) for _ in range(rng.randint(2, 15))]
            ref = mannwhitneyu(a, c, alternative="two-sided", method="asymptotic").pvalue
            check(abs(cmp.mann_whitney_p(a, c) - ref) < 1e-9, "U test differs from scipy")
    except ImportError:
        pass
    check(cmp.min_attainable_p(3, 3) > 0.05 and cmp.min_attainable_p(4, 4) < 0.05,
          "min attainable p")
    import lnbench_results as L
    k, prm, key = L.parse_bench_name("welford/dim:768/rows:64/threads:2/real_time/threads:2")
    check(key == "welford/dim:768/rows:64/threads:2" and prm["dim"] == 768, key)
    k, prm, key = L.parse_bench_name("memcpy/dim:768/rows:64/min_time:0.100/repeats:3")
    check(key == "memcpy/dim:768/rows:64/threads:1", key)
    # Folders of scripts/run: host, CPU model, and the microarchitecture
    # when the model name does not say it (a VM's "AMD EPYC" is a Zen 1 or
    # a Zen 4); files without cpu_uarch keep their old folder name.
    check(L.machine_name({"hostname": "VM.example.org", "cpu_model": " Intel(R) Xeon(R) @ 2.10GHz"})
          == "vm-intel-r-xeon-r-2-10ghz", "machine slug")
    check(L.machine_name({"hostname": "vm", "cpu_model": "AMD EPYC", "cpu_uarch": "Zen 4"})
          == "vm-amd-epyc-zen-4", "machine slug with uarch")
    check(L.machine_name({"hostname": "vm", "cpu_model": "AMD EPYC", "cpu_uarch": "Zen 1"})
          != L.machine_name({"hostname": "vm", "cpu_model": "AMD EPYC", "cpu_uarch": "Zen 4"}),
          "Zen 1 and Zen 4 share a machine name")
    check(L.machine_name({"hostname": "h", "cpu_model": "AMD Ryzen (Zen 4)", "cpu_uarch": "Zen 4"})
          == "h-amd-ryzen-zen-4", "uarch repeated")


# ---------------------------------------------------------------- summary

def test_summary_comp(tmp):
    """Another computation (bf16 RMSNorm): summary and report find its
    benchmarks under their names, say what was computed, count its bytes
    (4 per element: the cache regime of 32768 x 4096 is then 512 MiB, not
    1 GiB) and refuse a file that mixes computations."""
    s = gen(tmp, "s.json", "speed", "--kernels", "naive_two_pass,two_pass_f64,avx512",
            "--comp", "rmsnorm,bf16,single")
    p = run("summary", s)
    check(p.returncode == 0, f"summary failed: {p.stderr}")
    lines = p.stdout.splitlines()
    check("(rmsnorm bf16)" in lines[0], f"title lacks the computation: {lines[0]}")
    for k in ("naive_two_pass", "two_pass_f64", "avx512"):
        row = [ln for ln in lines if ln.split() and ln.split()[0] == k]
        check(len(row) == 1 and "-" not in row[0].split()[1:3],
              f"{k} not found under its rmsnorm/bf16 name:\n{p.stdout}")
    check("4 bytes/element" in p.stdout, f"byte model not named:\n{p.stdout}")
    out = os.path.join(tmp, "rep")
    p = run("report", s, "-o", out)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    text = open(os.path.join(out, "report.md")).read() if p.returncode == 0 else ""
    check("rmsnorm bf16 (4 bytes per element)" in text, "report does not name the computation")
    # one file holding two computations: tables by kernel and shape refuse it
    f32 = json.load(open(gen(tmp, "f.json", "speed", "--kernels", "naive_two_pass")))
    mixed = json.load(open(s))
    mixed["benchmarks"] += f32["benchmarks"]
    path = os.path.join(tmp, "mixed.json")
    with open(path, "w") as f:
        json.dump(mixed, f)
    expect_exit2(run("summary", path), "several computations")


ALL_KERNELS = "onednn,naive_two_pass,welford,two_pass_f64,textbook_one_pass,avx512"


def test_summary(tmp):
    """Every kernel appears with its numbers; accuracy alone works too."""
    s = gen(tmp, "s.json", "speed", "--kernels", ALL_KERNELS, "--threads", "1,2")
    a = gen(tmp, "a.json", "accuracy", "--kernels", ALL_KERNELS)
    md = os.path.join(tmp, "sum.md")
    p = run("summary", s, a, "--markdown", md)
    check(p.returncode == 0, f"summary failed: {p.stderr}")
    lines = p.stdout.splitlines()
    for k in ALL_KERNELS.split(","):
        row = [ln for ln in lines if ln.split() and ln.split()[0] == k]
        check(len(row) == 1, f"kernel {k} not in the summary:\n{p.stdout}")
        check(len(row[0].split()) == 11, f"row of {k} incomplete: {row[0]}")
    check(not any(ln.startswith("memcpy") for ln in lines), "memcpy listed as a kernel")
    head = lines[1]
    for needle in ("L2 64x768", "DRAM 32768x4096", "roofline", "x onednn",
                   "max ulp normal", "mean ulp offset1e4"):
        check(needle in head, f"header lacks '{needle}': {head}")
    # avx512 at 95 GB/s vs onednn 51 GB/s in the generator: x onednn ~ 1.87.
    row = [ln for ln in lines if ln.startswith("avx512")][0].split()
    check(abs(float(row[3]) - 95 / 51) < 0.1, f"x onednn of avx512: {row[3]}")
    check(abs(float(row[2]) - 95 / 120) < 0.05, f"roofline of avx512: {row[2]}")
    tb = [ln for ln in lines if ln.startswith("textbook_one_pass")][0].split()
    check(tb[9] == "inf", f"infinite max ulp not shown as inf: {tb}")
    check("| avx512 |" in open(md).read(), "markdown summary")
    p = run("summary", "--speed", s, "--accuracy", a)
    check(p.returncode == 0 and "avx512" in p.stdout, "summary --speed/--accuracy form")
    expect_exit2(run("summary", "--speed", a), "not a speed result")
    p = run("summary", "--accuracy", a)
    check(p.returncode == 0 and all(k in p.stdout for k in ALL_KERNELS.split(",")),
          f"accuracy-only summary:\n{p.stdout}{p.stderr}")
    expect_exit2(run("summary", os.path.join(tmp, "missing.json")), "no such file")


# ---------------------------------------------------------------- promote

def test_promote(tmp):
    """The newest dated run of a folder becomes results/<machine>/baseline-*;
    an existing baseline is replaced only with --force; the gate then reads
    the baseline folder."""
    m = "ci-box-synthetic-cpu-2-10ghz"
    runs = os.path.join(tmp, "results", m)
    os.makedirs(runs)
    gen(tmp, f"results/{m}/20261121-100000-speed.json", "speed", "--seed", 1)
    gen(tmp, f"results/{m}/20261121-100000-accuracy.json", "accuracy")
    gen(tmp, f"results/{m}/20261122-090000-speed.json", "speed", "--seed", 2)
    gen(tmp, f"results/{m}/20261122-090000-accuracy.json", "accuracy")
    res = os.path.join(tmp, "results")
    p = run("promote-baseline", runs, "--results", res)
    check(p.returncode == 0, f"promote failed: {p.stderr}")
    for kind in ("speed", "accuracy"):
        b = open(os.path.join(runs, f"baseline-{kind}.json")).read()
        check(b == open(os.path.join(runs, f"20261122-090000-{kind}.json")).read(),
              f"baseline-{kind} is not the newest run")
    expect_exit2(run("promote-baseline", runs, "--results", res), "exists", "--force")
    older = os.path.join(runs, "20261121-100000-speed.json")
    check(run("promote-baseline", older, "--results", res, "--force").returncode == 0, "--force")
    check(open(os.path.join(runs, "baseline-speed.json")).read() == open(older).read(),
          "--force did not replace")
    expect_exit2(run("promote-baseline", os.path.join(tmp, "nope.json"), "--results", res),
                 "no such file")
    p = run("promote-baseline", older, "--results", res, "--machine", "ci-debian12-x86-64")
    check(p.returncode == 0 and os.path.exists(os.path.join(res, "ci-debian12-x86-64",
                                                            "baseline-speed.json")), "--machine")
    expect_exit2(run("promote-baseline", older, "--results", res, "--machine", "../x"),
                 "not a folder name")
    # The gate against the promoted baseline: newest run vs baseline files.
    base = [os.path.join(runs, f"baseline-{k}.json") for k in ("speed", "accuracy")]
    p = run("compare", *base, runs)
    check(p.returncode == 0, f"compare baseline vs run dir:\n{p.stdout}{p.stderr}")
    # One machine folder: its baselines against its newest run.
    p = run("compare", runs)
    check(p.returncode == 0 and "Speed: 0" in p.stdout and "Accuracy: 0" in p.stdout,
          f"compare MACHINE_DIR:\n{p.stdout}{p.stderr}")
    gen(tmp, f"results/{m}/20261123-090000-speed.json", "speed", "--seed", 3,
        "--slow", "welford=1.2")
    gen(tmp, f"results/{m}/20261123-090000-accuracy.json", "accuracy")
    p = run("compare", runs)
    check(p.returncode == 1 and "welford/" in p.stdout, f"MACHINE_DIR newest run:\n{p.stdout}")


# ---------------------------------------------------------------- icount

CALLGRIND = """# callgrind format
version: 1
positions: line
events: Ir
fn=(1) main
0 10
cfn=(2) naive_two_pass_forward
calls=2 0
0 2000
cfn=(3) welford_forward.constprop.0
calls=1 0
0 1500
fn=(4) bench_body
cfn=(2)
calls=2 0
0 2000
cfn=(5) welford_forward_helper
calls=7 0
0 99
fn=(2)
0 4000
"""


def test_icount(tmp):
    """callgrind output parsing (name compression, call sites summed, clone
    suffixes); --from-speed; a planted 3 % instruction growth fails the gate;
    with a built lnbench and valgrind, a real count is positive and identical
    on a rerun."""
    ic = load_script("icount")
    cg = os.path.join(tmp, "cg.out")
    with open(cg, "w") as f:
        f.write(CALLGRIND)
    funcs = ic.parse_callgrind(cg)
    check(ic.kernel_counts(funcs, "naive_two_pass") == (4, 4000), f"naive: {funcs}")
    check(ic.kernel_counts(funcs, "welford") == (1, 1500), f"welford: {funcs}")
    # --from-speed: counters present / absent.
    s = gen(tmp, "s.json", "speed", "--kernels", "naive_two_pass,welford")
    doc = json.load(open(s))
    for e in doc["benchmarks"]:
        e["instructions_per_element"] = 8.0 if e["name"].startswith("naive") else 16.0
    sp = os.path.join(tmp, "sp.json")
    json.dump(doc, open(sp, "w"))
    out = os.path.join(tmp, "ic.json")
    p = run("icount", "--from-speed", sp, "-o", out)
    check(p.returncode == 0, f"--from-speed: {p.stderr}")
    base = json.load(open(out))
    check(base["method"] == "perf" and len(base["results"]) == 6, "from-speed results")
    expect_exit2(run("icount", "--from-speed", s, "-o", os.path.join(tmp, "x.json")),
                 "no instructions_per_element")
    expect_exit2(run("icount", "--from-speed", sp, "-o", out), "exists")
    # The gate: +3 % instructions on welford -> 1; +0.5 % -> 0.
    for factor, want in ((1.03, 1), (1.005, 0)):
        new = json.loads(json.dumps(base))
        for r in new["results"]:
            if r["kernel"] == "welford":
                r["instructions_per_element"] *= factor
        np_ = os.path.join(tmp, f"new{factor}.json")
        json.dump(new, open(np_, "w"))
        p = run("compare", out, np_)
        check(p.returncode == want, f"icount x{factor}: exit {p.returncode}\n{p.stdout}")
    # Real callgrind run, when possible.
    exe = os.environ.get("LNBENCH_EXE")
    import shutil
    if not exe or not os.path.exists(exe) or not shutil.which("valgrind"):
        print("(no lnbench/valgrind: real callgrind run skipped)")
        return 0
    if subprocess.run([exe, "speed", "--help"], capture_output=True).returncode != 0:
        print("(lnbench built without speed: real callgrind run skipped)")
        return 0
    counts = []
    for i in (1, 2):
        o = os.path.join(tmp, f"real{i}.json")
        p = run("icount", "--lnbench", exe, "--kernels", "naive_two_pass",
                "--shapes", "4x256", "-o", o)
        check(p.returncode == 0, f"icount under callgrind: {p.stderr}")
        counts.append([r["instructions_per_element"] for r in json.load(open(o))["results"]])
    check(counts[0] == counts[1] and counts[0][0] > 1, f"callgrind counts: {counts}")


# ---------------------------------------------------------------- workflow

def test_workflow(tmp):
    """.github/workflows/bench.yml parses (Debian's python3-yaml) and has
    the structure issue 14 asks for: on push, a concurrency group, every
    action pinned by a commit SHA, apt caching; a matrix job per leg that
    runs the README's test command, seeds a baseline (scripts/ci-baseline),
    measures (scripts/ci-measure), gates (scripts/gate) with speed gated only
    on the timing leg, writes the summary and the PR comment body and uploads
    results always; a history job on main that appends to the store and
    draws the trend charts; a merged report.  Every script it calls exists."""
    try:
        import yaml
    except ImportError:
        print("python3-yaml missing")
        return SKIP
    path = os.path.join(ROOT, ".github", "workflows", "bench.yml")
    try:
        wf = yaml.safe_load(open(path))
    except yaml.YAMLError as e:
        raise Fail(f"bench.yml does not parse: {e}")
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    check(isinstance(on, dict) and "push" in on and "pull_request" in on,
          "not triggered on push and pull_request")
    check("group" in (wf.get("concurrency") or {}), "no concurrency group")
    jobs = wf.get("jobs", {})
    check({"legs", "bench", "history", "report"} <= set(jobs), f"jobs: {sorted(jobs)}")

    def steps_text(job):
        return "\n".join(str(st.get("run", "")) + " " + str(st.get("uses", ""))
                         for st in job.get("steps", []))
    for name, job in jobs.items():
        check("runs-on" in job and job.get("steps"), f"job {name} lacks runs-on/steps")
        for st in job["steps"]:
            check(("run" in st) != ("uses" in st), f"{name}: a step needs run xor uses: {st}")
            if "uses" in st:
                check(re.search(r"@[0-9a-f]{40}$", st["uses"]) is not None,
                      f"{name}: action not pinned by a commit SHA: {st['uses']}")
        for script in re.findall(r"scripts/[a-z][a-z-]*", steps_text(job)):
            check(os.path.exists(os.path.join(ROOT, script)), f"{name} calls missing {script}")
    bench = jobs["bench"]
    check("${{ matrix.runner }}" in str(bench["runs-on"]), "bench does not use the matrix runner")
    check("legs" in str(bench.get("needs")), "bench's matrix does not come from the legs job")
    text = steps_text(bench)
    for needle in ("actions/cache", "scripts/test", "scripts/ci-baseline", "scripts/ci-measure",
                   "scripts/gate", "--gate-speed", "GITHUB_STEP_SUMMARY", "pr-comment.md",
                   "actions/upload-artifact"):
        check(needle in text, f"bench job lacks '{needle}'")
    check("/var/cache/apt" in str(bench["steps"]), "apt's archives are not cached")
    legs_text = steps_text(jobs["legs"])
    check('"gate_speed":false' in legs_text and re.search(r'gate_speed\\?":true', legs_text) and
          "LNBENCH_TIMING_RUNNER" in str(jobs["legs"]),
          "speed must be gated on the timing runner's leg only")
    up = [st for st in bench["steps"] if "upload-artifact" in str(st.get("uses"))]
    check(up and up[0].get("if") == "always()", "results not uploaded when the gate fails")
    hist = jobs["history"]
    check("refs/heads/main" in str(hist.get("if")) and "always()" in str(hist.get("if")),
          "history must run on main's pushes, also after a failed gate")
    check((hist.get("permissions") or {}).get("contents") == "write",
          "history job cannot push the data branch")
    ht = steps_text(hist)
    check("scripts/history append" in ht and "--history" in ht and "git push" in ht,
          "history job must append, chart and push")
    rep = jobs["report"]
    check(rep.get("if") == "always()" and "bench" in str(rep.get("needs")),
          "report job must follow the bench legs and run always")
    t = steps_text(rep)
    check("download-artifact" in t and "scripts/report" in t and "upload-artifact" in t,
          "report job must download, build and upload the report")
    import shutil
    if shutil.which("yamllint"):
        p = subprocess.run(["yamllint", "-d", "{extends: relaxed, rules: {line-length: "
                            "{max: 120}, truthy: disable}}", path],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"yamllint: {p.stdout}")


# ---------------------------------------------------------------- report

def test_report(tmp):
    """Two machines' files: every kernel, every plot (real PNGs, referenced
    by the Markdown, embedded in the HTML), provenance side by side."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("python3-matplotlib missing")
        return SKIP
    shapes = "64x768,64x4096,1024x768,1024x4096,32768x768,32768x4096"
    k1 = ALL_KERNELS
    k2 = "onednn,naive_two_pass,welford,two_pass_f64,textbook_one_pass"
    files = [gen(tmp, "a-s.json", "speed", "--kernels", k1, "--shapes", shapes,
                 "--threads", "1,2", "--reps", 3),
             gen(tmp, "a-a.json", "accuracy", "--kernels", k1),
             gen(tmp, "b-s.json", "speed", "--kernels", k2, "--shapes", shapes, "--reps", 3,
                 "--host", "arm-box", "--cpu", "Neoverse-V2", "--seed", 9),
             gen(tmp, "b-a.json", "accuracy", "--kernels", k2, "--host", "arm-box",
                 "--cpu", "Neoverse-V2")]
    out = os.path.join(tmp, "rep")
    p = run("report", *files, "-o", out)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    md = open(os.path.join(out, "report.md")).read()
    page = open(os.path.join(out, "report.html")).read()
    for k in set(k1.split(",")) | set(k2.split(",")):
        check(f"| {k} |" in md, f"kernel {k} missing from the Markdown tables")
        check(f"<td>{k}</td>" in page, f"kernel {k} missing from the HTML")
    expect = {f"gbps_{r}_t1.png" for r in ("L2", "LLC", "DRAM")} | \
        {"gbps_L2_t2.png", "gbps_LLC_t2.png", "gbps_DRAM_t2.png",
         "roofline.png", "ulp_max.png", "ulp_mean.png"} | \
        {f"scaling_ci-box-synthetic-cpu-2-10ghz_{d}.png" for d in (768, 4096)}
    have = set(os.listdir(os.path.join(out, "plots")))
    check(have == expect, f"plots: have {sorted(have)}, expected {sorted(expect)}")
    for name in expect:
        check(f"](plots/{name})" in md, f"{name} not referenced by report.md")
        with open(os.path.join(out, "plots", name), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG")
    check(page.count('src="data:image/png;base64,') == len(expect),
          "HTML does not embed every plot")
    check('src="plots/' not in page, "HTML refers to external files")
    first = md.split("## Machines")[0]
    check("Which kernel to use" in first and "| **avx512** |" in first,
          "first screen lacks the recommendation")
    check("ci-box-synthetic-cpu-2-10ghz" in md and "arm-box-neoverse-v2" in md,
          "machines missing")
    check("Neoverse-V2" in md and "Synthetic CPU" in md, "provenance not side by side")
    # Existing output without --force, and bad input: exit 2, nothing written.
    expect_exit2(run("report", *files, "-o", out), "exists")
    trunc = os.path.join(tmp, "t.json")
    with open(trunc, "w") as f:
        f.write(open(files[0]).read()[:500])
    out2 = os.path.join(tmp, "rep2")
    expect_exit2(run("report", files[1], trunc, "-o", out2), "truncated")
    check(not os.path.exists(out2), "partial report left behind")
    check(not [n for n in os.listdir(tmp) if n.startswith(".report-")], "temporary left")
    p = run("report", *files, "-o", out, "--force")
    check(p.returncode == 0, "--force did not replace the report")


def need_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("python3-matplotlib missing")
        return False
    return True


def md_section(md, title):
    """The text of one '## title' section of report.md."""
    check(f"## {title}\n" in md, f"report lacks the section '{title}'")
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def md_rows(text, first):
    """Cells of the Markdown table rows whose first cells are `first`."""
    out = []
    for ln in text.splitlines():
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if ln.startswith("|") and cells[:len(first)] == list(first):
            out.append(cells)
    return out


def test_report_scaling(tmp):
    """Thread scaling: per dim, the shape with the most rows measured at two
    or more thread counts gets a figure of GB/s against threads per kernel
    with the references of every count; a one-thread run gets none."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("python3-matplotlib missing")
        return SKIP
    sweep = gen(tmp, "s.json", "speed", "--shapes", "64x768,32768x768,1024x4096,16x4096",
                "--threads", "1,2,4", "--reps", 3)
    one = gen(tmp, "o.json", "speed", "--host", "other", "--reps", 3)
    sys.path.insert(0, SCRIPTS)
    import lnbench_results as L
    import lnbench_scaling
    sp = L.load_result(sweep)
    got = lnbench_scaling.scaling_shapes(sp)
    check(got == [(768, 32768, [1, 2, 4]), (4096, 1024, [1, 2, 4])], f"scaling shapes {got}")
    check(lnbench_scaling.scaling_shapes(L.load_result(one)) == [], "one thread count scaled")
    # Every count of a chosen shape has both references (the dashed line).
    for dim, rows, ts in got:
        for t in ts:
            refs = L.references_at(sp, dim, rows, t)
            check(set(refs) == {"memcpy", "stream_copy"}, f"{rows}x{dim} t{t}: {refs}")
    out = os.path.join(tmp, "rep")
    p = run("report", sweep, one, "-o", out)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    md = open(os.path.join(out, "report.md")).read()
    have = sorted(n for n in os.listdir(os.path.join(out, "plots")) if n.startswith("scaling_"))
    want = [f"scaling_ci-box-synthetic-cpu-2-10ghz_{d}.png" for d in (4096, 768)]
    check(have == want, f"scaling plots {have}, want {want}")
    for n in want:
        check(f"](plots/{n})" in md, f"{n} not in report.md")
        with open(os.path.join(out, "plots", n), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{n} is not a PNG")
    check("GB/s against threads per kernel at 32768 x 768" in md, "scaling caption missing")


def test_report_common(tmp):
    """Two machines with partly overlapping shapes: one common-shape table per
    shape both measured (only those), each machine's own GB/s in it, and a
    warning that the shape sets differ."""
    if not need_matplotlib():
        return SKIP
    k = "onednn,welford,avx512"
    a = gen(tmp, "a.json", "speed", "--kernels", k, "--reps", 3,
            "--shapes", "64x768,1024x4096,32768x4096")
    b = gen(tmp, "b.json", "speed", "--kernels", k, "--reps", 3, "--host", "epyc",
            "--cpu", "AMD EPYC", "--shapes", "64x768,32768x4096,128x12288",
            "--slow", "avx512=1.25")
    out = os.path.join(tmp, "rep")
    p = run("report", a, b, "-o", out)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    md = open(os.path.join(out, "report.md")).read()
    sec = md_section(md, "Common shapes")
    heads = [ln for ln in sec.splitlines() if ln.startswith("### ") and "thread" in ln]
    check(len(heads) == 2 and heads[0].startswith("### 64 x 768, 1 thread") and
          heads[1].startswith("### 32768 x 4096, 1 thread"),
          f"common shapes should be 64x768 and 32768x4096 only:\n{heads}")
    dram = sec.split("### 32768 x 4096")[1].split("\n### ")[0]
    row = md_rows(dram, ["avx512"])
    check(len(row) == 1, f"no avx512 row at 32768 x 4096:\n{dram}")
    ga, gb = float(row[0][1]), float(row[0][3])
    check(abs(ga - 38.0) < 1.5 and abs(gb - 38.0 / 1.25) < 1.5,
          f"GB/s per machine at 32768 x 4096: {row[0]}")
    check(not md_rows(sec, ["stream_copy"]) and not md_rows(sec, ["memcpy"]),
          "references listed as kernels in the common-shape table")
    check("speed shapes differ" in p.stderr and "ci-box" in p.stderr,
          f"no warning that the shape sets differ:\n{p.stderr}")
    check("## Tables per machine" in md and "1024x4096 t1" in md and "128x12288 t1" in md,
          "per-machine cache-regime tables lack a machine's own shapes")


def test_report_warnings(tmp):
    """Same commit and options: no warning.  A different commit, pin policy,
    --benchmark_min_time or accuracy eps: each is named, on stderr and in
    the report."""
    if not need_matplotlib():
        return SKIP
    k = "onednn,avx512"
    base = [gen(tmp, "a-s.json", "speed", "--kernels", k, "--reps", 3),
            gen(tmp, "a-a.json", "accuracy", "--kernels", k)]
    other = ["--host", "epyc", "--cpu", "AMD EPYC"]
    same = [gen(tmp, "b-s.json", "speed", "--kernels", k, "--reps", 3, *other),
            gen(tmp, "b-a.json", "accuracy", "--kernels", k, *other)]
    out = os.path.join(tmp, "r0")
    p = run("report", *base, *same, "-o", out)
    check(p.returncode == 0 and "warning" not in p.stderr,
          f"warnings for like-for-like results:\n{p.stderr}")
    check("## Warnings" not in open(os.path.join(out, "report.md")).read(),
          "warnings section without a difference")
    cases = [
        ("speed", ["--commit", "fedcba987654"], ["different lnbench commits", "fedcba987654",
                                                 "0123456789ab"]),
        ("speed", ["--pin", "scatter"], ["speed runs differ in pin", "scatter", "compact"]),
        ("speed", ["--min-time", "0.5"], ["speed runs differ in options",
                                          "--benchmark_min_time=0.5"]),
        ("speed", ["--reps", 5], ["speed runs differ in repetitions"]),
        ("accuracy", ["--eps", "1e-6"], ["accuracy runs differ in eps", "1e-06"]),
        ("accuracy", ["--commit", "fedcba987654"], ["different lnbench commits",
                                                    "epyc-amd-epyc accuracy fedcba987654"]),
    ]
    for i, (kind, opts, needles) in enumerate(cases):
        if kind == "speed":
            args = ["--kernels", k, *other, "--reps", 3, *map(str, opts)]
            files = [gen(tmp, f"c{i}-s.json", "speed", *args), same[1]]
        else:
            files = [same[0], gen(tmp, f"c{i}-a.json", "accuracy", "--kernels", k, *other,
                                  *map(str, opts))]
        out = os.path.join(tmp, f"r{i + 1}")
        p = run("report", *base, *files, "-o", out)
        check(p.returncode == 0, f"report failed: {p.stderr}")
        md = open(os.path.join(out, "report.md")).read()
        warn = md_section(md, "Warnings")
        for n in needles:
            check(n in p.stderr, f"{opts}: stderr lacks '{n}':\n{p.stderr}")
            check(n in warn, f"{opts}: report's warnings lack '{n}':\n{warn}")
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("report: warning:")]
        check(len(lines) == 1, f"{opts}: expected one warning, got:\n{p.stderr}")


def test_roofline_reference(tmp):
    """stream_copy faster (DRAM of one fixture), memcpy faster (its L2 shape,
    and every shape of another), no stream_copy (an old file): the summary
    and the report name the reference, the roofline divides by it, and
    neither reference is ever ranked as a kernel."""
    if not need_matplotlib():
        return SKIP
    k = "onednn,welford,avx512"
    sc = gen(tmp, "sc.json", "speed", "--kernels", k, "--stream-copy", "0.8,1.5")
    mc = gen(tmp, "mc.json", "speed", "--kernels", k, "--stream-copy", "0.5,0.9",
             "--host", "mbox")
    old = gen(tmp, "old.json", "speed", "--kernels", k, "--old-format", "--host", "obox")
    # avx512 38 GB/s at DRAM; memcpy 42; stream_copy 63 (sc) or 37.8 (mc).
    for path, ref_l2, ref_dram, roof in ((sc, "memcpy", "stream_copy", 38 / 63),
                                         (mc, "memcpy", "memcpy", 38 / 42),
                                         (old, "memcpy", "memcpy", 38 / 42)):
        p = run("summary", path)
        check(p.returncode == 0, f"summary failed: {p.stderr}")
        head = p.stdout.splitlines()[1].split()
        refs = [h.split("/", 1)[1] for h in head if h.startswith("roofline/")]
        check(refs == [ref_l2, ref_dram], f"{path}: roofline references {refs}")
        row = [ln.split() for ln in p.stdout.splitlines() if ln.startswith("avx512")][0]
        check(abs(float(row[5]) - roof) < 0.03, f"{path}: DRAM roofline {row[5]}, want {roof}")
        check(not any(ln.startswith(("stream_copy", "memcpy")) for ln in p.stdout.splitlines()),
              f"a reference ranked as a kernel:\n{p.stdout}")
        note = [ln for ln in p.stdout.splitlines() if ln.startswith("note: roofline reference")]
        check(len(note) == 1, f"no reference note:\n{p.stdout}")
        check(("no stream_copy" in note[0]) == (path == old),
              f"{path}: old-format note wrong: {note[0]}")
    out = os.path.join(tmp, "rep")
    p = run("report", sc, mc, old, "-o", out)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    md = open(os.path.join(out, "report.md")).read()
    rec = md_section(md, "Which kernel to use")
    check("**stream_copy**" not in md and "**memcpy**" not in md,
          "a reference recommended as a kernel")
    dram = md_rows(rec, ["ci-box-synthetic-cpu-2-10ghz", "DRAM (32768 x 4096)", "fastest"])
    check(dram and dram[0][3] == "**avx512**" and dram[0][5].endswith("(stream_copy)"),
          f"DRAM recommendation of the stream_copy machine: {dram}")
    l2 = md_rows(rec, ["ci-box-synthetic-cpu-2-10ghz", "L2 (64 x 768)", "fastest"])
    check(l2 and l2[0][5].endswith("(memcpy)"), f"L2 recommendation: {l2}")
    check("No stream_copy in the speed run of `obox-synthetic-cpu-2-10ghz`" in rec,
          "the old file's memcpy-only roofline is not said")
    common = md_section(md, "Common shapes")
    ref = md_rows(common.split("### 32768 x 4096")[1].split("\n### ")[0],
                  ["(roofline reference)"])
    check(ref and ref[0][1:6:2] == ["stream_copy", "memcpy", "memcpy, no stream_copy in run"],
          f"common-shape reference row: {ref}")


def test_report_accuracy(tmp):
    """The recommendation's accuracy cost is normwise, p99 ulp and %
    faithful, worst over the distributions at the dim of the speed row, the
    worst distribution named, max ulp beside; infinite errors show as inf."""
    if not need_matplotlib():
        return SKIP
    k = "onednn,naive_two_pass,welford,two_pass_f64,textbook_one_pass"
    s = gen(tmp, "s.json", "speed", "--kernels", k)
    a = gen(tmp, "a.json", "accuracy", "--kernels", k)
    out = os.path.join(tmp, "rep")
    p = run("report", s, a, "-o", out)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    md = open(os.path.join(out, "report.md")).read()
    rec = md_section(md, "Which kernel to use")
    head = md_rows(rec, ["machine"])[0]
    check(head[7:12] == ["normwise", "p99 ulp", "% faithful", "worst dist", "max ulp"],
          f"cost columns: {head}")
    m = "ci-box-synthetic-cpu-2-10ghz"
    # onednn is the fastest; generator: offset1e4 worst, normwise 40 and p99
    # 9e3 at dim 4096, halved at dim 768; 2 % faithful; max 4e5 ulp.
    for where, nw, p99 in (("L2 (64 x 768)", "20", "4500"),
                           ("DRAM (32768 x 4096)", "40", "9000")):
        r = md_rows(rec, [m, where, "fastest"])
        check(r and r[0][3] == "**onednn**", f"{where}: fastest {r}")
        check(r[0][7:12] == [nw, p99, "2", "offset1e4", "4.00e+05"],
              f"{where}: cost of onednn {r[0][7:12]}, want {[nw, p99, '2', 'offset1e4']}")
        acc = md_rows(rec, [m, where, "accurate"])
        check(acc and acc[0][3] == "**two_pass_f64**", f"{where}: accurate pick {acc}")
    tables = md_section(md, "Tables per machine (cache regimes)")
    nwt = tables.split("normwise error")[1]
    tb = md_rows(nwt, ["textbook_one_pass"])
    check(tb and "inf" in tb[0], f"infinite normwise not shown as inf: {tb}")


# ---------------------------------------------------------- regen-bounds

def acc_result(path, seed, affine, bias, results, unavailable=()):
    """A minimal lnbench accuracy result file (the fields regen-bounds reads)."""
    doc = {
        "lnbench_accuracy": 1,
        "context": {"git_commit": "abc", "compiler": "GNU 12", "build_type": "Release",
                    "cpu_model": "test cpu"},
        "parameters": {"rows": 2, "eps": 9.999999747378752e-06, "seed": seed,
                       "affine": affine, "bias": bias, "dims": [3, 5],
                       "dists": ["normal", "constant"], "kernels": ["k_a", "k_b"],
                       "input": None},
        "results": [{"kernel": k, "dist": d, "dim": dim, "rows": 2, "count": 2 * dim,
                     "max_ulp": 1.0, "max_row": 0, "max_col": 0, "mean_ulp": 0.3,
                     "p99_ulp": 0.9, "frac_cr": 0.9, "frac_faithful": 1.0,
                     "normwise": nw, "normwise_mean": nm, "nonfinite": nf,
                     **(dict(zip(("op", "dtype", "cast", "h_mismatch"), extra[0]))
                        if extra else {})}
                    for (k, d, dim, nw, nm, nf, *extra) in results],
        "unavailable": [{"kernel": k, "reason": "masked"} for k in unavailable],
    }
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def test_regen_bounds(tmp):
    """regen-bounds --from-json: bounds are measured x 1.25 + 0.01 rounded up,
    `none` lines and unavailable kernels' entries are kept, stale ones go;
    an unbounded measurement or bad arguments write nothing."""
    good = [("k_a", "normal", 3, 0.8, 0.2, 0), ("k_a", "normal", 5, 1.0, 0.1, 0),
            ("k_a", "constant", 3, 0.0, 0.0, 0), ("k_a", "constant", 5, 0.0, 0.0, 0),
            ("k_b", "normal", 3, 2000.0, 3.0, 0), ("k_b", "normal", 5, 10.0, 1.0, 0),
            ("k_b", "constant", 3, None, None, 7), ("k_b", "constant", 5, 1.0, 1.0, 0)]
    a = acc_result(os.path.join(tmp, "a.json"), 1, True, True, good, ["k_c"])
    b = acc_result(os.path.join(tmp, "b.json"), 1, False, False,
                   [r[:3] + (r[3] and r[3] * 1.5, r[4], r[5]) for r in good], ["k_c"])
    out = os.path.join(tmp, "t.txt")
    # Records of the newer lnbench carry op, dtype, cast and h_mismatch; the
    # others read as layernorm f32 single.
    rms = [("k_a", "normal", 3, 0.4, 0.1, 0, ("add_rmsnorm", "bf16", "llama", 0)),
           ("k_a", "normal", 5, 0.3, 0.2, 0, ("add_rmsnorm", "bf16", "llama", 0))]
    a = acc_result(os.path.join(tmp, "a.json"), 1, True, True, good + rms, ["k_c"])
    with open(out, "w") as f:
        f.write("k_b layernorm f32 single constant none NaN rows by design  # old comment\n"
                "k_c layernorm f32 single normal 3.5 0.5\n"
                "k_c rmsnorm f16 gemma normal 2.5 0.25\n"
                "gone layernorm f32 single normal 1 1\n")
    p = run("regen-bounds", "--from-json", a, b, "--arch", "testarch", "--out", out)
    check(p.returncode == 0, f"regen-bounds failed:\n{p.stderr}")
    text = open(out).read()
    lines = [ln.split("#")[0].split() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    check(["config", "rows=2", "dims=3,5", "seeds=1", "variants=affine+bias,plain",
           "eps=1e-05"] in lines, f"config line wrong:\n{text}")

    def entries_of(text):
        return {tuple(ln[:5]): ln[5:] for ln in (x.split("#")[0].split() for x in
                                                 text.splitlines()) if ln and ln[0] != "config"}
    entries = entries_of(text)
    ln32 = ("layernorm", "f32", "single")
    # k_a normal: normwise max(0.8, 1.0, 1.2, 1.5) = 1.5 -> 1.885 -> 1.89;
    # mean max 0.2 -> 0.26.  k_b normal: 3000 -> 3750.01 -> 3.76e+3.
    check(entries.get(("k_a", *ln32, "normal")) == ["1.89", "0.26"],
          f"k_a normal: {entries.get(('k_a', *ln32, 'normal'))}")
    check(entries.get(("k_a", *ln32, "constant")) == ["0.01", "0.01"], "exact 0 bound")
    check(entries.get(("k_b", *ln32, "normal")) == ["3.76e+3", "3.76"],
          f"k_b normal: {entries.get(('k_b', *ln32, 'normal'))}")
    check(entries.get(("k_b", *ln32, "constant")) == ["none", "NaN", "rows", "by", "design"],
          "none line not kept")
    # add_rmsnorm bf16 llama: its own entry, 0.4 -> 0.51, 0.2 -> 0.26
    check(entries.get(("k_a", "add_rmsnorm", "bf16", "llama", "normal")) == ["0.51", "0.26"],
          f"k_a add_rmsnorm: {entries.get(('k_a', 'add_rmsnorm', 'bf16', 'llama', 'normal'))}")
    check(entries.get(("k_c", *ln32, "normal")) == ["3.5", "0.5"], "k_c not carried over")
    check(entries.get(("k_c", "rmsnorm", "f16", "gemma", "normal")) == ["2.5", "0.25"],
          "k_c's rmsnorm f16 gemma entry not carried over")
    check(("gone", *ln32, "normal") not in entries, "stale entry kept")
    check("testarch" in text and "1.25" in text, "header lacks arch or margin")
    check(not [n for n in os.listdir(tmp) if n.endswith(".tmp")], "temporary file left")

    # --merge: each bound the looser of the file's and this run's, entries
    # not measured here kept, every host named.  Without it an entry of a
    # kernel that ran here is kept only for a combination it did not compute
    # here (a CPU-dependent refusal), and one of an unknown kernel goes.
    merged = os.path.join(tmp, "m.txt")
    old_entries = ("k_b layernorm f32 single constant none NaN rows by design\n"
                   "k_a layernorm f32 single normal 5 0.1\n"
                   "k_a layernorm bf16 single normal 7 0.7\n"
                   "k_d layernorm f32 single normal 2 0.2\n")
    with open(merged, "w") as f:
        f.write("#   from lnbench old (GNU 12, Release; other cpu)\n" + old_entries)
    p = run("regen-bounds", "--from-json", a, b, "--arch", "testarch", "--out", merged,
            "--merge")
    check(p.returncode == 0, f"regen-bounds --merge failed:\n{p.stderr}")
    mtext = open(merged).read()
    m = entries_of(mtext)
    check(m.get(("k_a", *ln32, "normal")) == ["5", "0.26"], f"merge: {m.get(('k_a', *ln32, 'normal'))}")
    check(m.get(("k_a", "layernorm", "bf16", "single", "normal")) == ["7", "0.7"],
          "merge: an entry this host does not compute was dropped")
    check(m.get(("k_d", *ln32, "normal")) == ["2", "0.2"], "merge: unmeasured kernel dropped")
    check("other cpu" in mtext and "test cpu" in mtext, "merge: hosts not both named")
    with open(merged, "w") as f:
        f.write(old_entries)
    p = run("regen-bounds", "--from-json", a, b, "--arch", "testarch", "--out", merged)
    m = entries_of(open(merged).read())
    check(p.returncode == 0 and m.get(("k_a", *ln32, "normal")) == ["1.89", "0.26"] and
          m.get(("k_a", "layernorm", "bf16", "single", "normal")) == ["7", "0.7"] and
          ("k_d", *ln32, "normal") not in m, f"without --merge: {m}")

    # NaN outputs without a none line: exit 1, the file untouched.
    bad = good[:6] + [("k_b", "constant", 3, None, None, 7), ("k_a", "normal", 7, None, None, 3)]
    c = acc_result(os.path.join(tmp, "c.json"), 1, True, True, bad)
    d = acc_result(os.path.join(tmp, "d.json"), 1, False, False, good)
    p = run("regen-bounds", "--from-json", c, d, "--arch", "testarch", "--out", out)
    check(p.returncode == 1 and "k_a layernorm f32 single normal" in p.stderr and
          "Nothing written" in p.stderr, f"unbounded entry accepted: {p.returncode}\n{p.stderr}")
    check(open(out).read() == text, "file changed by a refused run")
    # h not RN(x + residual) needs a none line too.
    hbad = good + [("k_a", "normal", 3, 0.4, 0.1, 0, ("add_rmsnorm", "f16", "single", 5))]
    c = acc_result(os.path.join(tmp, "c2.json"), 1, True, True, hbad)
    p = run("regen-bounds", "--from-json", c, d, "--arch", "testarch", "--out", out)
    check(p.returncode == 1 and "elements of h not RN" in p.stderr,
          f"h mismatch accepted: {p.returncode}\n{p.stderr}")
    check(open(out).read() == text, "file changed by a refused run")

    # Bad arguments: one line, exit 2, nothing written.
    fresh = os.path.join(tmp, "fresh.txt")
    expect_exit2(run("regen-bounds", "--frob"), "unrecognized")
    expect_exit2(run("regen-bounds", "--arch", "../x", "--from-json", a, "--out", fresh),
                 "--arch")
    expect_exit2(run("regen-bounds", "--from-json", os.path.join(tmp, "no.json"),
                     "--out", fresh), "no.json")
    expect_exit2(run("regen-bounds", "--from-json", a, a, "--out", fresh), "twice")
    e = acc_result(os.path.join(tmp, "e.json"), 3, True, True, good)
    expect_exit2(run("regen-bounds", "--from-json", a, b, e, "--out", fresh),
                 "every seed x variant")
    expect_exit2(run("regen-bounds", "--lnbench", out, "--out", fresh), "not an ELF")
    expect_exit2(run("regen-bounds", "--lnbench", out, "--from-json", a, "--out", fresh),
                 "exclude")
    check(not os.path.exists(fresh), "a refused run wrote its output")


def test_accuracy_ops(tmp):
    """Accuracy records of several ops, dtypes and casts: told apart (no
    duplicate error), named by fmt_acc_key, shown by summary's second table
    and the report's per-combination tables (h mismatches counted), merged
    by merge_accuracy (which refuses a record measured twice)."""
    sys.path.insert(0, SCRIPTS)
    import lnbench_results as L
    a = gen(tmp, "a.json", "accuracy", "--kernels", "avx512,two_pass_f64")
    doc = json.load(open(a))
    base = [r for r in doc["results"] if r["dist"] == "normal"]
    extra = []
    for op, dt, cast, hbad in (("rmsnorm", "bf16", "single", None),
                               ("add_rmsnorm", "f16", "llama", 3)):
        for r in base:
            r2 = dict(r, op=op, dtype=dt, cast=cast, h_mismatch=hbad,
                      max_ulp=0.75 if r["kernel"] == "two_pass_f64" else 1.5, frac_cr=0.9991)
            extra.append(r2)
    norms = dict(doc, results=extra, parameters=dict(doc["parameters"], ops=["rmsnorm"]))
    merged = L.merge_accuracy([doc, norms])
    check(len(merged["results"]) == len(doc["results"]) + len(extra), "merge lost records")
    check(merged["parameters"]["ops"][-1] == "rmsnorm" and len(merged["parameters"]["runs"]) == 2,
          f"merged parameters: {merged['parameters'].get('ops')}")
    try:
        L.merge_accuracy([doc, doc])
        check(False, "a record measured twice was merged")
    except L.InputError as e:
        check("twice" in str(e), f"merge error: {e}")
    m = os.path.join(tmp, "m.json")
    json.dump(merged, open(m, "w"))
    acc = L.AccuracyResult(m, merged)
    check(acc.combos() == [("layernorm", "f32", "single"), ("rmsnorm", "bf16", "single"),
                           ("add_rmsnorm", "f16", "llama")], f"combos {acc.combos()}")
    key = next(k for k in acc.rows if k[4] == "add_rmsnorm")
    check(L.fmt_acc_key(key).endswith("/add_rmsnorm/f16/llama"), L.fmt_acc_key(key))
    key = next(k for k in acc.rows if k[4] == "layernorm")
    check("layernorm" not in L.fmt_acc_key(key), "LayerNorm f32 keys keep their old names")
    # summary: the LayerNorm table as before, then the other combinations
    p = run("summary", "--accuracy", m)
    check(p.returncode == 0, f"summary failed: {p.stderr}")
    out = p.stdout
    check("accuracy of the other operations" in out, f"no second table:\n{out}")
    rows = [ln.split() for ln in out.splitlines() if ln.startswith("two_pass_f64 ")]
    ops = {r[1] for r in rows if len(r) > 4}
    check({"rmsnorm", "add_rmsnorm"} <= ops, f"rows of the second table: {rows}")
    llama = [r for r in rows if len(r) > 4 and r[1] == "add_rmsnorm"]
    check(llama and llama[0][2:5] == ["f16", "llama", "normal"] and llama[0][-1] != "0" and
          llama[0][-1] != "-", f"add_rmsnorm row (h bad counted): {llama}")
    rms = [r for r in rows if len(r) > 4 and r[1] == "rmsnorm"]
    check(rms and rms[0][-1] == "-" and "0.75" in rms[0] and "99.91" in rms[0],
          f"rmsnorm row: {rms}")
    # report: per-combination tables
    out_dir = os.path.join(tmp, "rep")
    p = run("report", m, "-o", out_dir)
    check(p.returncode == 0, f"report failed: {p.stderr}")
    md = open(os.path.join(out_dir, "report.md")).read()
    check("rmsnorm bf16 single" in md and "add_rmsnorm f16 llama" in md and
          "elements of h not RN" in md, "report lacks the per-combination tables")


TESTS = {n[5:]: f for n, f in sorted(globals().items()) if n.startswith("test_")}


def run_tests(tests, prefix="lnbench"):
    """Runs the tests named on the command line (all by default), each in a
    fresh temporary directory: 0 all passed, 1 one failed, 2 an unknown
    name, SKIP when the one test asked for skipped.  The other test scripts
    share it."""
    names = sys.argv[1:] or ["all"]
    if names == ["all"]:
        names = list(tests)
    rc = 0
    for name in names:
        if name not in tests:
            print(f"unknown test {name}; have: {', '.join(tests)}")
            return 2
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-{name}-") as tmp:
            try:
                r = tests[name](tmp)
            except Fail as e:
                print(f"FAIL {name}: {e}")
                rc = 1
                continue
        if r == SKIP:
            print(f"SKIP {name}")
            rc = rc or (SKIP if len(names) == 1 else 0)
        else:
            print(f"ok   {name}")
    return rc


def main():
    return run_tests(TESTS)


if __name__ == "__main__":
    sys.exit(main())
