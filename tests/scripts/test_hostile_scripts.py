#!/usr/bin/python3
"""Hostile input to scripts/compare, scripts/promote-baseline and
scripts/report (issue 13, items 5, 7 and 9):

  test_hostile_scripts.py NAME      run one test (ctest runs each)
  test_hostile_scripts.py all       run every test

Result files are made by gen_results.py (the formats lnbench writes), then
broken the way a hand-edit, a bad merge or a bug would: such values are
unusable input (exit 2, one line) for compare and for promote-baseline, never
a verdict.  report must leave nothing behind on a signal and give its
directory the umask's mode.  Exit 0 pass, 1 fail, 77 skipped.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_scripts as T  # noqa: E402

check, run, gen, expect_exit2, SKIP, Fail = (T.check, T.run, T.gen, T.expect_exit2, T.SKIP,
                                             T.Fail)


def edit(path, out, fn):
    """out = path's JSON after fn(doc) (json.dump writes bare NaN as lnbench's
    tools might meet it)."""
    doc = json.load(open(path))
    fn(doc)
    with open(out, "w") as f:
        json.dump(doc, f)
    return out


def both_refuse(tmp, base, bad, *needles):
    """compare BASE BAD and promote-baseline BAD: exit 2, one line each."""
    expect_exit2(run("compare", base, bad), *needles)
    res = os.path.join(tmp, "results-" + os.path.basename(bad))
    expect_exit2(run("promote-baseline", bad, "--results", res), *needles)
    check(not os.path.exists(res), f"promote-baseline wrote a baseline from {bad}")


def first_iteration(doc, kernel):
    return next(e for e in doc["benchmarks"]
                if e["name"].startswith(kernel + "/") and e.get("run_type") == "iteration")


def test_bad_accuracy_values(tmp):
    """A bare NaN, a negative ulp, a null kernel: exit 2, not PASS/improved/exit 1."""
    b = gen(tmp, "b.json", "accuracy")
    check(run("compare", b, b).returncode == 0, "a good accuracy file refused")

    def nan_max(d):
        d["results"][0]["max_ulp"] = float("nan")

    def nan_mean(d):
        d["results"][1]["mean_ulp"] = float("nan")

    def negative(d):
        d["results"][0]["mean_ulp"] = -0.5

    def null_kernel(d):
        d["results"][0]["kernel"] = None

    both_refuse(tmp, b, edit(b, os.path.join(tmp, "nan_max.json"), nan_max), "max_ulp", "NaN")
    both_refuse(tmp, b, edit(b, os.path.join(tmp, "nan_mean.json"), nan_mean), "mean_ulp", "NaN")
    both_refuse(tmp, b, edit(b, os.path.join(tmp, "neg.json"), negative), "mean_ulp", "negative")
    both_refuse(tmp, b, edit(b, os.path.join(tmp, "null.json"), null_kernel), "kernel", "None")
    # As the base side too.
    expect_exit2(run("compare", os.path.join(tmp, "nan_max.json"), b), "NaN")


def test_bad_speed_values(tmp):
    """Zero times, a 1e-300 time, a benchmark twice: exit 2, and never a
    300-digit percentage."""
    b = gen(tmp, "b.json", "speed", "--reps", 3)
    check(run("compare", b, b).returncode == 0, "a good speed file refused")

    def zero(d):
        for e in d["benchmarks"]:
            if e["name"].startswith("welford/"):
                e["real_time"] = 0.0

    def tiny(d):
        first_iteration(d, "welford")["real_time"] = 1e-300

    def dup(d):
        d["benchmarks"].append(dict(first_iteration(d, "welford")))

    both_refuse(tmp, b, edit(b, os.path.join(tmp, "zero.json"), zero), "real_time", "welford")
    tiny_f = edit(b, os.path.join(tmp, "tiny.json"), tiny)
    both_refuse(tmp, b, tiny_f, "real_time", "1e-300")
    p = run("compare", tiny_f, b)
    expect_exit2(p, "1e-300")
    check(all(len(w) < 60 for w in p.stdout.split()), "a huge percentage printed")
    both_refuse(tmp, b, edit(b, os.path.join(tmp, "dup.json"), dup), "twice", "welford")


def test_fmt_pct():
    """The percentage column stays short even for extreme (valid) ratios."""
    compare = T.load_script("compare")
    for x in (1e6, -0.999999, 3e15):
        check(len(compare.fmt_pct(x)) < 16, f"fmt_pct({x}) = {compare.fmt_pct(x)}")


def _report_files(tmp):
    shapes = "64x768,64x4096,1024x768,1024x4096,32768x768,32768x4096"
    return [gen(tmp, "a-s.json", "speed", "--shapes", shapes, "--threads", "1,2", "--reps", 3),
            gen(tmp, "a-a.json", "accuracy")]


def test_report_signals(tmp):
    """SIGTERM (and the other catchable signals) in the middle of a report:
    nothing left, neither the output nor the .report-* temporary."""
    if not T.need_matplotlib():
        return SKIP
    files = _report_files(tmp)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        parent = os.path.join(tmp, f"out-{sig}")
        os.makedirs(parent)
        out = os.path.join(parent, "rep")
        p = subprocess.Popen([T.PY, os.path.join(T.SCRIPTS, "report"), *files, "-o", out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while p.poll() is None and time.time() - t0 < 60:
            if any(n.startswith(".report-") for n in os.listdir(parent)):
                break
            time.sleep(0.005)
        if p.poll() is not None:
            raise Fail(f"report ended before the signal could be sent: {p.stderr.read()}")
        time.sleep(0.05)
        p.send_signal(sig)
        err = p.communicate(timeout=60)[1]
        check("Traceback" not in err, f"report printed a traceback on signal {sig}:\n{err}")
        left = os.listdir(parent)
        check(not left, f"signal {sig}: report left {left}")
        check(p.returncode != 0, f"signal {sig}: exit 0")


def test_report_mode(tmp):
    """The report directory gets the mode the umask gives (0755 under 022),
    not mkdtemp's 0700; replacing one with --force keeps nothing of it."""
    if not T.need_matplotlib():
        return SKIP
    files = _report_files(tmp)
    out = os.path.join(tmp, "rep")
    old = os.umask(0o022)
    try:
        p = run("report", *files, "-o", out)
        check(p.returncode == 0, f"report failed: {p.stderr}")
        mode = os.stat(out).st_mode & 0o777
        check(mode == 0o755, f"report directory mode {oct(mode)}, want 0o755")
        open(os.path.join(out, "stale.txt"), "w").close()
        p = run("report", *files, "-o", out, "--force")
        check(p.returncode == 0, f"report --force failed: {p.stderr}")
        check(not os.path.exists(os.path.join(out, "stale.txt")), "old report kept")
        check(not [n for n in os.listdir(tmp) if n.startswith(".report-")], "temporary left")
    finally:
        os.umask(old)


TESTS = {
    "bad_accuracy_values": test_bad_accuracy_values,
    "bad_speed_values": test_bad_speed_values,
    "fmt_pct": lambda tmp: test_fmt_pct(),
    "report_signals": test_report_signals,
    "report_mode": test_report_mode,
}


def main():
    return T.run_tests(TESTS)


if __name__ == "__main__":
    sys.exit(main())
