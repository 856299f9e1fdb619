#!/usr/bin/env bash
# `lnbench speed` on the command line: bad input gets one line on stderr,
# exit status 2 and no --json file; a tiny run writes complete Google
# Benchmark JSON with the names, counters and provenance we promise; forced
# binding failure runs unpinned and says so.  No timing is asserted.
# Usage: test_speed_cli.sh [emulator args...] path/to/lnbench
# (a cross build passes CMAKE_CROSSCOMPILING_EMULATOR first, and sets
# LNBENCH_TEST_NO_THREADS=1: Google Benchmark's multi-threaded runs hang
# under qemu-user, with or without lnbench).
set -u
LNBENCH=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { passes=$((passes + 1)); }

# expect_error "what" "pattern" args...: exit 2, one stderr line matching
# pattern, and the --json target ($tmp/err.json) never created.
expect_error() {
  local what=$1 pat=$2; shift 2
  "${LNBENCH[@]}" speed --json "$tmp/err.json" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -ne 2 ]; then fail "$what: exit $rc, want 2 ($(head -c 300 "$tmp/err"))"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$what: $lines stderr lines, want 1: $(cat "$tmp/err")"; return; fi
  if ! grep -qiE -- "$pat" "$tmp/err"; then fail "$what: '$(cat "$tmp/err")' lacks /$pat/"; return; fi
  if [ -e "$tmp/err.json" ] || ls "$tmp" | grep -q '^\.\?err\.json.'; then
    fail "$what: left an output file behind"; rm -f "$tmp"/err.json* "$tmp"/.err.json*; return
  fi
  ok
}

small=(--kernels naive_two_pass --dims 64 --rows 4 --threads 1 --benchmark_min_time=0.001)
cores=$("${LNBENCH[@]}" speed --help >/dev/null && nproc)

expect_error "unknown option" "unknown option" --frob
expect_error "unknown kernel" "unknown kernel 'nope'" --kernels naive_two_pass,nope
expect_error "unknown pin policy" "--pin: unknown policy 'diagonal'" --pin diagonal
# A repeated option whose second value is bad: one clean error, not a crash.
expect_error "repeated --dims, bad second" "--dims" --dims 7 --dims 0
expect_error "repeated --kernels, bad second" "--kernels" --kernels avx2 --kernels a,,b
expect_error "too many threads" "exceeds the [0-9]+ PUs.*--oversubscribe" \
  --kernels naive_two_pass --dims 64 --rows 8 --threads $((cores + 1))
expect_error "zero threads" "--threads" --threads 0
expect_error "unknown core kind" "--cpukind: unknown kind 'big'" --cpukind big
expect_error "no such core kind" "--cpukind 7: hwloc reports [0-9]+ core kind" \
  --kernels naive_two_pass --dims 64 --rows 8 --cpukind 7
expect_error "bad dims" "--dims" --dims 12,x
expect_error "negative rows" "--rows" --rows -5
expect_error "empty list item" "--dims" --dims 7,,9
expect_error "rows overflow" "--rows" --rows 99999999999999999999999
expect_error "bad eps" "--eps" --eps nan
expect_error "missing value" "needs a value" --kernels
expect_error "shape too big" "needs .* GiB" --dims 65536 --rows 17179869184
expect_error "unknown gbench flag" "unrecognized command-line flag" "${small[@]}" --benchmark_frobnicate=1
expect_error "filter matches nothing" "Failed to match" "${small[@]}" --benchmark_filter=nothing_matches
expect_error "json and benchmark_out" "cannot both" "${small[@]}" --benchmark_out="$tmp/x.json"
# getopt_long: values after '=', `--` ends the options, operands refused.
expect_error "bad value after =" "--dims: '0' is not a positive integer" --dims=0
expect_error "value for a flag" "--force takes no value" --force=1
expect_error "operand" "unexpected argument 'extra'" --dims 64 extra
expect_error "option after --" "unexpected argument '--dims=7'" --dims 64 -- --dims=7
expect_error "unknown option with =" "unknown option '--frob'" --frob=3
# Operations, dtypes and casts: unknown names, combinations without a
# meaning (ln_desc_valid), and a named kernel that cannot compute one.
expect_error "unknown op" "--op: unknown operation 'layer_norm'" --op layer_norm
expect_error "unknown dtype" "--dtype: unknown dtype 'fp16'" --dtype fp16
expect_error "unknown cast" "--cast: unknown cast 'mistral'" --cast mistral
expect_error "cast without meaning" "--op layernorm --dtype f32 --cast llama: casts llama and gemma" \
  --cast llama
expect_error "add_layernorm gemma" "cast gemma: casts llama" --op add_layernorm --dtype bf16 --cast gemma
# A kernel that cannot compute bf16 RMSNorm, found by capability.
nobf16=$("${LNBENCH[@]}" list --json 2>/dev/null | "$PY" -c '
import json, sys
for k in json.load(sys.stdin)["kernels"]:
    c = k.get("caps", k)
    if k.get("available", True) and "rmsnorm" not in str(c.get("ops", "")):
        print(k["name"]); break
' 2>/dev/null)
if [ -n "$nobf16" ]; then
  expect_error "kernel without the op" "kernel '$nobf16' cannot compute rmsnorm bf16" \
    --kernels "$nobf16" --op rmsnorm --dtype bf16 --dims 64 --rows 4
fi
"${LNBENCH[@]}" speed "${small[@]}" --json /nonexistent-dir/x.json >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--json" "$tmp/err" && ok || fail "unwritable --json accepted"

# An existing file is not replaced without --force.
echo precious >"$tmp/keep.json"
"${LNBENCH[@]}" speed "${small[@]}" --json "$tmp/keep.json" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -qx precious "$tmp/keep.json" && ok || fail "existing --json replaced"

# --help documents the byte model, the name format and what sets the roofline.
"${LNBENCH[@]}" speed --help >"$tmp/help" && grep -q "f32: 8 bytes per element" "$tmp/help" &&
  grep -q "op:<op>/dtype:<dtype>/cast:<cast>" "$tmp/help" && grep -q -- "--dtype" "$tmp/help" &&
  grep -q "dim:<dim>/rows:<rows>" "$tmp/help" &&
  grep -q "max(memcpy, stream_copy" "$tmp/help" && grep -q "vs_memcpy" "$tmp/help" &&
  grep -q "three eighths of the LLC" "$tmp/help" && ok || fail "--help lacks byte model / names / roofline"

# check_refs FILE: every shape x threads of the run has memcpy, then
# stream_copy, then its kernels; roofline == bandwidth / max(memcpy's,
# stream_copy's) and vs_memcpy == bandwidth / memcpy's, recomputed here from
# the JSON.  The ratios are taken on the harness's own loop clock, which
# also gives ns_per_row; Google Benchmark's clock (bytes_per_second) adds
# its own overhead, several % on these microsecond runs under a sanitizer.
# So the bandwidth recomputed here is bytes per element (bytes_per_second /
# items_per_second, in which that clock cancels) x dim / ns_per_row, and
# agrees with the harness to the JSON's printed digits.  Google Benchmark
# may write bare NaN, which python's json accepts.
check_refs() {
  "$PY" - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
order = [b["name"] for b in d["benchmarks"]]
B = {b["name"]: b for b in d["benchmarks"]}
assert d["context"]["stream_copy"].split(":")[0] in ("avx512", "avx2", "sse2", "neon", "c")
assert "max(memcpy, stream_copy)" in d["context"]["roofline"]
def bw(b):  # bytes per ns on the harness's clock
    dim = int(b["name"].split("dim:")[1].split("/")[0])
    return b["bytes_per_second"] / b["items_per_second"] * dim / b["ns_per_row"]
def close(a, b):
    return abs(a - b) <= 1e-3 * abs(b)
kernels = 0
for name, b in B.items():
    k, rest = name.split("/", 1)
    mem, stream = B["memcpy/" + rest], B["stream_copy/" + rest]
    assert order.index("memcpy/" + rest) + 1 == order.index("stream_copy/" + rest), name
    assert k == "memcpy" or order.index("stream_copy/" + rest) <= order.index(name), name
    assert close(b["vs_memcpy"], bw(b) / bw(mem)), (name, b["vs_memcpy"], bw(b) / bw(mem))
    if k in ("memcpy", "stream_copy"):
        assert "roofline" not in b, name
        continue
    kernels += 1
    roof = max(bw(mem), bw(stream))
    assert close(b["roofline"], bw(b) / roof), (name, b["roofline"], bw(b) / roof)
assert kernels > 0
EOF
}

# A real (tiny) run: two kernels, 1 thread, pinned compact.
if "${LNBENCH[@]}" speed --kernels naive_two_pass,two_pass_f64 --dims 64 --rows 4,8 --threads 1 \
     --benchmark_min_time=0.01 --json "$tmp/run.json" >"$tmp/out" 2>"$tmp/err"; then
  ok
else
  fail "tiny run failed: $(cat "$tmp/err")"
fi
"$PY" - "$tmp/run.json" <<'EOF' && ok || fail "tiny run JSON"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["context"]
for k in ("cpu_model", "cpu_vendor", "cores", "numa_nodes", "l2_bytes", "llc_bytes", "pin",
          "pin_status", "pin_threads", "compiler", "c_flags", "build_type", "isas",
          "git_commit", "version", "byte_model", "perf_counters"):
    assert k in c, "context lacks " + k
assert c["pin"] == "cores", c["pin"]          # the default
for k in ("topology", "core_kinds", "cpukind", "placement", "memory_placement"):
    assert k in c, "context lacks " + k
assert c["placement"].startswith("cores, 1 thread: pu "), c["placement"]
names = [b["name"] for b in d["benchmarks"]]
want = []
for rows in (4, 8):
    for k in ("memcpy", "stream_copy", "naive_two_pass", "two_pass_f64"):
        want.append(f"{k}/dim:64/rows:{rows}/real_time/threads:1")
assert names == want, names            # the references first for every shape
refs = ("memcpy", "stream_copy")
for b in d["benchmarks"]:
    is_ref = b["name"].split("/")[0] in refs
    for k in ("bytes_per_second", "items_per_second", "ns_per_row", "vs_memcpy") + \
             (() if is_ref else ("roofline",)):
        assert k in b and b[k] > 0, (b["name"], k)
    # the byte model: 8 bytes/element (+ 8 per column for gamma/beta)
    extra = 0 if is_ref else 8 * 64
    rows = int(b["name"].split("rows:")[1].split("/")[0])
    ratio = b["bytes_per_second"] / b["items_per_second"]
    assert abs(ratio - (8 * 64 * rows + extra) / (64 * rows)) < 1e-6, (b["name"], ratio)
    if c["pin_status"] == "pinned":
        assert b["label"] == "layernorm/f32/single " + c["pin"] + ":pu" + \
            c["pin_threads"].split("/pu")[1].split(",")[0], b
assert (c["op"], c["dtype"], c["cast"], c["bytes_per_element"]) == \
    ("layernorm", "f32", "single", "8"), c
# The store policy is recorded with the LLC it compares against.
assert "x + y over all threads > 3/8 LLC with one thread, > LLC/2 with more" in c["store_policy"], c["store_policy"]
assert c["llc_bytes"] in c["store_policy"] or c["llc_bytes"] == "0", c["store_policy"]
EOF
check_refs "$tmp/run.json" && ok || fail "tiny run: references and ratios"

# Another computation: names carry op, dtype and cast (and never pair with
# binary32 LayerNorm's), the byte model counts 2-byte elements and the
# residual and h streams, and the references move the same bytes.
if "${LNBENCH[@]}" speed --op add_rmsnorm --dtype bf16 --cast llama \
     --kernels naive_two_pass,two_pass_f64 --dims 64 --rows 4,8 --threads 1 \
     --benchmark_min_time=0.01 --json "$tmp/bf16.json" >"$tmp/out" 2>"$tmp/err"; then
  "$PY" - "$tmp/bf16.json" <<'EOF' && ok || fail "add_rmsnorm bf16 run JSON"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["context"]
assert (c["op"], c["dtype"], c["cast"], c["bytes_per_element"]) == \
    ("add_rmsnorm", "bf16", "llama", "8"), c
assert "residual" in c["byte_model"] and "+ residual + h" in c["store_policy"], c
names = [b["name"] for b in d["benchmarks"]]
want = [f"{k}/op:add_rmsnorm/dtype:bf16/cast:llama/dim:64/rows:{r}/real_time/threads:1"
        for r in (4, 8) for k in ("memcpy", "stream_copy", "naive_two_pass", "two_pass_f64")]
assert names == want, names
for b in d["benchmarks"]:
    is_ref = b["name"].split("/")[0] in ("memcpy", "stream_copy")
    assert b["label"].startswith("add_rmsnorm/bf16/llama "), b["label"]
    rows = int(b["name"].split("rows:")[1].split("/")[0])
    # 2 bytes x (x, y, residual, h) per element; w (2 bytes per column) once per call
    extra = 0 if is_ref else 2 * 64
    ratio = b["bytes_per_second"] / b["items_per_second"]
    assert abs(ratio - (8 * 64 * rows + extra) / (64 * rows)) < 1e-6, (b["name"], ratio)
EOF
  check_refs "$tmp/bf16.json" && ok || fail "add_rmsnorm bf16 run: references and ratios"
else
  fail "add_rmsnorm bf16 run failed: $(cat "$tmp/err")"
fi

# The same run with every value after '=' and a closing `--`; masking every
# ISA shows in the context.
if LNBENCH_DISABLE_ISA=all "${LNBENCH[@]}" speed --kernels=naive_two_pass --dims=64 --rows=4 \
     --threads=1 --pin=compact --eps=1e-5 --seed=3 --benchmark_min_time=0.001 \
     --json="$tmp/eq.json" -- >"$tmp/out" 2>"$tmp/err"; then
  "$PY" - "$tmp/eq.json" <<'EOF' && ok || fail "run with --opt=value JSON"
import json, sys
d = json.load(open(sys.argv[1]))
names = [b["name"] for b in d["benchmarks"]]
assert names == ["memcpy/dim:64/rows:4/real_time/threads:1",
                 "stream_copy/dim:64/rows:4/real_time/threads:1",
                 "naive_two_pass/dim:64/rows:4/real_time/threads:1"], names
c = d["context"]
assert c["isas"] == "none", c["isas"]
# every ISA masked: the baseline stream copy (SSE2 on x86-64)
assert c["stream_copy"].split(":")[0] in ("sse2", "c"), c["stream_copy"]
assert c["seed"] == "3" and c["pin"] == "compact", c
EOF
else
  fail "run with --opt=value failed: $(cat "$tmp/err")"
fi
# Unmasked, the context's ISAs are those `lnbench list --json` reports.
"${LNBENCH[@]}" list --json >"$tmp/list.json" 2>"$tmp/err" && "$PY" -c '
import json, sys
isas = json.load(open(sys.argv[1]))["isas"]
ctx = json.load(open(sys.argv[2]))["context"]["isas"]
assert ctx == (",".join(isas) or "none"), (ctx, isas)
' "$tmp/list.json" "$tmp/run.json" && ok || fail "context isas differ from list --json"

# Forced binding failure: says so once, runs unpinned, records it.
if LNBENCH_PIN_FAIL=1 "${LNBENCH[@]}" speed "${small[@]}" --json "$tmp/unpinned.json" \
     >/dev/null 2>"$tmp/err"; then
  grep -q "cannot pin threads (binding disabled by LNBENCH_PIN_FAIL); running unpinned" \
    "$tmp/err" && ok || fail "pin failure not reported: $(cat "$tmp/err")"
  "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["context"]["pin_status"].startswith("unpinned"), d["context"]["pin_status"]
assert all(b.get("label") == "layernorm/f32/single unpinned" for b in d["benchmarks"]), \
    d["benchmarks"]
' "$tmp/unpinned.json" && ok || fail "unpinned run JSON"
else
  fail "unpinned run failed: $(cat "$tmp/err")"
fi

# Default shapes (listed, not run): per dim, ascending and distinct, the
# cache-derived counts plus the two every machine shares (64 rows; 1 GiB of
# the model's bytes, 32768 x 4096 in binary32, 65536 x 4096 in bf16), the
# latter not with --quick.
"${LNBENCH[@]}" speed --kernels naive_two_pass --dims 768,4096 --threads 1 \
  --benchmark_list_tests=true >"$tmp/full" 2>/dev/null &&
"${LNBENCH[@]}" speed --quick --kernels naive_two_pass --threads 1 \
  --benchmark_list_tests=true >"$tmp/quick" 2>/dev/null &&
"${LNBENCH[@]}" speed --dtype bf16 --op rmsnorm --kernels naive_two_pass --dims 4096 --threads 1 \
  --benchmark_list_tests=true >"$tmp/bf16" 2>/dev/null &&
"$PY" -c '
import re, sys
def rows(path):
    out = {}
    for ln in open(path):
        m = re.match(r"naive_two_pass/(?:op:\w+/dtype:\w+/cast:\w+/)?dim:(\d+)/rows:(\d+)/", ln)
        if m:
            out.setdefault(int(m.group(1)), []).append(int(m.group(2)))
    return out
full, quick, bf16 = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
for table in (full, quick, bf16):
    for dim, rs in table.items():
        assert rs == sorted(set(rs)), (dim, rs)
        assert 64 in rs, (dim, rs)
        assert 3 <= len(rs) <= 5, (dim, rs)
assert sorted(full) == [768, 4096] and sorted(quick) == [768, 4096], (full, quick)
assert 32768 in full[4096] and 32768 not in quick[4096], (full, quick)
assert 65536 in bf16[4096], bf16
' "$tmp/full" "$tmp/quick" "$tmp/bf16" && ok || fail "default shapes: $(cat "$tmp/full" "$tmp/quick" | head -20)"

# Perf failure is said once, and the counters are simply absent.
if LNBENCH_NO_PERF=1 "${LNBENCH[@]}" speed "${small[@]}" >/dev/null 2>"$tmp/err"; then
  [ "$(grep -c "counters not supported" "$tmp/err")" -eq 1 ] && ok ||
    fail "perf failure not said exactly once: $(cat "$tmp/err")"
else
  fail "no-perf run failed"
fi

# Two threads (when the host has two cores): GB's thread suffix, one name
# each, both references for every shape x threads, rows that do not split
# evenly.
if [ "$cores" -ge 2 ] && [ -z "${LNBENCH_TEST_NO_THREADS:-}" ]; then
  "${LNBENCH[@]}" speed --kernels naive_two_pass --dims 64 --rows 7,8 --threads 1,2 \
    --benchmark_min_time=0.01 --json "$tmp/t2.json" >/dev/null 2>"$tmp/err" &&
  "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = [b["name"] for b in d["benchmarks"]]
want = [f"{k}/dim:64/rows:{r}/real_time/threads:{t}" for r in (7, 8) for t in (1, 2)
        for k in ("memcpy", "stream_copy", "naive_two_pass")]
assert names == want, names
assert all(b["threads"] == int(b["name"][-1]) for b in d["benchmarks"])
' "$tmp/t2.json" && check_refs "$tmp/t2.json" && ok || fail "two-thread run: $(cat "$tmp/err")"
fi

# --threads sweep: 1, 2, 4, ... up to the cores, then the PUs; both
# references at every count; the plan and topology in the context.
if [ -z "${LNBENCH_TEST_NO_THREADS:-}" ]; then
  "${LNBENCH[@]}" speed --kernels naive_two_pass --dims 64 --rows 8 --threads sweep \
    --pin scatter --benchmark_min_time=0.01 --json "$tmp/sweep.json" >/dev/null 2>"$tmp/err" &&
  "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["context"]
cores, pus = int(c["cores"]), int(c["pus"])
want, t = [], 1
while t <= pus:
    if t > cores and (not want or want[-1] < cores):
        want.append(cores)
    if not want or t > want[-1]:
        want.append(t)
    t *= 2
for extra in (cores, pus):
    if want[-1] < extra:
        want.append(extra)
want = [t for t in want if t <= 8]           # rows 8: at most 8 threads
got = sorted({b["threads"] for b in d["benchmarks"]})
assert got == want, (got, want)
for t in got:
    names = [b["name"].split("/")[0] for b in d["benchmarks"] if b["threads"] == t]
    assert names == ["memcpy", "stream_copy", "naive_two_pass"], (t, names)
assert c["pin"] == "scatter" and c["placement"].startswith("scatter, %d thread" % max(want)), c
assert "%d cores, %d PUs" % (cores, pus) in c["topology"], c["topology"]
assert c["memory_placement"].startswith(("first touch", "unpinned")), c["memory_placement"]
' "$tmp/sweep.json" && check_refs "$tmp/sweep.json" && ok || fail "sweep run: $(cat "$tmp/err")"
fi

echo "test_speed_cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
