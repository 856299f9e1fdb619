"""result_checks - what a loaded result file must hold before compare judges
it or promote-baseline makes it a baseline.

lnbench_results loads what is well formed; this checks that the numbers can
be measurements at all.  Data that cannot is unusable input (InputError,
exit 2), never a verdict: a bare NaN ulp would compare as "unchanged", a zero
time as a 100 % speed-up, a negative ulp as an improvement, a kernel named
null as the kernel "None", and a run holding two copies of a benchmark would
be pooled into one sample set.
"""

import math

import lnbench_results as L

# Shortest believable time of one iteration: a benchmark here moves at least
# one element, which takes longer than a picosecond.  Anything smaller (down
# to the 1e-300 of a hand-edited file) is not a measurement, and dividing by
# it would print a 300-digit percentage.
MIN_ITERATION_NS = 1e-3


def check(res):
    """InputError when res (a loaded result) holds values that cannot be
    measurements."""
    if res.kind == "accuracy":
        _check_accuracy(res)
    elif res.kind == "speed":
        _check_speed(res)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_accuracy(res):
    for key, r in res.rows.items():
        where = f"{res.path}: result for {r.get('kernel')!r}/{r.get('dist')!r}/dim {r.get('dim')!r}"
        for f in ("kernel", "dist"):
            if not isinstance(r.get(f), str) or not r[f]:
                raise L.InputError(f"{where}: '{f}' is {r.get(f)!r}, not a name")
        if not _is_int(r.get("dim")) or r["dim"] < 1:
            raise L.InputError(f"{where}: 'dim' is {r.get('dim')!r}, not a positive integer")
        if not _is_int(r.get("nonfinite")) or r["nonfinite"] < 0:
            raise L.InputError(f"{where}: 'nonfinite' is {r.get('nonfinite')!r}, not a count")
        for f in ("max_ulp", "mean_ulp"):
            v = r.get(f)
            if v is None:        # lnbench's spelling of an infinite error
                continue
            if math.isnan(v):
                raise L.InputError(f"{where}: '{f}' is NaN (not a measurement; lnbench "
                                   "writes null for an infinite error)")
            if v < 0:
                raise L.InputError(f"{where}: '{f}' is {v!r} (an error is never negative)")


def _check_speed(res):
    doc = L.load_json(res.path)
    seen = {}
    for i, e in enumerate(doc.get("benchmarks", [])):
        if not isinstance(e, dict) or e.get("run_type", "iteration") != "iteration" \
                or e.get("error_occurred"):
            continue
        name = e.get("run_name") or e.get("name")
        rep = e.get("repetition_index", 0)
        ident = (name, rep)
        if ident in seen:
            raise L.InputError(f"{res.path}: benchmarks[{i}]: '{name}' repetition {rep} "
                               f"appears twice (also benchmarks[{seen[ident]}]): two runs "
                               "in one file cannot be told apart")
        seen[ident] = i
        reps = e.get("repetitions")
        if _is_int(reps) and not (0 <= rep < reps):
            raise L.InputError(f"{res.path}: benchmarks[{i}]: '{name}' repetition {rep} "
                               f"of {reps}")
    for key, b in res.benches.items():
        if b.error is not None:
            continue
        unit = L.TIME_UNITS.get(b.time_unit or "ns", 1.0)
        for t in b.time_samples():
            if not (math.isfinite(t) and t * unit >= MIN_ITERATION_NS):
                raise L.InputError(f"{res.path}: '{key}' has real_time {t!r} {b.time_unit}: "
                                   "not a measured time (under a picosecond)")
