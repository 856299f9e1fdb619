#!/usr/bin/env bash
# CLI behaviour of `lnbench list` and `lnbench accuracy`: bad input gets one
# line on stderr, exit status 2 and no output file; good runs write complete,
# parseable results.  Usage: test_cli.sh [emulator args...] path/to/lnbench
# (a cross build passes CMAKE_CROSSCOMPILING_EMULATOR first).
set -u
LNBENCH=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { passes=$((passes + 1)); }

# expect_error "what" "pattern" args...: exit 2, exactly one stderr line
# matching pattern, nothing on stdout but the table header at most.
expect_error() {
  local what=$1 pat=$2; shift 2
  "${LNBENCH[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [ "$rc" -ne 2 ]; then fail "$what: exit $rc, want 2 ($(head -c 200 "$tmp/err"))"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$what: $lines stderr lines, want 1: $(cat "$tmp/err")"; return; fi
  if ! grep -qiE -- "$pat" "$tmp/err"; then fail "$what: '$(cat "$tmp/err")' lacks /$pat/"; return; fi
  ok
}

quick=(accuracy --quiet --rows 2 --dims 7)

expect_error "unknown command" "unknown command" frobnicate
expect_error "unknown option" "unknown option" accuracy --frob
expect_error "unknown option with a value" "unknown option '--frob=1'" accuracy --frob=1
expect_error "unknown short option" "unknown option '-x'" accuracy -x
expect_error "ambiguous prefix" "ambiguous option '--no'" accuracy --no
expect_error "flag given a value" "takes no value" accuracy --quiet=yes
expect_error "bad value after =" "--dims" accuracy --dims=0
expect_error "empty value after =" "--dims" accuracy --dims=
expect_error "argument after --" "unexpected argument '--dims'" "${quick[@]}" -- --dims 7
expect_error "stray argument" "unexpected argument 'extra'" "${quick[@]}" extra
expect_error "unknown kernel" "unknown kernel 'nope'" "${quick[@]}" --kernels naive_two_pass,nope
expect_error "unknown dist" "unknown distribution 'gauss'" "${quick[@]}" --dists gauss
expect_error "dim 0" "--dims" "${quick[@]}" --dims 0
expect_error "negative dim" "--dims" accuracy --dims -3
expect_error "non-numeric rows" "--rows" accuracy --rows abc
expect_error "negative rows" "--rows" accuracy --rows -1
expect_error "empty list item" "--dims" accuracy --dims 7,,9
expect_error "repeated --dims, bad second" "--dims" accuracy --dims 7 --dims 0
expect_error "repeated --kernels, bad second" "--kernels" accuracy --kernels welford --kernels a,,b
expect_error "rows overflow" "--rows" accuracy --rows 99999999999999999999999
expect_error "bad eps" "--eps" accuracy --eps 1e99
expect_error "missing value" "needs a value" accuracy --dims
expect_error "too big for memory" "needs about" accuracy --rows 2147483648 --dims 1073741824
expect_error "unwritable json" "--json" "${quick[@]}" --json /nonexistent-dir/x.json
expect_error "unwritable dump" "--dump" "${quick[@]}" --dump /nonexistent-dir/d
expect_error "gamma without input" "--input" accuracy --gamma g.npy
# A kernel masked off (or missing on this host) is refused by name.
if "${LNBENCH[@]}" list | grep -qE '^avx2 '; then
  LNBENCH_DISABLE_ISA=avx2 "${LNBENCH[@]}" "${quick[@]}" --kernels avx2 >/dev/null 2>"$tmp/err"
  [ $? -eq 2 ] && grep -q "cannot run here: masked" "$tmp/err" && ok || fail "masked avx2 not refused"
fi

# LNBENCH_DISABLE_ISA=avx512bf16 turns AVX512_BF16 off alone: the avx512
# kernels then narrow bf16 with integers (simd_avx512.c's build), which
# must give the bits VCVTNEPS2BF16 gives (simd_avx512_bf16.c's).  Only a
# host with both runs two different builds here.
bf16=(accuracy --quiet --kernels avx512,avx512_accurate --op all --dtype bf16 --cast all
      --dists normal,subnormal,offset40000,constant --dims 7,64,769 --rows 3)
if "${LNBENCH[@]}" list | grep -E '^avx512 ' | grep -qv unavailable &&
   grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  "${LNBENCH[@]}" "${bf16[@]}" --dump "$tmp/bf16_native" >/dev/null 2>"$tmp/err" &&
    LNBENCH_DISABLE_ISA=avx512bf16 "${LNBENCH[@]}" "${bf16[@]}" --dump "$tmp/bf16_int" \
      >/dev/null 2>>"$tmp/err" &&
    [ "$(ls "$tmp/bf16_native" | wc -l)" -gt 0 ] &&
    diff -rq "$tmp/bf16_native" "$tmp/bf16_int" >"$tmp/bf16_diff" && ok ||
    fail "avx512 bf16 with and without AVX512_BF16 differ: $(head -3 "$tmp/bf16_diff" "$tmp/err")"
fi
LNBENCH_DISABLE_ISA=avx512bf1 expect_error "unknown ISA name" "unknown instruction set .avx512bf1." \
  "${quick[@]}"

# An existing file is not replaced without --force, and keeps its content.
echo "precious" >"$tmp/keep.json"
expect_error "existing json" "exists" "${quick[@]}" --json "$tmp/keep.json"
grep -qx precious "$tmp/keep.json" && ok || fail "existing --json file was modified"
mkdir -p "$tmp/keepdir" && echo x >"$tmp/keepdir/f"
expect_error "existing dump dir" "exists|not empty" "${quick[@]}" --dump "$tmp/keepdir"

# Malformed --input files.
printf 'not a numpy file at all' >"$tmp/bad.npy"
expect_error "malformed npy" "npy" "${quick[@]}" --input "$tmp/bad.npy"
$PY - "$tmp" <<'PYEOF'
import sys, numpy as np
d = sys.argv[1]
np.save(d + "/f64.npy", np.ones((2, 5), dtype=np.float64))
np.save(d + "/x.npy", np.random.default_rng(3).normal(1000, 1, (3, 33)).astype(np.float32))
np.save(d + "/g_wrong.npy", np.ones(7, dtype=np.float32))
with open(d + "/x.npy", "rb") as f: data = f.read()
with open(d + "/trunc.npy", "wb") as f: f.write(data[:-10])
PYEOF
expect_error "float64 input" "f8|binary32" "${quick[@]}" --input "$tmp/f64.npy"
expect_error "truncated input" "truncat" "${quick[@]}" --input "$tmp/trunc.npy"
expect_error "gamma wrong length" "--gamma" accuracy --quiet --input "$tmp/x.npy" --gamma "$tmp/g_wrong.npy"

# No partial output after an interrupted run.
"${LNBENCH[@]}" accuracy --quiet --rows 512 --json "$tmp/int.json" --dump "$tmp/intdump" >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -INT "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if ls -A "$tmp" | grep -qE '^int|partial|\.tmp'; then fail "interrupted run left: $(ls -A "$tmp" | tr '\n' ' ')"; else ok; fi

# list: every kernel, and masking shows the reason.
"${LNBENCH[@]}" list >"$tmp/list" 2>&1 || fail "list failed"
grep -q '^two_pass_f64 ' "$tmp/list" && grep -q '^naive_two_pass ' "$tmp/list" && ok || fail "list lacks kernels"
if grep -qE '^avx2 ' "$tmp/list"; then
  LNBENCH_DISABLE_ISA=all "${LNBENCH[@]}" list | grep -E '^avx2 ' | grep -q 'masked by LNBENCH_DISABLE_ISA' && ok \
    || fail "LNBENCH_DISABLE_ISA=all does not mask avx2 in list"
fi

# list: options through getopt_long.
expect_error "list unknown option" "unknown option '--frob'" list --frob
expect_error "list flag with a value" "--json takes no value" list --json=1
expect_error "list operand" "unexpected argument 'extra'" list extra
expect_error "list option after --" "unexpected argument '--json'" list -- --json
"${LNBENCH[@]}" list -- >"$tmp/list2" 2>&1 && cmp -s "$tmp/list" "$tmp/list2" && ok ||
  fail "list -- differs from list"

# list --json: the same kernels, availability and capabilities as the table,
# whose first columns keep their places (scripts/icount reads them).
"${LNBENCH[@]}" list --json >"$tmp/list.json" 2>"$tmp/err" || fail "list --json: $(cat "$tmp/err")"
$PY - "$tmp/list" "$tmp/list.json" <<'PYEOF2' && ok || fail "list table vs --json"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
doc = json.load(open(sys.argv[2]))
assert doc["lnbench_list"] == 1
head = lines[0]
assert head.split()[:3] == ["kernel", "family", "available"], head
cols = ["ops", "dtypes", "device", "isa", "tensors", "flags"]
assert head.split()[3:10] == cols + ["description"], head
start = [head.index(" " + c + " ") + 1 for c in cols] + [head.index(" description") + 1]
assert head.index("available") == 30 and start[0] >= 30 + 40 + 2, head
kernels = doc["kernels"]
assert [k["name"] for k in kernels] == [l.split()[0] for l in lines[1:]], "kernel order"
known_flags = {"exact_constant", "streaming_stores", "peer", "wide_range", "faithful",
               "flushes_subnormals"}
for k, line in zip(kernels, lines[1:]):
    assert line[:20].rstrip() == k["name"] and line[21:29].rstrip() == k["family"], line
    avail = line[30:start[0]].rstrip()
    assert avail == ("yes" if k["available"] else "no: " + k["unavailable"]), (avail, k)
    cell = {c: line[start[i]:start[i + 1]].strip() for i, c in enumerate(cols)}
    assert line[start[-1]:] == k["description"], line
    assert cell["ops"] == ",".join(k["ops"]) and "layernorm" in k["ops"], (cell, k)
    assert cell["dtypes"] == ",".join(k["dtypes"]) and "f32" in k["dtypes"], (cell, k)
    assert cell["device"] == k["device"] in ("host", "opencl", "metal"), (cell, k)
    assert cell["isa"] == (k["isa"] or "-"), (cell, k)
    assert cell["tensors"] == (",".join(k["tensors"]) or "-"), (cell, k)
    assert cell["flags"] == (",".join(k["flags"]) or "-"), (cell, k)
    assert set(k["flags"]) <= known_flags, k["flags"]
    assert (k["family"] == "peer") == ("peer" in k["flags"]), k
by = {k["name"]: k for k in kernels}
# two_pass_f64 keeps constant rows exact; the float scalar kernels do not.
assert "exact_constant" in by["two_pass_f64"]["flags"], by["two_pass_f64"]
assert "exact_constant" not in by["naive_two_pass"]["flags"], by["naive_two_pass"]
# An ISA is listed as usable exactly when a kernel needing it is available.
for k in kernels:
    if k["isa"]:
        assert (k["isa"] in doc["isas"]) == k["available"], (k, doc["isas"])
PYEOF2
LNBENCH_DISABLE_ISA=all "${LNBENCH[@]}" list --json >"$tmp/masked.json" 2>"$tmp/err" &&
$PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["isas"] == [], d["isas"]
for k in d["kernels"]:
    if k["isa"]:
        assert not k["available"] and k["unavailable"] == "masked by LNBENCH_DISABLE_ISA", k
' "$tmp/masked.json" && ok || fail "list --json with every ISA masked"

# Without the speed harness (LNBENCH_WITH_SPEED=OFF, or Google Benchmark or
# hwloc missing), `lnbench speed` says why in one line.
if ! "${LNBENCH[@]}" --help | grep -q '^  speed '; then
  expect_error "speed not built" "speed is not built in: .*(LNBENCH_WITH_SPEED=OFF|missing)" speed --quick
fi

# A good run: JSON complete and consistent, dump complete, --input round trip
# gives the same errors as the generated run it came from.
"${LNBENCH[@]}" accuracy --quiet --rows 3 --dims 7,33 --dists normal,offset1e4 \
  --kernels naive_two_pass,two_pass_f64 --json "$tmp/a.json" --dump "$tmp/dump" >"$tmp/table" 2>"$tmp/err" \
  || fail "good run failed: $(cat "$tmp/err")"
$PY - "$tmp" <<'PYEOF' && ok || fail "JSON/dump check"
import json, sys, os, numpy as np
d = sys.argv[1]
a = json.load(open(d + "/a.json"))
assert a["lnbench_accuracy"] == 1
assert {r["kernel"] for r in a["results"]} == {"naive_two_pass", "two_pass_f64"}
assert len(a["results"]) == 2 * 2 * 2, len(a["results"])
for k in ("git_commit", "compiler", "c_flags", "cpu_model"):
    assert a["context"].get(k), k
m = json.load(open(d + "/dump/manifest.json"))
assert len(m["shapes"]) == 4
for s in m["shapes"]:
    x = np.load(os.path.join(d, "dump", s["x"]))
    t = np.load(os.path.join(d, "dump", s["truth"]))
    assert x.dtype == np.float32 and x.shape == (3, s["dim"]) and t.shape == x.shape
    for k, f in s["outputs"].items():
        y = np.load(os.path.join(d, "dump", f))
        assert y.shape == x.shape
# two_pass_f64 agrees with the rounded truth almost everywhere
s = [s for s in m["shapes"] if s["dist"] == "normal" and s["dim"] == 33][0]
t = np.load(os.path.join(d, "dump", s["truth"]))
y = np.load(os.path.join(d, "dump", s["outputs"]["two_pass_f64"]))
assert np.mean(t == y) > 0.9
PYEOF
s=$($PY -c "import json;m=json.load(open('$tmp/dump/manifest.json'));s=[s for s in m['shapes'] if s['dist']=='offset1e4' and s['dim']==33][0];print(s['x'],s['gamma'],s['beta'])")
read -r xf gf bf <<<"$s"
"${LNBENCH[@]}" accuracy --quiet --input "$tmp/dump/$xf" --gamma "$tmp/dump/$gf" --beta "$tmp/dump/$bf" \
  --kernels naive_two_pass,two_pass_f64 --json "$tmp/in.json" >/dev/null 2>"$tmp/err" || fail "--input run: $(cat "$tmp/err")"
$PY - "$tmp" <<'PYEOF' && ok || fail "--input round trip differs from the generated run"
import json, sys
d = sys.argv[1]
gen = {(r["kernel"]): r for r in json.load(open(d + "/a.json"))["results"] if r["dist"] == "offset1e4" and r["dim"] == 33}
inp = {(r["kernel"]): r for r in json.load(open(d + "/in.json"))["results"]}
for k in gen:
    assert inp[k]["dist"].startswith("input:")
    for f in ("max_ulp", "mean_ulp", "nonfinite", "max_row", "max_col"):
        assert gen[k][f] == inp[k][f], (k, f, gen[k][f], inp[k][f])
PYEOF

# getopt_long forms: --opt=V is --opt V, -- ends the options: same table.
"${LNBENCH[@]}" accuracy --quiet --rows 2 --dims 7 --kernels two_pass_f64 --dists normal >"$tmp/sp" 2>&1 \
  || fail "--opt V run: $(cat "$tmp/sp")"
"${LNBENCH[@]}" accuracy --quiet --rows=2 --dims=7 --kernels=two_pass_f64 --dists=normal -- >"$tmp/eq" 2>&1 \
  || fail "--opt=V run: $(cat "$tmp/eq")"
[ "$(wc -l <"$tmp/eq")" -eq 2 ] && cmp -s "$tmp/sp" "$tmp/eq" && ok || fail "--opt=V and -- differ from --opt V: $(cat "$tmp/eq")"

# Operations, dtypes and casts: every record says what it measured; bad
# combinations are one line and exit 2.
"${LNBENCH[@]}" accuracy --quiet --rows 2 --dims 7 --dists normal --kernels two_pass_f64 \
  --op layernorm --dtype f32 --cast single --json "$tmp/ops.json" >/dev/null 2>"$tmp/err" \
  || fail "--op/--dtype/--cast run: $(cat "$tmp/err")"
$PY - "$tmp" <<'PYEOF' && ok || fail "op/dtype/cast not recorded"
import json, sys
a = json.load(open(sys.argv[1] + "/ops.json"))
assert a["parameters"]["ops"] == ["layernorm"] and a["parameters"]["dtypes"] == ["f32"]
assert a["parameters"]["casts"] == ["single"] and "error_units" in a["parameters"]
for r in a["results"]:
    assert (r["op"], r["dtype"], r["cast"], r["precision"]) == ("layernorm", "f32", "single", 24)
    assert r["h_mismatch"] is None and r["h_count"] is None
PYEOF
expect_error "llama with layernorm" "llama" "${quick[@]}" --op layernorm --cast llama
expect_error "gemma with add_layernorm" "gemma" "${quick[@]}" --op add_layernorm --cast gemma
expect_error "unknown op" "--op.*unknown" "${quick[@]}" --op frob
expect_error "unknown dtype" "--dtype.*unknown" "${quick[@]}" --dtype f64
expect_error "named kernel cannot compute" "cannot compute rmsnorm" "${quick[@]}" --op rmsnorm \
  --kernels welford
"${LNBENCH[@]}" "${quick[@]}" --dists normal --op all --dtype all --cast all --kernels two_pass_f64 \
  >"$tmp/all" 2>&1 && grep -q "^two_pass_f64 *layernorm *f32 *single" "$tmp/all" && ok \
  || fail "--op/--dtype/--cast all with a named kernel: $(cat "$tmp/all")"
expect_error "input with two dtypes" "one --dtype" "${quick[@]}" --input "$tmp/x.npy" --dtype f32,f16
$PY - "$tmp" <<'PYEOF'
import sys, numpy as np
d = sys.argv[1]
np.save(d + "/u2.npy", np.full((2, 7), 0x3f80, dtype="<u2"))
np.save(d + "/f2.npy", np.ones((2, 7), dtype="<f2"))
PYEOF
expect_error "f32 input as f16" "need '<f2'" "${quick[@]}" --input "$tmp/x.npy" --dtype f16
expect_error "f32 input as bf16" "need '<u2'" "${quick[@]}" --input "$tmp/x.npy" --dtype bf16
expect_error "bf16 bits as f32" "need '<f4'" "${quick[@]}" --input "$tmp/u2.npy"
expect_error "f16 input as bf16" "need '<u2'" "${quick[@]}" --input "$tmp/f2.npy" --dtype bf16
expect_error "add_ input without residual" "--residual" "${quick[@]}" --input "$tmp/x.npy" \
  --op add_layernorm

# --help for every subcommand.
for c in list accuracy; do
  "${LNBENCH[@]}" "$c" --help | grep -q "usage: lnbench $c" && ok || fail "$c --help"
done

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
