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

# What a speed benchmark computed: (op, dtype, cast).  Binary32 LayerNorm
# keeps the names it always had; every other computation names itself
# (<kernel>/op:<op>/dtype:<dtype>/cast:<cast>/dim:...), so results of
# different computations never pair.
DEFAULT_COMP = ("layernorm", "f32", "single")
DTYPE_BYTES = {"f32": 4, "bf16": 2, "f16": 2}


def comp_of(params):
    return (params.get("op", DEFAULT_COMP[0]), params.get("dtype", DEFAULT_COMP[1]),
            params.get("cast", DEFAULT_COMP[2]))


def comp_prefix(comp):
    """The name segments of a computation ("" for binary32 LayerNorm)."""
    if comp is None or tuple(comp) == DEFAULT_COMP:
        return ""
    return f"op:{comp[0]}/dtype:{comp[1]}/cast:{comp[2]}/"


def comp_text(comp):
    return f"{comp[0]} {comp[1]}" + ("" if comp[2] == "single" else f" cast {comp[2]}")


def bytes_per_element(comp):
    """lnbench's byte model: the dtype's size for x read and y written, and
    for the add_ operations residual read and h written too."""
    op, dtype = comp[0], comp[1]
    return DTYPE_BYTES.get(dtype, 4) * (4 if op.startswith("add_") else 2)

# Machine probes, not kernels: the copies that set the roofline (memcpy, and
# stream_copy - read x, write y with non-temporal stores - in runs that have
# it).  Listed beside the kernels, never ranked or recommended, not gated
# (see scripts/gate.toml).
REFERENCE_KERNELS = ("memcpy", "stream_copy")


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
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def machine_name(context):
    """results/ folder name of a machine (scripts/run names its folders
    with this): "<short hostname>-<cpu model slug>", then the
    microarchitecture the CPUID signature names (context "cpu_uarch") when
    the model name does not already say it: a VM shows "AMD EPYC" for a
    Zen 1 and a Zen 4 alike, and their results must not share a folder."""
    host = context.get("hostname") or context.get("host_name") or "unknown-host"
    cpu = slug(str(context.get("cpu_model") or "unknown"))
    uarch = context.get("cpu_uarch")
    uarch = slug(str(uarch)) if uarch else ""
    name = slug(str(host).split(".")[0]) + "-" + cpu
    if uarch and uarch not in cpu:
        name += "-" + uarch
    return name


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
        self.comp = comp_of(params)
        self.time_unit = None
        self.samples = []      # real_time of each iteration run (repetition)
        self.cpu_samples = []
        self.counter_samples = {}
        self.aggregates = {}   # aggregate_name -> entry
        self.error = None      # Google Benchmark's error_message (skipped)

    @property
    def working_set(self):
        """Bytes touched per call under the documented byte model (x read,
        y written, residual read and h written for the add_ operations, in
        the dtype: 8 bytes per element for binary32 LayerNorm), or None."""
        if self.dim is None or self.rows is None:
            return None
        return bytes_per_element(self.comp) * self.dim * self.rows

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
        self.repetitions = set()   # --benchmark_repetitions as recorded per entry
        for i, e in enumerate(doc["benchmarks"]):
            self._add(i, e)
        if not self.benches:
            raise InputError(f"{path}: speed file holds no benchmarks")
        self.comps = sorted({b.comp for b in self.benches.values()})

    @property
    def comp(self):
        """The one computation of this run; tables that look benchmarks up
        by kernel and shape need it unique."""
        if len(self.comps) != 1:
            raise InputError(f"{self.path}: holds several computations ("
                             + ", ".join(comp_text(c) for c in self.comps)
                             + "): give one `lnbench speed` run per file")
        return self.comps[0]

    def key(self, kernel, dim, rows, threads):
        """The key of one benchmark of this run's computation."""
        return f"{kernel}/{comp_prefix(self.comp)}dim:{dim}/rows:{rows}/threads:{threads}"

    def bytes_per_element(self):
        return bytes_per_element(self.comp)

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
        if not (math.isfinite(rt) and rt >= 0):
            raise InputError(f"{where}: '{name}' has real_time {rt} (not a time)")
        if b.time_unit is not None and b.time_unit != unit:
            raise InputError(f"{where}: '{name}' mixes time units "
                             f"{b.time_unit} and {unit}")
        b.time_unit = unit
        reps = _num(e.get("repetitions"))
        if reps is not None:
            self.repetitions.add(int(reps))
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

# What a record computes: (op, dtype, cast).  Records of an lnbench older
# than `--op` carry none and are LayerNorm in binary32, cast single.
DEFAULT_COMBO = ("layernorm", "f32", "single")
COMBO_ORDER = (("layernorm", "rmsnorm", "add_layernorm", "add_rmsnorm"),
               ("f32", "bf16", "f16"), ("single", "llama", "gemma"))


def combo_of(r):
    return tuple(str(r.get(f) or d) for f, d in zip(("op", "dtype", "cast"), DEFAULT_COMBO))


def combo_sort_key(c):
    return tuple(o.index(v) if v in o else len(o) for o, v in zip(COMBO_ORDER, c)) + c


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
            # (kernel, dist, dim, rows, op, dtype, cast): the first four
            # as before the operations came, so key[0..3] keep their meaning
            key = (str(r["kernel"]), str(r["dist"]), int(r["dim"]),
                   int(r.get("rows", params.get("rows", 0)) or 0)) + combo_of(r)
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

    def dims(self, combo=None):
        return sorted({k[2] for k in self.rows if combo is None or k[4:7] == combo})

    def combos(self):
        """The (op, dtype, cast) measured, in registry order."""
        return sorted({k[4:7] for k in self.rows}, key=combo_sort_key)


def merge_accuracy(docs):
    """One accuracy document from several `lnbench accuracy --json` runs of
    one build on one machine that measured different (op, dtype, cast)
    sets (scripts/run: LayerNorm f32 on every distribution and dim, the
    RMS forms in bf16/fp16 at a few): results and unavailable kernels
    concatenated, list parameters united, each run's own parameters kept
    under "runs".  Refuses runs of different commits or machines and
    records measured twice."""
    if not docs:
        raise InputError("nothing to merge")
    first = docs[0]
    for d in docs:
        if d.get("lnbench_accuracy") != 1:
            raise InputError("merge: not an lnbench accuracy document")
        for k in ("git_commit", "hostname", "cpu_model"):
            if d.get("context", {}).get(k) != first.get("context", {}).get(k):
                raise InputError(f"merge: runs differ in context {k}")
    out = {"lnbench_accuracy": 1, "context": first["context"],
           "parameters": dict(first["parameters"]), "results": [], "unavailable": []}
    params = out["parameters"]
    for d in docs[1:]:
        for k, v in d["parameters"].items():
            if isinstance(v, list):
                params[k] = list(params.get(k) or []) + [x for x in v
                                                         if x not in (params.get(k) or [])]
    params["runs"] = [d["parameters"] for d in docs]
    seen, gone = set(), set()
    for d in docs:
        for r in d["results"]:
            key = (r["kernel"], r["dist"], r["dim"], r.get("rows")) + combo_of(r)
            if key in seen:
                raise InputError(f"merge: {fmt_acc_key(key)} measured twice")
            seen.add(key)
            out["results"].append(r)
        for u in d.get("unavailable", []):
            if u.get("kernel") not in gone:
                gone.add(u.get("kernel"))
                out["unavailable"].append(u)
    return out


def fmt_acc_key(key):
    """kernel/dist/dim:D[/rows:R][/op/dtype/cast]: the combination only when it
    is not LayerNorm f32 single, so older gate settings keep their names."""
    kernel, dist, dim, rows = key[:4]
    combo = tuple(key[4:7]) or DEFAULT_COMBO
    return f"{kernel}/{dist}/dim:{dim}" + (f"/rows:{rows}" if rows else "") + \
        ("" if combo == DEFAULT_COMBO else "/" + "/".join(combo))


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


def build_dir(out, prefix, build):
    """Build a directory in a temporary beside `out`, then rename it into
    place, replacing `out` only once the new one is complete; returns what
    build(tmp) returns.  A terminating signal removes the unfinished
    temporary in the handler and then kills the process by that same
    signal: raising from the handler instead could land inside a library
    that catches it or prints it as "Exception ignored" and carries on.
    Signals are blocked while the temporary is created and while the result
    is renamed into place, so the handler always knows what exists."""
    import shutil
    import signal
    import tempfile
    parent = os.path.dirname(out)
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
            signal.SIGUSR2, signal.SIGALRM)
    unfinished = []

    def _terminate(sig, _frame):
        signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        for path in unfinished:
            shutil.rmtree(path, ignore_errors=True)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
        os.kill(os.getpid(), sig)

    for sig in sigs:
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, _terminate)
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
    unfinished.append(tmp)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
    try:
        # mkdtemp makes it 0700; an output directory gets what the umask gives.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)
        result = build(tmp)
        signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        old = None
        if os.path.exists(out):
            # The old directory goes only once the new one is in place.
            old = tempfile.mkdtemp(prefix=prefix + "old-", dir=parent)
            os.rename(out, old)
        os.rename(tmp, out)
        unfinished.clear()
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
    return result


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


# ---------------------------------------------------------------- derived figures
# Shared by summary and report so both show the same numbers.

PEER = "onednn"


def gbps(b):
    """Bandwidth of a benchmark in GB/s under the byte model (8 bytes per
    element for binary32 LayerNorm, see bytes_per_element): the
    bytes_per_second counter when present, else computed."""
    v = b.counter("bytes_per_second")
    if v is not None and math.isfinite(v) and v > 0:
        return v / 1e9
    t = b.median_time()
    ws = b.working_set
    if ws is None or not (t > 0):
        return None
    return ws / (t * TIME_UNITS[b.time_unit or "ns"])  # bytes per ns = GB/s


def references_at(speed, dim, rows, threads):
    """{name: GB/s} of the reference copies (memcpy, stream_copy) that ran on
    one shape and thread count."""
    out = {}
    for ref in REFERENCE_KERNELS:
        r = speed.benches.get(speed.key(ref, dim, rows, threads))
        g = gbps(r) if r is not None and not r.error and r.time_samples() else None
        if g:
            out[ref] = g
    return out


def roofline_reference_at(speed, dim, rows, threads):
    """(name, GB/s) of the reference that sets the roofline on one shape and
    thread count: the faster of memcpy and stream_copy in the same run
    (lnbench's roofline counter divides by the same maximum).  Files written
    before stream_copy existed have memcpy only.  None when none ran."""
    refs = references_at(speed, dim, rows, threads)
    if not refs:
        return None
    name = max(refs, key=lambda n: refs[n])
    return name, refs[name]


def roofline_reference(speed, b):
    return roofline_reference_at(speed, b.dim, b.rows, b.threads)


def has_stream_copy(speed):
    return any(b.kernel == "stream_copy" for b in speed.benches.values())


def roofline(speed, b):
    """Fraction of the streaming reference (the faster of memcpy and
    stream_copy on the same shape and threads): the roofline counter when
    present, else the ratio of the benchmarks."""
    v = b.counter("roofline")
    if v is not None and math.isfinite(v) and v > 0:
        return v
    ref = roofline_reference(speed, b)
    g = gbps(b)
    return g / ref[1] if ref and g and b.kernel != ref[0] else None


def vs_memcpy(speed, b):
    """Fraction of memcpy's bandwidth on the same shape and threads (lnbench's
    vs_memcpy counter; in files without stream_copy the roofline is this)."""
    v = b.counter("vs_memcpy")
    if v is not None and math.isfinite(v) and v > 0:
        return v
    gm = references_at(speed, b.dim, b.rows, b.threads).get("memcpy")
    g = gbps(b)
    return g / gm if g and gm else None


def reference_note(speed, shapes):
    """One line naming the reference that set the roofline at each
    (label, dim, rows, threads) shape, for the summary and the report."""
    parts = []
    for label, dim, rows, t in shapes:
        refs = references_at(speed, dim, rows, t)
        if not refs:
            parts.append(f"{label}: no reference ran")
            continue
        name = max(refs, key=lambda n: refs[n])
        others = [f"{refs[name] / g:.2f}x {n}" for n, g in refs.items() if n != name]
        parts.append(f"{label}: {name} {refs[name]:.1f} GB/s"
                     + (f" ({', '.join(others)})" if others else ""))
    if has_stream_copy(speed):
        head = "roofline reference (the faster of memcpy and stream_copy, same shape and threads)"
    else:
        head = "roofline reference: memcpy (no stream_copy in this run: lnbench before the " \
               "streaming reference)"
    return head + ": " + "; ".join(parts)


def vs_peer(speed, b, peer=PEER):
    """Speed relative to the peer (oneDNN) on the same shape and threads."""
    p = speed.benches.get(b.key.replace(b.kernel + "/", peer + "/", 1))
    if p is None or p.error:
        return None
    g, gp = gbps(b), gbps(p)
    return g / gp if g and gp else None


def cache_sizes(context):
    """(L2 bytes per core, last-level cache bytes) from the speed context
    (Google Benchmark's caches list, or lnbench's keys), None if unknown."""
    l2 = llc = None
    caches = context.get("caches")
    if isinstance(caches, list):
        levels = {}
        for c in caches:
            if isinstance(c, dict) and c.get("type") != "Instruction":
                lv, sz = c.get("level"), _num(c.get("size"))
                if isinstance(lv, int) and sz:
                    levels[lv] = max(levels.get(lv, 0), sz)
        l2 = levels.get(2)
        llc = levels[max(levels)] if levels else None
    for k in ("llc_bytes", "cache_llc_bytes"):
        v = context.get(k)
        try:
            llc = float(v) if v is not None else llc
        except (TypeError, ValueError):
            pass
    for k in ("l2_bytes", "cache_l2_bytes"):
        v = context.get(k)
        try:
            l2 = float(v) if v is not None else l2
        except (TypeError, ValueError):
            pass
    return l2, llc


def regime(context, ws, threads=1):
    """Cache regime of a working set: L2, LLC or DRAM (None if unknown)."""
    l2, llc = cache_sizes(context)
    if ws is None or (l2 is None and llc is None):
        return None
    if l2 and ws <= l2 * threads:
        return "L2"
    if llc and ws <= llc:
        return "LLC"
    return "DRAM"


def fmt_bytes(n):
    for unit, s in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= s:
            return f"{n / s:.3g} {unit}"
    return f"{n:.0f} B"


def kernel_order(names):
    """Our kernels by name, then the peer, never memcpy (a machine probe)."""
    names = set(names) - set(REFERENCE_KERNELS)
    return sorted(names - {PEER}) + ([PEER] if PEER in names else [])


def summary_shapes(speed):
    """The L2-resident and DRAM-resident shapes of the summary: smallest and
    largest working set among the one-thread shapes present.  Returns a list
    of (label, dim, rows) (one entry when only one shape exists)."""
    shapes = {(b.dim, b.rows) for b in speed.benches.values()
              if b.threads == 1 and b.dim and b.rows and b.kernel not in REFERENCE_KERNELS}
    if not shapes:
        return []
    ordered = sorted(shapes, key=lambda s: (s[0] * s[1], s[0]))
    picks = [ordered[0]] if len(ordered) == 1 else [ordered[0], ordered[-1]]
    out = []
    for i, (dim, rows) in enumerate(picks):
        reg = regime(speed.context, speed.bytes_per_element() * dim * rows) or \
            ("small" if i == 0 else "large")
        out.append((reg, dim, rows))
    return out


def accuracy_dim(acc, prefer=4096):
    dims = acc.dims()
    return prefer if prefer in dims else (max(dims) if dims else None)


def accuracy_cell(acc, kernel, dist, dim, combo=DEFAULT_COMBO):
    """(max_ulp, mean_ulp) of a kernel on one distribution at one dim (the
    first rows value present) for one (op, dtype, cast), or None."""
    for key in sorted(acc.rows):
        if key[0] == kernel and key[1] == dist and key[2] == dim and key[4:7] == combo:
            r = acc.rows[key]
            return ulp_value(r["max_ulp"]), ulp_value(r["mean_ulp"])
    return None


def summary_table(speed, acc, dists=("normal", "offset1e4")):
    """The combined summary (issue 4, section 7): header list + rows of
    strings, plus notes.  Either result may be None."""
    shapes = summary_shapes(speed) if speed else []
    dim = accuracy_dim(acc) if acc else None
    kernels = set()
    if speed:
        kernels |= {b.kernel for b in speed.benches.values()}
    if acc:
        kernels |= set(acc.kernels())
    head = ["kernel"]
    for reg, d, r in shapes:
        tag = f"{reg} {r}x{d}"
        ref = roofline_reference_at(speed, d, r, 1)
        head += [f"GB/s {tag}", "roofline" + (f"/{ref[0]}" if ref else ""), f"x {PEER}"]
    if acc:
        for ds in dists:
            head += [f"max ulp {ds}", f"mean ulp {ds}"]
    rows = []
    for k in kernel_order(kernels):
        row = [k]
        for reg, d, r in shapes:
            b = speed.benches.get(speed.key(k, d, r, 1))
            if b is None or b.error:
                row += ["-", "-", "-"]
                continue
            g, rf, xp = gbps(b), roofline(speed, b), vs_peer(speed, b)
            row += [f"{g:.1f}" if g else "-", f"{rf:.2f}" if rf else "-",
                    f"{xp:.2f}" if xp else "-"]
        if acc:
            for ds in dists:
                c = accuracy_cell(acc, k, ds, dim)
                row += ["-", "-"] if c is None else [fmt_ulp(c[0]), fmt_ulp(c[1])]
        rows.append(row)
    notes = []
    if acc and dim is not None:
        notes.append(f"ulp at dim {dim}, {acc.parameters.get('rows', '?')} rows per "
                     "distribution; inf = a NaN/Inf output where the truth is finite")
    if acc and acc.unavailable:
        notes.append("not run: " + "; ".join(f"{k} ({v})" for k, v in
                                             sorted(acc.unavailable.items())))
    if speed is None:
        notes.append("no speed results: accuracy only")
    elif shapes:
        notes.append(f"{comp_text(speed.comp)}: GB/s under the "
                     f"{speed.bytes_per_element()} bytes/element model (x read, y written"
                     + (", residual read, h written" if speed.comp[0].startswith("add_")
                        else "") + "), one thread; roofline = "
                     "fraction of the faster of memcpy and stream_copy (copying the same "
                     "bytes) on the same shape and threads; x onednn = speed ratio")
        notes.append(reference_note(speed, [(f"{reg} {r}x{d}", d, r, 1)
                                            for reg, d, r in shapes]))
    return head, rows, notes


def combo_table(acc, combos=None):
    """The accuracy of every (op, dtype, cast) other than LayerNorm f32
    single (or of `combos`): one row per kernel x op x dtype x cast x dist,
    per dim its max ulp and % correctly rounded (both in the dtype's
    format), and the h elements that are not RN(x + residual) over the
    row's dims.  Returns (head, rows, notes); rows empty when there is
    nothing to show."""
    combos = [c for c in acc.combos() if c != DEFAULT_COMBO] if combos is None else combos
    if not combos:
        return [], [], []
    dims = sorted({k[2] for k in acc.rows if k[4:7] in combos})
    head = ["kernel", "op", "dtype", "cast", "dist"]
    for d in dims:
        head += [f"max ulp {d}", f"%cr {d}"]
    head.append("h bad")
    rows = []
    dist_order = {d: i for i, d in enumerate(acc.parameters.get("dists") or [])}
    for combo in combos:
        for k in kernel_order({key[0] for key in acc.rows if key[4:7] == combo}):
            dists = sorted({key[1] for key in acc.rows if key[0] == k and key[4:7] == combo},
                           key=lambda ds: (dist_order.get(ds, len(dist_order)), ds))
            for ds in dists:
                row, hbad, any_h = [k, *combo, ds], 0, False
                for d in dims:
                    r = next((acc.rows[key] for key in sorted(acc.rows)
                              if key[:3] == (k, ds, d) and key[4:7] == combo), None)
                    if r is None:
                        row += ["-", "-"]
                        continue
                    cr = _num(r.get("frac_cr"))
                    row += [fmt_ulp(ulp_value(r["max_ulp"])),
                            "-" if cr is None else f"{100 * cr:.2f}"]
                    if r.get("h_mismatch") is not None:
                        any_h = True
                        hbad += int(r["h_mismatch"])
                row.append(str(hbad) if any_h else "-")
                rows.append(row)
    notes = ["ulp and % correctly rounded (<= 0.5 ulp) in the output format of the dtype "
             "(f32 p 24, bf16 p 8, f16 p 11); h bad = elements of h (add_ operations) that "
             "are not RN(x + residual); inf = a NaN/Inf output where the truth is finite"]
    return head, rows, notes


def fmt_ulp(v):
    if v is None or not math.isfinite(v):
        return "inf"
    if v >= 1e5:
        return f"{v:.2e}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"
