#!/usr/bin/env bash
# Records real Nsight Compute output for kforge's profiler on a bare GPU host (no Node needed):
# raw CSVs (base and auto units), details CSVs, .ncu-rep reports, stderr, driver JSON (Triton
# compile metadata), the device's metric list, and ncu's own error texts. Everything goes to $OUT.
#
#   OUT=/tmp/ncu-out bash bench/profiler/record_ncu.sh          # all runs (~3-5 min on an H100)
#   QUICK=1 OUT=/tmp/ncu-out bash bench/profiler/record_ncu.sh  # good + spill only
#
# Environment: KFORGE_NCU (ncu path), KFORGE_PYTHON (python with torch 2.x + triton 3.x).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/.gpu/ncu}
mkdir -p "$OUT/kernels"
PY=${KFORGE_PYTHON:-python3}
NCU=${KFORGE_NCU:-$(command -v ncu || true)}
if [ -z "$NCU" ]; then
  for c in /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda-*/bin/ncu; do
    [ -x "$c" ] && NCU=$c && break
  done
fi
DRIVER="$ROOT/tools/profiler/profile_driver.py"
RANGE="kforge_profile/"
LIMIT=${LIMIT:-300}

{
  echo "date: $(date -u +%FT%TZ)"; echo "host: $(hostname)"; echo "ncu: ${NCU:-<not found>}"
  [ -n "$NCU" ] && "$NCU" --version
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv
  "$PY" -c 'import sys, torch, triton; print("python", sys.version.split()[0], "torch", torch.__version__, "triton", triton.__version__, "cuda", torch.version.cuda)'
  echo "id: $(id)"
  grep -i profiling /proc/driver/nvidia/params 2>/dev/null
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
if [ -z "$NCU" ]; then echo "ncu not found: set KFORGE_NCU" | tee "$OUT/FAILED"; exit 1; fi

# The device's metric names, suffixes of the arch-dependent pipe metrics, and the section list.
"$NCU" --query-metrics --devices 0 > "$OUT/query_metrics.txt" 2>&1
"$NCU" --query-metrics-mode suffix --devices 0 \
  --metrics sm__pipe_tensor_op_gmma_cycles_active,sm__pipe_tensor_op_hmma_cycles_active,sm__pipe_tensor_cycles_active,sm__inst_executed_pipe_tensor_op_gmma \
  > "$OUT/query_suffix_tensor.txt" 2>&1
"$NCU" --list-sections > "$OUT/sections.txt" 2>&1
grep -iE 'tensor|gmma|hmma' "$OUT/query_metrics.txt" > "$OUT/query_tensor_names.txt" 2>/dev/null

# Same selection rule as tools/profiler/metric-list.ts: required always, "?" only if the device lists it.
"$PY" - "$ROOT/tools/profiler/metrics.txt" "$OUT/query_metrics.txt" "$OUT/metrics_used.txt" "$OUT/metrics_dropped.txt" <<'PY'
import re, sys
src, query, used_p, dropped_p = sys.argv[1:]
listed = set(re.findall(r"^\s*([a-z0-9]+__[A-Za-z0-9_]+)", open(query).read(), re.M))
used, dropped = [], []
for line in open(src):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    optional = line.startswith("?")
    name = line.lstrip("?")
    (used if not optional or name.split(".")[0] in listed else dropped).append(name)
open(used_p, "w").write(",".join(used))
open(dropped_p, "w").write("\n".join(dropped) + "\n")
print(f"metrics: {len(used)} used, {len(dropped)} dropped, {len(listed)} listed by the device")
PY

config_module() { # tag BLOCK_M BLOCK_N num_warps num_stages
  cat > "$OUT/kernels/$1.py" <<EOF
import sys
sys.path.insert(0, "$HERE")
from attn_kernel import make_attention, _attn_fwd  # noqa: F401  (_attn_fwd: for compile metadata)
attention = make_attention(BLOCK_M=$2, BLOCK_N=$3, num_warps=$4, num_stages=$5)
EOF
  echo "$OUT/kernels/$1.py"
}

export_csvs() { # tag
  local rep="$OUT/$1.ncu-rep"
  [ -f "$rep" ] || return 0
  "$NCU" --import "$rep" --csv --page raw --print-units base > "$OUT/$1.raw.csv" 2> "$OUT/$1.import.stderr"
  "$NCU" --import "$rep" --csv --page raw > "$OUT/$1.raw_auto.csv" 2>> "$OUT/$1.import.stderr"
  "$NCU" --import "$rep" --csv --page details > "$OUT/$1.details.csv" 2>> "$OUT/$1.import.stderr"
}

# profile TAG SHAPE PARAMS MODULE [extra ncu args...]: one ncu session; one retry without metrics ncu rejects.
profile() {
  local tag=$1 shape=$2 params=$3 module=$4; shift 4
  local metrics; metrics=$(cat "$OUT/metrics_used.txt")
  for attempt in 1 2; do
    echo "== $tag (attempt $attempt)"
    local t0; t0=$(date +%s%N)
    timeout "$LIMIT" "$NCU" --clock-control none --target-processes all --metrics "$metrics" "$@" \
      --export "$OUT/$tag" --force-overwrite \
      "$PY" "$DRIVER" --module "$module" --shape "$shape" --params "$params" --result "$OUT/$tag.driver.json" \
      > "$OUT/$tag.stdout" 2> "$OUT/$tag.stderr"
    local rc=$?
    echo "rc=$rc ms=$(( ($(date +%s%N) - t0) / 1000000 ))" | tee "$OUT/$tag.rc"
    local bad
    bad=$(cat "$OUT/$tag.stdout" "$OUT/$tag.stderr" | grep -E '==ERROR==' | grep -oE '[a-z0-9]+__[A-Za-z0-9_.]+' | sort -u)
    if [ -n "$bad" ] && [ "$attempt" = 1 ]; then
      echo "$bad" > "$OUT/$tag.rejected_metrics.txt"
      cp "$OUT/$tag.stdout" "$OUT/$tag.attempt1.stdout"; cp "$OUT/$tag.stderr" "$OUT/$tag.attempt1.stderr"
      for b in $bad; do metrics=$(echo ",$metrics," | sed "s/,${b}[^,]*,/,/g; s/^,//; s/,$//"); done
      echo "$metrics" | tr , '\n' | grep -q . || break
      continue
    fi
    break
  done
  export_csvs "$tag"
}

B4="4,16,16,4096,128"; CAP='{"cap": 30}'
GOOD=$(config_module good 128 64 8 3)
SPILL=$(config_module spill 128 128 4 2)
TINY=$(config_module tiny 16 16 1 1)

# 1. Representative launch: good config, softcap, first benchmark shape, NVTX-filtered.
profile good "$B4" "$CAP" "$GOOD" --nvtx --nvtx-include "$RANGE" --launch-count 4
# 2. Deliberately spilling config (128x128 tiles with 4 warps: the fp32 accumulators overflow 255 registers).
profile spill "$B4" "$CAP" "$SPILL" --nvtx --nvtx-include "$RANGE" --launch-count 4

if [ -z "${QUICK:-}" ]; then
  # 3. Tiny tiles, one warp: latency-bound, low tensor use.
  profile tiny "$B4" "$CAP" "$TINY" --nvtx --nvtx-include "$RANGE" --launch-count 4
  # 4. A grid far smaller than the GPU (16 blocks on 132 SMs): underutilised.
  profile smallgrid "1,2,2,1024,128" "$CAP" "$GOOD" --nvtx --nvtx-include "$RANGE" --launch-count 4
  # 5. The second benchmark shape (D=64), good config, no softcap.
  profile d64 "2,32,32,8192,64" '{}' "$GOOD" --nvtx --nvtx-include "$RANGE" --launch-count 4
  # 6. The other filter mode: kernel-name regex + launch-skip past the warm-up (3 warm-ups -> skip 3).
  profile good_skip "$B4" "$CAP" "$GOOD" --kernel-name regex:_attn_fwd --launch-skip 3 --launch-count 1
  # 7. Full sections on the good config: shows every metric name ncu itself uses on this chip.
  profile good_sections "$B4" "$CAP" "$GOOD" --nvtx --nvtx-include "$RANGE" --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section SchedulerStats
  # 8. The verifier's fixture kernels, when present, with their problem's params.
  for k in "$ROOT"/test/fixtures/kernels/good_*.py; do
    [ -f "$k" ] || continue
    p="$ROOT/problems/$(basename "$k" .py | sed 's/^good_//')/problem.json"
    params=$([ -f "$p" ] && "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["params"]))' "$p" || echo '{}')
    profile "fixture_$(basename "$k" .py)" "$B4" "$params" "$k" --nvtx --nvtx-include "$RANGE" --launch-count 4
  done
fi

# ncu's own failure texts, for the degraded-mode tests: nothing matched, and an unknown metric.
timeout 120 "$NCU" --clock-control none --nvtx --nvtx-include "no_such_range/" --metrics gpu__time_duration.sum \
  "$PY" "$DRIVER" --module "$GOOD" --shape "1,1,1,256,64" --result "$OUT/nomatch.driver.json" \
  > "$OUT/nomatch.stdout" 2> "$OUT/nomatch.stderr"; echo "rc=$?" > "$OUT/nomatch.rc"
timeout 120 "$NCU" --clock-control none --nvtx --nvtx-include "$RANGE" --metrics not_a__metric_kforge.sum \
  "$PY" "$DRIVER" --module "$GOOD" --shape "1,1,1,256,64" --result "$OUT/badmetric.driver.json" \
  > "$OUT/badmetric.stdout" 2> "$OUT/badmetric.stderr"; echo "rc=$?" > "$OUT/badmetric.rc"

# Large reports stay on the host unless asked for: the CSVs carry what the tests need.
[ -n "${KEEP_REPORTS:-}" ] || rm -f "$OUT"/*.ncu-rep
ls -la "$OUT" > "$OUT/listing.txt"
echo "done: $OUT"; grep -H . "$OUT"/*.rc
