#!/usr/bin/env bash
# The commit lnbench names (--version, and every result file's context
# git_commit, from the same ln_prov_git_commit) is the source tree's HEAD:
# stamped at build time, so a build tree configured at an older commit and
# rebuilt after a pull names the new one.  Usage: test_provenance.sh
# SOURCE_DIR [emulator args...] path/to/lnbench.  Skips (77) outside a git
# checkout.
set -u
src=$1
shift
command -v git >/dev/null 2>&1 || { echo "SKIP: no git"; exit 77; }
head=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null) || { echo "SKIP: not a git checkout"; exit 77; }
version=$("$@" --version) || { echo "FAIL: lnbench --version exited $?"; exit 1; }
# "lnbench 0.1.0 (<commit>[-dirty])"
named=$(sed -n 's/^lnbench [^ ]* (\([^)]*\))$/\1/p' <<<"$version")
if [ "${named%-dirty}" != "$head" ]; then
  echo "FAIL: lnbench names commit '$named', the source tree's HEAD is $head (stale build stamp?)"
  exit 1
fi
echo "ok: $named"
