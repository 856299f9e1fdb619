"""lnbench_results - the one place that reads and validates lnbench result files.

Every script in scripts/ (compare, summary, report, promote-baseline, icount)
loads results through this module, so a format change is made here once.

Three kinds of result file, told apart by content, not by name:

  speed     Google Benchmark 1.7.1 JSON written by `lnbench speed --json F`
            ({"context": {...}, "benchmarks": [...]}).  Google Benchmark writes
            NaN and infinities bare; Python's json module accepts those.
  accuracy  `lnbench accuracy --json F` ({"lnbench_accuracy": 1, ...}).
  icount    scripts/icount's deterministic instruction counts
            ({"lnbench_icount": 1, ...}).

Anything unusable raises InputError with a one-line message; the scripts turn
that into exit status 2 (never a traceback).
"""

import json
import math
import os
import re
import statistics

# Standard Google Benchmark per-run fields; every other top-level number in a
# benchmark entry is a user counter (bytes_per_second, roofline, ...).
_GB_FIELDS = {
    "iterations", "real_time", "cpu_time", "repetitions", "repetition_index",
    "threads", "family_index", "per_family_instance_index",
}
# Name segments Google Benchmark itself appends; they are not part of the
# shape and must not stop a run with different GB options from matching.
_GB_NAME_FLAGS = {"real_time", "manual_time", "process_time"}
_GB_NAME_KEYS = {"min_time", "iterations", "repeats", "min_warmup_time"}

TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# Kernels that are machine probes or peers, not our code: listed but, by
# default, not gated (see scripts/gate.toml).
REFERENCE_KERNELS = ("memcpy",)


class InputError(Exception):
    """Unusable input: the scripts print the message and exit 2."""


# ---------------------------------------------------------------- plumbing

def load_json(path):
    """Parse a JSON file, tolerating bare NaN/Infinity.  InputError on a
    missing, unreadable, empty, truncated or malformed file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file")
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a JSON file")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (not a result file)")
    if not text.strip():
        raise InputError(f"{path}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        # A file cut short (killed run, full disk) fails at its very end.
        tail = text.rstrip()
        if e.pos >= len(tail) or e.msg.startswith("Unterminated string"):
            raise InputError(f"{path}: truncated JSON (ends at line {e.lineno}, "
                             f"column {e.colno}: {e.msg})")
        raise InputError(f"{path}: malformed JSON at line {e.lineno}, column "
                         f"{e.colno}: {e.msg}")
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply")


def slug(text):
    """Lower case, runs of anything but [a-z0-9] folded to one '-'."""
    text = re.sub(r"\((r|tm|c)\)", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"


def machine_name(context):
    """results/ folder name of a machine: "<hostname>-<cpu model slug>"."""
    host = context.get("hostname") or context.get("host_name") or "unknown-host"
    cpu = context.get("cpu_model") or "unknown-cpu"
    return slug(str(host)) + "-" + slug(str(cpu))


def _num(v):
    """A JSON number (bool excluded) as float, else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def median(xs):
    return statistics.median(xs) if xs else math.nan


def geomean(xs):
    xs = [x for x in xs if x > 0 and math.isfinite(x)]
    if not xs:
        return math.nan
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


# ---------------------------------------------------------------- speed

def parse_bench_name(name):
    """Split "<kernel>/dim:D/rows:R/threads:T[/real_time]..." into
    (kernel, params dict, canonical key).  Google Benchmark's own suffixes
    (/real_time, /min_time:.., /repeats:.., a repeated /threads:N) are
    dropped from the key; unknown key:value segments are kept in order."""
    parts = [p for p in name.split("/") if p]
    if not parts:
        raise ValueError("empty benchmark name")
    kernel = parts[0]
    params = {}
    order = []
    for p in parts[1:]:
        if p in _GB_NAME_FLAGS:
            continue
        k, sep, v = p.partition(":")
        if not sep:
            k, v = p, ""
        if k in _GB_NAME_KEYS:
            continue
        if k in params:
            if params[k] != v:
                # GB's "/threads:N" appended after ours must agree with ours.
                raise ValueError(f"conflicting '{k}' values {params[k]} and {v}")
            continue
        params[k] = v
        order.append(k)
    for k in ("dim", "rows", "threads"):
        if k in params:
            try:
                params[k] = int(params[k])
            except ValueError:
                raise ValueError(f"'{k}:{params[k]}' is not an integer")
    params.setdefault("threads", 1)
    if "threads" not in order:
        order.append("threads")
    key = "/".join([kernel] + [f"{k}:{params[k]}" if params[k] != "" else k
                               for k in order])
    return kernel, params, key


class Bench:
    """One benchmark (kernel x shape x threads) of a speed file."""

    def __init__(self, key, kernel, params):
        self.key = key
        self.kernel = kernel
        self.params = params
        self.dim = params.get("dim")
        self.rows = params.get("rows")
        self.threads = params.get("threads", 1)
        self.time_unit = None
        self.samples = []      # real_time of each iteration run (repetition)
        self.cpu_samples = []
        self.counter_samples = {}
        self.aggregates = {}   # aggregate_name -> entry
        self.error = None      # Google Benchmark's error_message (skipped)

    @property
    def working_set(self):
        """Bytes touched per call under the documented byte model (x read,
        y written: 8 bytes per element), or None."""
        if self.dim is None or self.rows is None:
            return None
        return 8 * self.dim * self.rows

    def time_samples(self):
        """Real-time samples; from the aggregates when only those were kept."""
        if self.samples:
            return self.samples
        for agg in ("median", "mean"):
            e = self.aggregates.get(agg)
            if e is not None and _num(e.get("real_time")) is not None:
                return [float(e["real_time"])]
        return []

    def median_time(self):
        return median(self.time_samples())

    def counter(self, name):
        """Median of a user counter over the repetitions, else the median or
        mean aggregate, else None."""
        xs = [x for x in self.counter_samples.get(name, []) if x is not None]
        if xs:
            return median(xs)
        for agg in ("median", "mean"):
            e = self.aggregates.get(agg)
            if e is not None and _num(e.get(name)) is not None:
                return float(e[name])
        return None

    def counters(self):
        names = set(self.counter_samples)
        for e in self.aggregates.values():
            names.update(k for k, v in e.items()
                         if k not in _GB_FIELDS and _num(v) is not None)
        return sorted(names)


class SpeedResult:
    kind = "speed"

    def __init__(self, path, doc):
        self.path = path
        self.context = doc["context"]
        self.machine = machine_name(self.context)
        self.benches = {}
        for i, e in enumerate(doc["benchmarks"]):
            self._add(i, e)
        if not self.benches:
            raise InputError(f"{path}: speed file holds no benchmarks")

    def _add(self, i, e):
        where = f"{self.path}: benchmarks[{i}]"
        if not isinstance(e, dict):
            raise InputError(f"{where}: not an object")
        name = e.get("run_name") or e.get("name")
        if not isinstance(name, str):
            raise InputError(f"{where}: no benchmark name")
        run_type = e.get("run_type", "iteration")
        if run_type == "aggregate" and not e.get("run_name"):
            agg = e.get("aggregate_name", "")
            if agg and name.endswith("_" + agg):
                name = name[: -len(agg) - 1]
        try:
            kernel, params, key = parse_bench_name(name)
        except ValueError as err:
            raise InputError(f"{where}: bad benchmark name '{name}': {err}")
        b = self.benches.get(key)
        if b is None:
            b = self.benches[key] = Bench(key, kernel, params)
        if e.get("error_occurred"):
            b.error = str(e.get("error_message") or "skipped")
            return
        unit = e.get("time_unit", "ns")
        if unit not in TIME_UNITS:
            raise InputError(f"{where}: unknown time_unit '{unit}'")
        if run_type == "aggregate":
            # cv is a ratio and stddev an absolute: only keep what we read.
            b.aggregates[str(e.get("aggregate_name", ""))] = e
            if b.time_unit is None:
                b.time_unit = unit
            return
        if run_type != "iteration":
            raise InputError(f"{where}: unknown run_type '{run_type}'")
        rt, ct = _num(e.get("real_time")), _num(e.get("cpu_time"))
        if rt is None:
            raise InputError(f"{where}: '{name}' has no numeric real_time")
        if b.time_unit is not None and b.time_unit != unit:
            raise InputError(f"{where}: '{name}' mixes time units "
                             f"{b.time_unit} and {unit}")
        b.time_unit = unit
        b.samples.append(rt)
        if ct is not None:
            b.cpu_samples.append(ct)
        for k, v in e.items():
            if k in _GB_FIELDS:
                continue
            x = _num(v)
            if x is not None:
                b.counter_samples.setdefault(k, []).append(x)

    def usable(self):
        """Benchmarks that ran (not skipped) and have a time."""
        return {k: b for k, b in self.benches.items()
                if b.error is None and b.time_samples()}


# ---------------------------------------------------------------- accuracy

_ACC_REQUIRED = ("kernel", "dist", "dim", "max_ulp", "mean_ulp", "nonfinite")


class AccuracyResult:
    kind = "accuracy"

    def __init__(self, path, doc):
        self.path = path
        if doc.get("lnbench_accuracy") != 1:
            raise InputError(f"{path}: unsupported accuracy format version "
                             f"{doc.get('lnbench_accuracy')!r}")
        ctx = doc.get("context")
        if not isinstance(ctx, dict):
            raise InputError(f"{path}: accuracy file has no context object")
        self.context = ctx
        self.machine = machine_name(ctx)
        params = doc.get("parameters", {})
        if not isinstance(params, dict):
            raise InputError(f"{path}: 'parameters' is not an object")
        self.parameters = params
        res = doc.get("results")
        if not isinstance(res, list):
            raise InputError(f"{path}: accuracy file has no results array")
        self.rows = {}
        for i, r in enumerate(res):
            where = f"{path}: results[{i}]"
            if not isinstance(r, dict):
                raise InputError(f"{where}: not an object")
            for f in _ACC_REQUIRED:
                if f not in r:
                    raise InputError(f"{where}: missing '{f}'")
            for f in ("max_ulp", "mean_ulp"):
                v = r[f]
                if v is not None and _num(v) is None:
                    raise InputError(f"{where}: '{f}' is not a number")
            if _num(r["dim"]) is None or _num(r["nonfinite"]) is None:
                raise InputError(f"{where}: 'dim'/'nonfinite' not numbers")
            key = (str(r["kernel"]), str(r["dist"]), int(r["dim"]),
                   int(r.get("rows", params.get("rows", 0)) or 0))
            if key in self.rows:
                raise InputError(f"{where}: duplicate result for {fmt_acc_key(key)}")
            self.rows[key] = r
        self.unavailable = {}
        for u in doc.get("unavailable", []) or []:
            if isinstance(u, dict) and "kernel" in u:
                self.unavailable[str(u["kernel"])] = str(u.get("reason", ""))

    def kernels(self):
        return sorted({k[0] for k in self.rows})

    def dists(self):
        return sorted({k[1] for k in self.rows})

    def dims(self):
        return sorted({k[2] for k in self.rows})


def fmt_acc_key(key):
    kernel, dist, dim, rows = key
    return f"{kernel}/{dist}/dim:{dim}" + (f"/rows:{rows}" if rows else "")


def ulp_value(v):
    """max_ulp is null when infinite (a NaN output where the truth is finite)."""
    return math.inf if v is None else float(v)


# ---------------------------------------------------------------- icount

class IcountResult:
    kind = "icount"

    def __init__(self, path, doc):
        self.path = path
        if doc.get("lnbench_icount") != 1:
            raise InputError(f"{path}: unsupported icount format version")
        self.context = doc.get("context") or {}
        self.machine = machine_name(self.context)
        self.method = doc.get("method", "?")
        self.rows = {}
        res = doc.get("results")
        if not isinstance(res, list):
            raise InputError(f"{path}: icount file has no results array")
        for i, r in enumerate(res):
            if not isinstance(r, dict) or "key" not in r or \
                    _num(r.get("instructions_per_element")) is None:
                raise InputError(f"{path}: results[{i}]: needs 'key' and a "
                                 "numeric 'instructions_per_element'")
            self.rows[str(r["key"])] = r


# ---------------------------------------------------------------- loading

def load_result(path):
    """Load one result file and tell its kind from its content."""
    doc = load_json(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a result file (top level is not an object)")
    try:
        if "lnbench_accuracy" in doc:
            return AccuracyResult(path, doc)
        if "lnbench_icount" in doc:
            return IcountResult(path, doc)
        if "benchmarks" in doc:
            if not isinstance(doc["benchmarks"], list) or \
                    not isinstance(doc.get("context"), dict):
                raise InputError(f"{path}: Google Benchmark file without a "
                                 "benchmarks array and a context object")
            return SpeedResult(path, doc)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{path}: unexpected structure ({type(e).__name__}: {e})")
    raise InputError(f"{path}: neither a speed (Google Benchmark), an accuracy "
                     "nor an icount result file")


_RUN_FILE = re.compile(r"^(\d{8}T?-?\d{4,6}Z?|\d{4}-\d{2}-\d{2}[-T]\d{2}-?\d{2}-?\d{2}Z?)"
                       r"-(speed|accuracy|icount)\.json$")


def expand(path):
    """A file stays itself; a directory yields its run's files: the newest
    dated run (<stamp>-speed.json, <stamp>-accuracy.json, ...) when it holds
    any, else its baseline-*.json, else every *.json in it."""
    if not os.path.isdir(path):
        return [path]
    names = sorted(os.listdir(path))
    dated = {}
    for n in names:
        m = _RUN_FILE.match(n)
        if m:
            dated.setdefault(m.group(2), []).append(n)
    if dated:
        return [os.path.join(path, sorted(v)[-1]) for v in dated.values()]
    base = [n for n in names if n.startswith("baseline-") and n.endswith(".json")]
    pick = base or [n for n in names if n.endswith(".json")]
    if not pick:
        raise InputError(f"{path}: directory holds no result files")
    return [os.path.join(path, n) for n in pick]


class Run:
    """The result files of one run (at most one of each kind)."""

    def __init__(self, label):
        self.label = label
        self.speed = None
        self.accuracy = None
        self.icount = None

    def add(self, res):
        if getattr(self, res.kind) is not None:
            raise InputError(f"{self.label}: two {res.kind} files "
                             f"({getattr(self, res.kind).path} and {res.path})")
        setattr(self, res.kind, res)

    def results(self):
        return [r for r in (self.speed, self.accuracy, self.icount) if r]

    @property
    def machine(self):
        ms = {r.machine for r in self.results()}
        return ms.pop() if len(ms) == 1 else None

    def machines(self):
        return sorted({r.machine for r in self.results()})

    def kinds(self):
        return [r.kind for r in self.results()]


def load_run(paths, label="run", allow_mixed_machines=False):
    run = Run(label)
    for p in paths:
        for f in expand(p):
            run.add(load_result(f))
    if not run.results():
        raise InputError(f"{label}: no result files")
    if not allow_mixed_machines and len(run.machines()) > 1:
        raise InputError(f"{label}: files come from different machines: "
                         + ", ".join(run.machines()))
    return run


def group_by_machine(paths):
    """Load files (or directories) from one or several machines and group
    them into one Run per machine (several runs of a machine: newest wins
    per kind, by the context date)."""
    runs = {}
    for p in paths:
        for f in expand(p):
            res = load_result(f)
            run = runs.setdefault(res.machine, Run(res.machine))
            old = getattr(run, res.kind)
            if old is None or _date(res) >= _date(old):
                setattr(run, res.kind, res)
    if not runs:
        raise InputError("no result files given")
    return runs


def _date(res):
    c = res.context
    return str(c.get("date") or c.get("lnbench_date") or "")


def run_main(prog, main):
    """Run main(); bad input -> one line on stderr, exit 2; never a traceback."""
    import sys
    try:
        rc = main()
    except InputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        rc = 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        rc = 2
    except BrokenPipeError:
        rc = 0
    except Exception as e:  # a bug or an input we did not foresee
        print(f"{prog}: error: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        rc = 2
    sys.exit(rc)


def make_parser(prog, doc, usage=None):
    """An argparse parser whose errors are one line and exit 2 (through
    InputError), with the script's docstring as its help."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise InputError(f"{message} (try --help)")

    return Parser(prog=prog, usage=usage, description=doc,
                  formatter_class=argparse.RawDescriptionHelpFormatter)
