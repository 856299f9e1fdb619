#!/usr/bin/env bash
# The CI workflow's steps run by hand on a fresh clone (not a ctest: it builds
# four trees and times).  .github/workflows/bench.yml runs, per leg:
#   scripts/test; build; scripts/ci-baseline BASE base (seed, >= 9 reps);
#   scripts/ci-measure; scripts/gate; and on main scripts/history append,
#   scripts/report --history.
# This does the same in order, skipping scripts/test (the four-leg suite is
# the lead's to run), on a small set (LNBENCH_CI_* below), for three commits
# on top of the clone's HEAD (the base):
#   slow        naive_two_pass with a deliberate delay loop per row
#   inaccurate  naive_two_pass with rstd off by 2^-16 (relative)
#   unchanged   a comment-only change
# Each is gated twice: as a hosted leg (speed reported, not gated) and as the
# timing leg (--gate-speed, interleaved rerun).  Expected: slow and
# inaccurate fail, unchanged passes.  Then the history store gets the base,
# slow and unchanged commits, the trend charts are drawn, and the install
# test builds an outside program against `cmake --install` of the head.
#   tests/scripts/demo-ci.sh [WORKDIR]
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d /tmp/lnbench-ci-demo.XXXXXX)}
py=/usr/bin/python3
export LNBENCH_CI_KERNELS=${LNBENCH_CI_KERNELS:-naive_two_pass,avx512}
export LNBENCH_CI_REPS=${LNBENCH_CI_REPS:-9}
export LNBENCH_CI_SPEED_ARGS=${LNBENCH_CI_SPEED_ARGS:---dims 768 --rows 256 --threads 1 --benchmark_min_time=0.02}
export LNBENCH_CI_ACC_ARGS=${LNBENCH_CI_ACC_ARGS:---dims 768 --dists normal,offset1e4 --rows 16}
export LNBENCH_CI_ICOUNT_SHAPES=${LNBENCH_CI_ICOUNT_SHAPES:-16x768}
export LNBENCH_CI_STEPI_SHAPES=${LNBENCH_CI_STEPI_SHAPES:-16x768}
export NO_COLOR=1
rm -rf "$work/clone"
mkdir -p "$work"
git clone -q "$src" "$work/clone" || exit 1
cd "$work/clone" || exit 1
git config user.email demo@example.invalid
git config user.name demo
base=$(git rev-parse HEAD)
k=kernels/scalar/naive_two_pass.c
anchor='    *rstd_out = 1.0f / sqrtf(ssq / (float)dim + eps);'
grep -qF "$anchor" $k || { echo "demo-ci: $k changed: update the anchor" >&2; exit 1; }
mk() { # mk NAME SED-EXPRESSION MESSAGE
  git checkout -q -B "$1" "$base" && sed -i "$2" "$k" && git commit -qam "$3" ||
    { echo "demo-ci: could not make the $1 commit" >&2; exit 1; }
}
anchor_re='^    \*rstd_out = 1\.0f / sqrtf(ssq / (float)dim + eps);$'
mk slow "s|$anchor_re|&\n    for (volatile size_t k = 0; k < dim; k++) /* DELIBERATE SLOW-DOWN */\n        ;|" \
  "demo: slow naive_two_pass"
mk inaccurate "s|$anchor_re|    *rstd_out = 1.0f / sqrtf(ssq / (float)dim + eps) * (1.0f + 0x1p-16f); /* DELIBERATE */|" \
  "demo: less accurate naive_two_pass"
git checkout -q -B unchanged "$base" && sed -i '1s|$| |' README.md && git commit -qam "demo: unchanged"
git diff --stat "$base" slow; git diff --stat "$base" inaccurate

echo "== seed the baseline from ${base:0:12} (scripts/ci-baseline)"
git checkout -q unchanged
scripts/ci-baseline "$base" "$work/base" >"$work/base.log" 2>&1 ||
  { tail -n 30 "$work/base.log"; exit 1; }
grep -E "instructions/element|seeded" "$work/base.log" | sed 's/^/  /'
status=0
for v in slow inaccurate unchanged; do
  echo
  echo "==== $v: $(git log -1 --format=%s "$v")"
  git checkout -q "$v"
  cmake -S . -B "build-$v" -DCMAKE_BUILD_TYPE=Release -DLNBENCH_WERROR=ON >"$work/$v.cfg.log" 2>&1 &&
    cmake --build "build-$v" -j 2 --target lnbench >"$work/$v.build.log" 2>&1 || { echo "build $v failed"; exit 1; }
  scripts/ci-measure "build-$v/cli/lnbench" "$work/out-$v" 2>/dev/null | grep -v "^  *$" | sed 's/^/  /'
  for leg in hosted timing; do
    extra=()
    [ $leg = timing ] && extra=(--gate-speed --rerun-base "$work/base/lnbench"
                                --rerun-head "build-$v/cli/lnbench" --rounds 5 --rerun-reps 3)
    rc=0
    $py scripts/gate --leg "$leg" --base "$work/base"/baseline-{accuracy,speed,icount}.json \
      --new "$work/out-$v"/{accuracy,speed,icount}.json "${extra[@]}" \
      --summary "$work/out-$v/summary-$leg.md" --comment "$work/out-$v/pr-comment-$leg.md" \
      --json "$work/out-$v/gate-$leg.json" >"$work/out-$v/gate-$leg.txt" 2>&1 || rc=$?
    want=1; [ $v = unchanged ] && want=0
    echo "-- $v, $leg leg: gate exit $rc (want $want)"
    sed 's/^/   /' "$work/out-$v/gate-$leg.txt" | cut -c1-150
    [ "$rc" -eq "$want" ] || status=1
  done
done

echo
echo "==== history: base, slow, unchanged (as main-branch runs)"
store=$work/store
rm -rf "$store"
$py scripts/history append "$store" --commit "$base" --leg local \
  "$work/base"/baseline-{accuracy,speed,icount}.json || status=1
for v in slow unchanged; do
  $py scripts/history append "$store" --commit "$(git rev-parse "$v")" --leg local \
    --gate "$work/out-$v/gate-timing.json" "$work/out-$v"/{accuracy,speed,icount}.json || status=1
done
$py scripts/history list "$store"
$py scripts/report --history "$store" -o "$work/history-report" --force || status=1
ls "$work/history-report/plots"

echo
echo "==== install: outside program against cmake --install of the head"
tests/install/test_install.sh "$PWD/build-unchanged" "$PWD" 2>&1 | grep -E "^(==|outside: [0-9]|install test|FAIL)" || status=1
echo
[ $status -eq 0 ] && echo "demo-ci: all as expected" || echo "demo-ci: SOMETHING UNEXPECTED"
echo "work: $work"
exit $status
