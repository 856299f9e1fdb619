#!/usr/bin/env bash
# Shows the regression gate at work on this machine (not a ctest: it times).
#
#   tests/scripts/demo-slowdown.sh [WORKDIR]
#
# Copies the source tree twice, inserts a deliberate delay into one copy's
# naive_two_pass kernel (a volatile loop of dim/6 steps per row, about 10 %),
# builds both, then:
#   1. times base, slowed and an unchanged rerun (12 repetitions, random
#      interleaving) and gates slowed and rerun against base with
#      scripts/compare: the slowed build must fail (exit 1), the rerun pass;
#   2. counts instructions of base, slowed and rerun with scripts/icount
#      (callgrind): the same verdicts, deterministically.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d /tmp/lnbench-demo.XXXXXX)}
mkdir -p "$work"
py=/usr/bin/python3

for v in same slow; do
  rm -rf "$work/$v"
  mkdir -p "$work/$v"
  (cd "$root" && tar --exclude='./build*' --exclude=./.git --exclude=./results -cf - .) |
    tar -x -C "$work/$v"
done
# The delay: after the variance, before the normalisation of each row.
$py - "$work/slow/kernels/naive_two_pass.c" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
anchor = "float rstd = 1.0f / sqrtf(ssq / (float)a->dim + a->eps);"
assert anchor in s, "naive_two_pass.c changed: update the demo's anchor"
s = s.replace(anchor, anchor + "\n        for (volatile size_t k = 0; k < a->dim / 6; k++)"
              " /* DELIBERATE SLOW-DOWN */\n            ;", 1)
open(p, "w").write(s)
EOF
for v in same slow; do
  echo "== building $v" >&2
  cmake -S "$work/$v" -B "$work/$v/build" -DCMAKE_BUILD_TYPE=Release >"$work/$v.cfg.log" 2>&1
  cmake --build "$work/$v/build" -j "$(nproc)" --target lnbench >"$work/$v.build.log" 2>&1
done

args=(--kernels naive_two_pass,welford,two_pass_f64 --dims 768,4096 --rows 64,1024
      --threads 1 --benchmark_repetitions=12 --benchmark_min_time=0.02
      --benchmark_enable_random_interleaving=true --force)
echo "== timing base, slowed, rerun" >&2
for v in base:same slow:slow rerun:same; do
  "$work/${v#*:}/build/cli/lnbench" speed "${args[@]}" --json "$work/${v%%:*}.json" \
    >"$work/${v%%:*}.log" 2>&1
done
echo "== instruction counts" >&2
for v in base:same slow:slow rerun:same; do
  $py "$root/scripts/icount" --lnbench "$work/${v#*:}/build/cli/lnbench" \
    --kernels naive_two_pass,welford,two_pass_f64 -o "$work/ic-${v%%:*}.json" --force >/dev/null
done

status=0
gate() { # gate NAME WANT BASE NEW
  local rc=0
  $py "$root/scripts/compare" --markdown "$work/$1.md" "$3" "$4" >"$work/$1.txt" || rc=$?
  grep -E "REGRESSION|^(PASS|FAIL)" "$work/$1.txt" | sed "s/^/$1: /"
  if [ "$rc" -ne "$2" ]; then echo "$1: exit $rc, expected $2" >&2; status=1; fi
}
gate time-slowed 1 "$work/base.json" "$work/slow.json"
gate time-rerun 0 "$work/base.json" "$work/rerun.json"
gate icount-slowed 1 "$work/ic-base.json" "$work/ic-slow.json"
gate icount-rerun 0 "$work/ic-base.json" "$work/ic-rerun.json"
echo "full tables: $work/*.txt (Markdown: *.md)" >&2
exit $status
