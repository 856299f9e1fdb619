#!/usr/bin/env bash
# The Metal shader source checked where no Metal compiler exists: the text
# metal_host.m hands to newLibraryWithSource (kernels/metal/layernorm.metal
# with kernels/gpu/ inlined by embed_source.cmake, the build's own rule),
# embedded byte for byte, and preprocessed for every dtype and math mode
# as the Metal compiler would: every dialect macro of the shared body must
# expand to MSL, and nothing of OpenCL C may be left.
#
# Usage: test_metal_source.sh CC SOURCE_DIR WORK_DIR (CC: any C compiler
# driver; only its preprocessor runs, so a cross compiler will do).
set -u
cc=$1 src=$2 work=$3
fails=0 passes=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { passes=$((passes + 1)); }

rm -rf "$work" && mkdir -p "$work/stub" || exit 1
: >"$work/stub/metal_stdlib" # <metal_stdlib> only declares; cpp needs a file

# 1. Inlining and embedding: every quoted include resolved, the C array
#    holds exactly the inlined text.
cmake -DSOURCE="$src/kernels/metal/layernorm.metal" -DOUTPUT="$work/metal_source.c" \
  -DTEXT_OUTPUT="$work/layernorm.inlined.metal" -P "$src/kernels/metal/embed_source.cmake" ||
  { echo "FAIL: embed_source.cmake" >&2; exit 1; }
text=$work/layernorm.inlined.metal
if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$text"; then
  fail "quoted #include left in the embedded source (the run-time compiler cannot open it)"
else ok; fi
grep -q 'LN_GPU_NORM_BODY_H' "$text" && grep -q 'ln_gpu_row_accurate' "$text" && ok ||
  fail "the shared body (kernels/gpu/norm_body.h) is not in the embedded source"
/usr/bin/python3 - "$work/metal_source.c" "$text" <<'PYEOF' && ok || fail "metal_source.c does not hold the inlined text"
import re, sys
c = open(sys.argv[1]).read()
body = c[c.index("ln_metal_source[] = {"):]
data = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body[:body.index("};")]))
n = int(re.search(r"ln_metal_source_len = (\d+);", c).group(1))
want = open(sys.argv[2], "rb").read()
assert data[-1] == 0 and n == len(data) - 1 == len(want) and data[:-1] == want
PYEOF

# 2. Every library metal_host.m compiles: LN_DTYPE 0/1/2 (f32/bf16/f16),
#    LN_METAL_FASTMATH 0/1.  -undef: none of this host's macros.
for dt in 0 1 2; do
  for fm in 0 1; do
    what="LN_DTYPE=$dt LN_METAL_FASTMATH=$fm"
    out=$work/pp-$dt-$fm.metal
    if ! "$cc" -E -P -undef -x c -I "$work/stub" -D__METAL_VERSION__=240 -DLN_DTYPE=$dt \
      -DLN_METAL_FASTMATH=$fm "$text" -o "$out" 2>"$work/err"; then
      fail "$what: preprocessing failed: $(head -3 "$work/err")"
      continue
    fi
    # OpenCL C that must not reach the Metal compiler.
    left=$(grep -noE '__global|__local|__kernel|__constant|get_(group|local|global)_(id|size)|\bbarrier\(|CLK_[A-Z_]+|vload_half|vstore_half|\bas_(float|uint|ushort|half)\(|OPENCL|cl_khr' "$out" | head -3)
    [ -z "$left" ] && ok || fail "$what: OpenCL C left after expansion: $left"
    # Every dialect and body macro expanded.
    left=$(grep -noE '\bLN_[A-Z0-9_]+\b' "$out" | head -3)
    [ -z "$left" ] && ok || fail "$what: unexpanded macros: $left"
    # The entry points and the MSL the dialect promises.
    for want in 'kernel void ln_metal_fast(' 'kernel void ln_metal_accurate(' \
      'threadgroup_barrier(mem_flags::mem_threadgroup)' 'simd_shuffle_xor(' \
      '[[threadgroup_position_in_grid]]' 'threadgroup float red[' 'constant ln_metal_args &a'; do
      grep -qF -- "$want" "$out" && ok || fail "$what: '$want' missing"
    done
    elem=float
    [ "$dt" != 0 ] && elem=ushort
    grep -qF "device const $elem *x" "$out" && ok || fail "$what: x is not device const $elem"
    if [ "$dt" = 2 ]; then
      grep -qF 'as_type<half>' "$out" && ok || fail "$what: f16 loads do not go through half"
    else
      ! grep -qF 'as_type<half>' "$out" && ok || fail "$what: half in a non-f16 library"
    fi
    if [ "$fm" = 0 ]; then
      grep -qF 'precise::sqrt(' "$out" && ok || fail "$what: sqrt is not precise:: with fast math off"
      grep -qF 'FP_CONTRACT OFF' "$out" && ok || fail "$what: contraction not switched off"
    else
      ! grep -qF 'precise::' "$out" && ok || fail "$what: precise:: in the fast-math library"
      ! grep -qF 'FP_CONTRACT' "$out" && ok || fail "$what: contraction pinned in the fast-math library"
    fi
  done
done

echo "test_metal_source: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
