#!/usr/bin/env bash
# cmake --install of the build tree into a temporary prefix, then an outside
# C program (outside.c) built against it twice, with pkg-config and with
# find_package(lnbench), each run: it calls the kernels through the
# installed registry.  Also checks what the package holds: the binary, the
# headers, lnbench.pc, the CMake files, and no oneDNN in the library.
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/lnbench-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }
p=$tmp/prefix
libdir=$(cd "$p" && ls -d lib*/liblnbench_kernels.a | head -n 1 | xargs dirname)
for f in bin/lnbench include/lnbench/lnbench_kernel.h include/lnbench/dtype_convert.h \
         "$libdir/liblnbench_kernels.a" "$libdir/pkgconfig/lnbench.pc" \
         "$libdir/cmake/lnbench/lnbenchConfig.cmake" "$libdir/cmake/lnbench/lnbenchTargets.cmake"; do
  [ -e "$p/$f" ] || fail "not installed: $f"
done
"$p/bin/lnbench" list >/dev/null || fail "installed lnbench list"
if nm "$p/$libdir/liblnbench_kernels.a" 2>/dev/null | grep -q ' U dnnl_'; then
  fail "the installed kernels library refers to oneDNN"
fi
grep -q "^prefix=$p\$" "$p/$libdir/pkgconfig/lnbench.pc" || fail "lnbench.pc prefix is not $p"

echo "== pkg-config"
export PKG_CONFIG_PATH=$p/$libdir/pkgconfig
cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags lnbench) "$src/tests/install/outside.c" \
   -o "$tmp/outside-pc" $(pkg-config --libs lnbench) || fail "build with pkg-config"
"$tmp/outside-pc" || fail "outside (pkg-config) failed"

echo "== find_package"
cmake -S "$src/tests/install" -B "$tmp/outside" -DCMAKE_PREFIX_PATH="$p" \
      -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$tmp/cfg.log" 2>&1 ||
  { cat "$tmp/cfg.log" >&2; fail "configure with find_package"; }
cmake --build "$tmp/outside" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "build with find_package"; }
"$tmp/outside/outside" || fail "outside (find_package) failed"
echo "install test: ok"
