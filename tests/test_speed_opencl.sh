#!/usr/bin/env bash
# lnbench speed on the OpenCL kernels (found by device in `lnbench list
# --json`, not by name): every one runs on device buffers and reports the
# device counters kernel_bytes_per_second and e2e_bytes_per_second, and the
# run's context names the device.  Usage: test_speed_opencl.sh LNBENCH
set -euo pipefail
LNBENCH=$1
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

names=$("$LNBENCH" list --json | "$PY" -c '
import json, sys
print(",".join(k["name"] for k in json.load(sys.stdin)["kernels"]
               if k["device"] == "opencl" and k["available"]))')
if [ -z "$names" ]; then
  echo "test_speed_opencl: no OpenCL kernel available" >&2
  exit 1
fi
"$LNBENCH" speed --kernels "$names" --dims 100 --rows 6 --threads 1 \
  --benchmark_min_time=0.001 --json "$tmp/run.json" >"$tmp/out" 2>"$tmp/err" || {
  echo "test_speed_opencl: speed failed: $(cat "$tmp/err")" >&2
  exit 1
}
"$PY" - "$tmp/run.json" "$names" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
kernels = sys.argv[2].split(",")
assert "opencl_device" in d["context"], "context lacks opencl_device"
seen = set()
for b in d["benchmarks"]:
    k = b["name"].split("/")[0]
    if k not in kernels:
        assert "kernel_bytes_per_second" not in b, b["name"]  # host kernels and references
        continue
    seen.add(k)
    assert "error_occurred" not in b, b
    for c in ("kernel_bytes_per_second", "e2e_bytes_per_second", "bytes_per_second"):
        assert b.get(c, 0) > 0, (b["name"], c, b.get(c))
assert seen == set(kernels), (seen, kernels)
print("test_speed_opencl: %d OpenCL kernels with device counters" % len(seen))
PYEOF
