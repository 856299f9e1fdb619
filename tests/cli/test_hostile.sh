#!/usr/bin/env bash
# Hostile but fair use of `lnbench accuracy` and `lnbench speed`: full disks,
# signals, memory limits, FIFOs and devices, Google Benchmark flags.  Each
# case is one of issue 13's failures; the contract it checks is
# "nothing lost, nothing clobbered, nothing hung": a failed run exits 1 (2
# for bad usage or input) and leaves no partial output, a signal leaves no
# temporary behind, a special file is never replaced.
# Usage: test_hostile.sh [emulator args...] path/to/lnbench
set -u
LNBENCH=("$@")
tmp=$(mktemp -d)
bgpids=()
cleanup() {
  for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0 passes=0
PY=/usr/bin/python3
ulimit -c 0 # SIGQUIT below: no core files

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { passes=$((passes + 1)); }
check() { # check "what" command...: passes when the command succeeds
  local what=$1; shift
  if "$@"; then ok; else fail "$what"; fi
}
# No temporary or result of target $1 left in its directory.
nothing_left() {
  local d b
  d=$(dirname "$1") b=$(basename "$1")
  [ -z "$(find "$d" -maxdepth 1 -name "$b*" -print -quit)" ]
}
# Waits (up to ~10 s) until a file matching the glob $1 exists.
wait_for() {
  local i
  for i in $(seq 1 1000); do
    compgen -G "$1" >/dev/null && return 0
    sleep 0.01
  done
  return 1
}

acc=(accuracy --quiet --rows 2 --dims 7 --dists normal --kernels two_pass_f64)
have_speed=0
"${LNBENCH[@]}" speed --help >/dev/null 2>&1 && have_speed=1
spd=(speed --kernels two_pass_f64 --dims 64 --rows 4 --threads 1 --benchmark_min_time=0.001)

# ---------------------------------------------------------------------------
# 1. A full disk: write() fails (EFBIG under RLIMIT_FSIZE, with SIGXFSZ
# ignored, as ENOSPC on a full file system): exit 1, nothing committed.
full_disk() { (ulimit -f 1; trap '' XFSZ; "${LNBENCH[@]}" "$@" >/dev/null 2>"$tmp/fd.err"); }
full_disk "${acc[@]}" --dims 4096 --json "$tmp/a.json"
rc=$?
check "1: accuracy --json on a full disk: exit $rc, want 1" [ "$rc" -eq 1 ]
check "1: accuracy --json on a full disk left a file" nothing_left "$tmp/a.json"
if [ "$have_speed" = 1 ]; then
  full_disk "${spd[@]}" --json "$tmp/s.json"
  rc=$?
  check "1: speed --json on a full disk: exit $rc, want 1 ($(tail -1 "$tmp/fd.err"))" [ "$rc" -eq 1 ]
  check "1: speed --json on a full disk left a file" nothing_left "$tmp/s.json"
  # The same run with room writes Google Benchmark's JSON, complete.
  "${LNBENCH[@]}" "${spd[@]}" --json "$tmp/room.json" >/dev/null 2>&1
  check "1: speed --json with room" $PY -c "import json,sys; d=json.load(open(sys.argv[1])); \
assert len(d['benchmarks']) == 3 and 'context' in d" "$tmp/room.json"
  rm -f "$tmp"/s.json* "$tmp"/room.json*
  "${LNBENCH[@]}" "${spd[@]}" >/dev/full 2>/dev/null
  rc=$?
  check "1: speed > /dev/full: exit $rc, want 1" [ "$rc" -eq 1 ]
fi

# Background jobs of a script ignore SIGQUIT (and SIGINT) without job
# control, and lnbench keeps an ignored SIGQUIT ignored: job control on for
# the signal cases, as in an interactive shell.
set -m

# ---------------------------------------------------------------------------
# 2. --dump D --force replacing a large D, interrupted: D is always whole,
# the old tree or the new one.
make_big_dump() {
  rm -rf "$tmp/D" "$tmp"/D.*
  mkdir -p "$tmp/D/sub"
  (cd "$tmp/D/sub" && seq 1 30000 | xargs touch)
  echo old >"$tmp/D/marker"
}
dump_run=(accuracy --quiet --rows 2 --dims 7,64 --dists normal,uniform --kernels two_pass_f64
          --dump "$tmp/D" --force)
# 2a: interrupted while the old tree is being deleted, after the swap.
make_big_dump
"${LNBENCH[@]}" "${dump_run[@]}" >/dev/null 2>&1 &
pid=$!
until [ -e "$tmp/D/manifest.json" ] || ! kill -0 "$pid" 2>/dev/null; do :; done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
if [ "$rc" -ne 130 ]; then
  echo "note: 2a: the run ended (exit $rc) before the interrupt landed; not counted" >&2
else
  check "2a: SIGINT while deleting the old dump: the new dump is not whole" \
    $PY - "$tmp/D" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
names = [v for s in m["shapes"] for k, v in s.items() if k in ("x", "truth") and v]
names += [v for s in m["shapes"] for v in s["outputs"].values()]
assert len(m["shapes"]) == 4 and all(os.path.isfile(os.path.join(d, n)) for n in names), names
assert not os.path.exists(os.path.join(d, "marker"))
PYEOF
fi
# 2b: interrupted while computing: the old tree stays whole.
make_big_dump
"${LNBENCH[@]}" accuracy --quiet --rows 64 --dims 8192 --dists normal,uniform,offset1e4 \
  --kernels two_pass_f64 --dump "$tmp/D" --force >/dev/null 2>&1 &
pid=$!
wait_for "$tmp/D.partial-*/*-x.npy"
kill -INT "$pid" 2>/dev/null
wait "$pid"
check "2b: SIGINT while computing lost the old dump" \
  [ -e "$tmp/D/marker" -a "$(ls "$tmp/D/sub" | wc -l)" -eq 30000 ]
check "2b: SIGINT left a temporary" [ -z "$(compgen -G "$tmp/D.partial-*")" ]
# 2c: what SIGKILL leaves (<target>.partial-*, <target>.old-*) goes with the
# next run for that target; a temporary another live run holds is kept.
mkdir -p "$tmp/D.old-Ab12Cd/sub" "$tmp/D.partial-Zz99Yy"
touch "$tmp/D.old-Ab12Cd/sub/f" "$tmp/D.partial-Zz99Yy/g" "$tmp/r.json.partial-Qq11Ww"
touch "$tmp/r.json.partial-Live00"
if command -v flock >/dev/null; then
  # (its own stdio: an inherited stdout would keep ctest waiting for the
  # sleep after the script ends)
  flock -x "$tmp/r.json.partial-Live00" sleep 30 </dev/null >/dev/null 2>&1 &
  holder=$!
  bgpids+=($holder)
  sleep 0.2
fi
"${LNBENCH[@]}" "${acc[@]}" --dump "$tmp/D" --force --json "$tmp/r.json" >/dev/null 2>&1
check "2c: leftovers of killed runs not removed" \
  [ ! -e "$tmp/D.old-Ab12Cd" -a ! -e "$tmp/D.partial-Zz99Yy" -a ! -e "$tmp/r.json.partial-Qq11Ww" ]
if command -v flock >/dev/null; then
  check "2c: a live run's temporary was removed" [ -e "$tmp/r.json.partial-Live00" ]
  pkill -P "$holder" sleep 2>/dev/null; kill "$holder" 2>/dev/null
fi
rm -rf "$tmp/D" "$tmp"/D.* "$tmp"/r.json*

# ---------------------------------------------------------------------------
# 3. Runs too large for the memory available are refused up front: exit 2,
# one line naming the limit, nothing written.
"${LNBENCH[@]}" accuracy --dims 500000000 --rows 1 --dists normal --json "$tmp/m.json" \
  >/dev/null 2>"$tmp/err"
rc=$?
check "3: 500M-element run: exit $rc, want 2 ($(cat "$tmp/err"))" [ "$rc" -eq 2 ]
check "3: message" grep -q "needs about .* available (" "$tmp/err"
check "3: left a file" nothing_left "$tmp/m.json"
if [ ${#LNBENCH[@]} -eq 1 ] && ! ldd "${LNBENCH[0]}" 2>/dev/null | grep -q libasan; then
  # RLIMIT_AS (ASan reserves terabytes of address space: not under ASan).
  (ulimit -v 600000; "${LNBENCH[@]}" accuracy --dims 2000000 --rows 8 --dists normal \
     --kernels two_pass_f64 --json "$tmp/m.json" >/dev/null 2>"$tmp/err")
  rc=$?
  check "3: under RLIMIT_AS: exit $rc, want 2 ($(cat "$tmp/err"))" [ "$rc" -eq 2 ]
  check "3: RLIMIT_AS named" grep -q "RLIMIT_AS" "$tmp/err"
  check "3: RLIMIT_AS left a file" nothing_left "$tmp/m.json"
fi
# --input: the shape in the header is checked before any data is read (a
# sparse file of 1 x 2^31 binary32 values, 8 GiB that take no disk).
$PY - "$tmp/huge.npy" <<'PYEOF'
import sys
n = 2 ** 31
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, %d), }" % n
hdr += " " * (64 - (10 + len(hdr) + 1) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode())
    f.truncate(10 + len(hdr) + 4 * n)
PYEOF
timeout 20 "${LNBENCH[@]}" accuracy --input "$tmp/huge.npy" --json "$tmp/m.json" >/dev/null 2>"$tmp/err"
rc=$?
check "3: --input too large: exit $rc, want 2 ($(cat "$tmp/err"))" [ "$rc" -eq 2 ]
check "3: --input too large: message" grep -q "needs about" "$tmp/err"
rm -f "$tmp/huge.npy"

# ---------------------------------------------------------------------------
# 4. A FIFO as --input, --gamma or --beta: refused at once, no hang.
mkfifo "$tmp/fifo"
$PY -c "import numpy as np, sys; np.save(sys.argv[1], np.ones((2, 5), np.float32) * np.arange(5, dtype=np.float32))" "$tmp/x.npy"
for opt in input gamma beta; do
  if [ $opt = input ]; then args=(--input "$tmp/fifo"); else args=(--input "$tmp/x.npy" --$opt "$tmp/fifo"); fi
  timeout 20 "${LNBENCH[@]}" accuracy --quiet --kernels two_pass_f64 "${args[@]}" >/dev/null 2>"$tmp/err"
  rc=$?
  check "4: FIFO as --$opt: exit $rc, want 2 ($(cat "$tmp/err"))" [ "$rc" -eq 2 ]
  check "4: FIFO as --$opt: message" grep -q "not a regular file" "$tmp/err"
done

# ---------------------------------------------------------------------------
# 5. Every catchable terminating signal removes the temporaries.
slow=(accuracy --quiet --rows 32 --dims 8192 --dists normal,uniform,offset1e4,outlier
      --kernels two_pass_f64)
for sig in HUP INT QUIT TERM PIPE USR1 USR2 ALRM; do
  rm -rf "$tmp/sig"
  mkdir "$tmp/sig"
  "${LNBENCH[@]}" "${slow[@]}" --json "$tmp/sig/r.json" --dump "$tmp/sig/d" >/dev/null 2>&1 &
  pid=$!
  wait_for "$tmp/sig/d.partial-*/*-x.npy"
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  check "5: SIG$sig: exit $rc, want death by the signal" [ "$rc" -gt 128 ]
  check "5: SIG$sig left $(ls "$tmp/sig")" [ -z "$(ls "$tmp/sig")" ]
done
# The common case: a pipe into head.
rm -rf "$tmp/sig" && mkdir "$tmp/sig"
"${LNBENCH[@]}" accuracy --rows 2 --dims 7,64,768,1000 --dists normal,uniform,constant \
  --kernels two_pass_f64,welford --json "$tmp/sig/r.json" --dump "$tmp/sig/d" 2>/dev/null | head -3 >/dev/null
rc=${PIPESTATUS[0]}
check "5: | head: exit $rc, want 141 (SIGPIPE)" [ "$rc" -eq 141 ]
check "5: | head left $(ls "$tmp/sig")" [ -z "$(ls "$tmp/sig")" ]

set +m

# ---------------------------------------------------------------------------
# 6. Google Benchmark flags: checked before the run, exit 2, nothing written.
if [ "$have_speed" = 1 ]; then
  for flag in --benchmark_repetitions=-1 --benchmark_repetitions=0 --benchmark_format=bogus \
              --benchmark_out_format=yaml --benchmark_color=maybe --benchmark_min_time=abc \
              --benchmark_min_time=-1 --benchmark_counters_tabular=perhaps \
              --benchmark_time_unit=fortnights --benchmark_list_tests=true \
              --benchmark_context=novalue --benchmark_nonsense=1; do
    "${LNBENCH[@]}" "${spd[@]}" "$flag" --json "$tmp/g.json" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "6: $flag: exit $rc, want 2 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 2 ]
    check "6: $flag: $(wc -l <"$tmp/err") stderr lines, want 1" [ "$(wc -l <"$tmp/err")" -eq 1 ]
    check "6: $flag: wrote a file" nothing_left "$tmp/g.json"
    rm -f "$tmp"/g.json*
  done
  # Valid values still pass.
  "${LNBENCH[@]}" "${spd[@]}" --benchmark_repetitions=2 --benchmark_format=console \
    --benchmark_counters_tabular=false --json "$tmp/g.json" >/dev/null 2>&1
  check "6: valid flags refused" [ -s "$tmp/g.json" ]
  "${LNBENCH[@]}" "${spd[@]}" --benchmark_list_tests=true >"$tmp/out" 2>/dev/null
  check "6: --benchmark_list_tests without --json" grep -q "two_pass_f64/dim:64/rows:4" "$tmp/out"
fi

# ---------------------------------------------------------------------------
# 8. Special files are never replaced; symlinks are written through; '-'
# is standard output.
mkfifo "$tmp/out.fifo"
# A reader that is surely there before lnbench opens the FIFO: it opens
# without blocking, says so, then reads until the writer closes.
$PY - "$tmp/out.fifo" "$tmp/from_fifo" "$tmp/reader_ready" <<'PYEOF' &
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
open(sys.argv[3], "w").close()
poll, data, t0 = select.poll(), b"", time.time()
poll.register(fd, select.POLLIN)
while time.time() - t0 < 60:
    poll.poll(1000)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        continue
    if not chunk and data:
        break
    data += chunk
open(sys.argv[2], "wb").write(data)
PYEOF
reader=$!
bgpids+=($reader)
wait_for "$tmp/reader_ready"
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/out.fifo" --force >/dev/null 2>"$tmp/err"
rc=$?
wait "$reader"
check "8: --json FIFO with a reader: exit $rc ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
check "8: --json FIFO replaced" [ -p "$tmp/out.fifo" ]
check "8: --json FIFO: JSON not streamed" $PY -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/from_fifo"
timeout 20 "${LNBENCH[@]}" "${acc[@]}" --json "$tmp/out.fifo" --force >/dev/null 2>"$tmp/err"
rc=$?
check "8: --json FIFO without a reader: exit $rc, want 2 ($(cat "$tmp/err"))" [ "$rc" -eq 2 ]
"${LNBENCH[@]}" "${acc[@]}" --dump "$tmp/out.fifo" --force >/dev/null 2>"$tmp/err"
rc=$?
check "8: --dump FIFO --force: exit $rc, want 2" [ "$rc" -eq 2 ]
check "8: --dump FIFO replaced" [ -p "$tmp/out.fifo" ]
# A character device (root may make one; /dev/null itself is never touched).
if mknod "$tmp/null" c 1 3 2>/dev/null; then
  "${LNBENCH[@]}" "${acc[@]}" --json "$tmp/null" --force >/dev/null 2>&1
  rc=$?
  check "8: --json chardev: exit $rc" [ "$rc" -eq 0 ]
  check "8: --json chardev --force replaced it" [ -c "$tmp/null" ]
  "${LNBENCH[@]}" "${acc[@]}" --dump "$tmp/null" --force >/dev/null 2>&1
  check "8: --dump chardev --force replaced it" [ -c "$tmp/null" ]
else
  echo "note: 8: mknod not permitted here; character device case skipped" >&2
fi
# Symlinks: written through to the target, the link stays.
echo '{"old": 1}' >"$tmp/real.json"
ln -s real.json "$tmp/link.json"
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/link.json" >/dev/null 2>"$tmp/err"
check "8: --json symlink without --force replaced its target" grep -q '"old"' "$tmp/real.json"
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/link.json" --force >/dev/null 2>&1
check "8: --json symlink --force: the link was replaced" [ -L "$tmp/link.json" ]
check "8: --json symlink --force: target not written" grep -q '"lnbench_accuracy"' "$tmp/real.json"
check "8: --json symlink --force left a temporary" [ -z "$(compgen -G "$tmp/*.partial-*")" ]
ln -s nowhere/x.json "$tmp/dangling.json"
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/dangling.json" --force >/dev/null 2>"$tmp/err"
rc=$?
check "8: dangling symlink: exit $rc, want 2" [ "$rc" -eq 2 ]
check "8: dangling symlink replaced" [ -L "$tmp/dangling.json" ]
mkdir "$tmp/realdir" && echo x >"$tmp/realdir/f" && ln -s realdir "$tmp/linkdir"
"${LNBENCH[@]}" "${acc[@]}" --dump "$tmp/linkdir" --force >/dev/null 2>&1
check "8: --dump symlink --force: the link was replaced" [ -L "$tmp/linkdir" ]
check "8: --dump symlink --force: no dump at the target" [ -f "$tmp/realdir/manifest.json" ]
# '-': the JSON on standard output, nothing else there.
"${LNBENCH[@]}" "${acc[@]}" --json - >"$tmp/stdout.json" 2>/dev/null
check "8: --json - is not JSON on stdout" $PY -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/stdout.json"
check "8: --json - created a file named -" [ ! -e ./- -a ! -e "$tmp/-" ]
if [ "$have_speed" = 1 ]; then
  "${LNBENCH[@]}" "${spd[@]}" --json - >"$tmp/stdout.json" 2>/dev/null
  check "8: speed --json - is not JSON on stdout" $PY -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/stdout.json"
fi

# ---------------------------------------------------------------------------
# 9. The smaller ones.
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/X" --dump "$tmp/X" >/dev/null 2>"$tmp/err"
rc=$?
check "9: --json X --dump X: exit $rc, want 2" [ "$rc" -eq 2 ]
check "9: --json X --dump X wrote something" nothing_left "$tmp/X"
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/X/r.json" --dump "$tmp/X" >/dev/null 2>"$tmp/err"
rc=$?
check "9: --json inside --dump: exit $rc, want 2" [ "$rc" -eq 2 ]
check "9: --json inside --dump wrote something" [ -z "$(compgen -G "$tmp/X*")" ]
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/full.json" >/dev/full 2>/dev/null
rc=$?
check "9: accuracy > /dev/full: exit $rc, want 1" [ "$rc" -eq 1 ]
check "9: accuracy > /dev/full committed the JSON" nothing_left "$tmp/full.json"
"${LNBENCH[@]}" list >/dev/full 2>/dev/null
rc=$?
check "9: list > /dev/full: exit $rc, want 1" [ "$rc" -eq 1 ]
$PY -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).normal(size=(3, 33)).astype(np.float32))" "$tmp/in.npy"
"${LNBENCH[@]}" accuracy --quiet --kernels two_pass_f64 --input "$tmp/in.npy" --json "$tmp/in.json" >/dev/null 2>&1
check "9: --input: parameters are not the input's" $PY - "$tmp/in.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))["parameters"]
assert p["rows"] == 3 and p["dims"] == [33] and p["dists"] == ["input:in.npy"], p
PYEOF
"${LNBENCH[@]}" "${acc[@]}" --seed 18446744073709551615 --json "$tmp/seed.json" >/dev/null 2>&1
check "9: --seed 2^64-1 not recorded as such" $PY -c "import json,sys; \
assert json.load(open(sys.argv[1]))['parameters']['seed'] == 2**64 - 1" "$tmp/seed.json"
# --eps 0 on constant rows: no real value (0/0); recorded as 'undefined', and
# scored by the documented rule: NaN exact, a number a nonfinite mismatch.
"${LNBENCH[@]}" accuracy --rows 2 --dims 7 --dists constant --eps 0 --json "$tmp/eps.json" \
  >/dev/null 2>"$tmp/err"
check "9: --eps 0 on constant rows: no note on stderr" grep -q "no real value" "$tmp/err"
check "9: --eps 0 on constant rows: records" $PY - "$tmp/eps.json" <<'PYEOF'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
assert rs
for r in rs:
    assert r["undefined"] == r["count"] == 14, r
    # all NaN (exact by the rule) or all numbers (every one a mismatch)
    assert (r["nonfinite"] == 0 and r["max_ulp"] == 0) or \
           (r["nonfinite"] == 14 and r["max_ulp"] is None), r
PYEOF
"${LNBENCH[@]}" "${acc[@]}" --json "$tmp/e1.json" >/dev/null 2>&1
check "9: with eps > 0, undefined is 0" $PY -c "import json,sys; \
assert all(r['undefined'] == 0 for r in json.load(open(sys.argv[1]))['results'])" "$tmp/e1.json"
LNBENCH_DISABLE_ISA=bogus "${LNBENCH[@]}" "${acc[@]}" >/dev/null 2>"$tmp/err"
rc=$?
check "9: LNBENCH_DISABLE_ISA=bogus: exit $rc, want 2" [ "$rc" -eq 2 ]
check "9: LNBENCH_DISABLE_ISA=bogus: message" grep -q "unknown instruction set 'bogus'" "$tmp/err"
LNBENCH_DISABLE_ISA=all "${LNBENCH[@]}" "${acc[@]}" >/dev/null 2>&1
check "9: LNBENCH_DISABLE_ISA=all refused" [ $? -eq 0 ]
$PY -c "import numpy as np, sys; np.save(sys.argv[1], np.arange(8, dtype=np.float32))" "$tmp/one.npy"
"${LNBENCH[@]}" accuracy --quiet --kernels two_pass_f64 --input "$tmp/one.npy" >/dev/null 2>"$tmp/err"
rc=$?
check "9: 1-D --input: exit $rc, want 2" [ "$rc" -eq 2 ]
check "9: 1-D --input: message" grep -q "1-D, need 2-D" "$tmp/err"
mkdir -p "$tmp/dd" && cp "$tmp/in.npy" "$tmp/dd/in.npy"
"${LNBENCH[@]}" accuracy --quiet --kernels two_pass_f64 --input "$tmp/dd/in.npy" --dump "$tmp/dd" \
  --force >/dev/null 2>"$tmp/err"
rc=$?
check "9: --dump DIR --force holding the input: exit $rc, want 2" [ "$rc" -eq 2 ]
check "9: --dump DIR --force deleted the input" [ -f "$tmp/dd/in.npy" ]
"${LNBENCH[@]}" accuracy --help | grep -q "EVERY file in DIR is deleted"
check "9: --help does not say what --force deletes" [ $? -eq 0 ]

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
