# Shared by scripts/run and scripts/test: configure and build one tree.
# build_tree DIR [cmake args...]
build_tree() {
  local dir=$1; shift
  cmake -S "$LNBENCH_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log" >&2; echo "configure failed: $dir" >&2; return 1; }
  cmake --build "$dir" -j "$(nproc)" >"$dir.build.log" 2>&1 || {
    tail -n 60 "$dir.build.log" >&2; echo "build failed: $dir" >&2; return 1; }
}
