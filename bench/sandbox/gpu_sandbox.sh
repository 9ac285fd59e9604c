#!/usr/bin/env bash
# The OS sandbox on a GPU host without Node, in one device call: which layers hold (observed from inside), the
# escape suite with CUDA kernels (bench/sandbox/escape_gpu.py), Nsight Compute inside the sandbox, verification
# time with and without the sandbox in the same run, and the verifier's GPU self-test through it.
#   OUT=/tmp/out bash bench/sandbox/gpu_sandbox.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$(mktemp -d)}
RAW=$OUT/raw
mkdir -p "$RAW"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; command -v python3
  python3 -c "import sys,torch,triton;print(sys.version.split()[0],torch.__version__,triton.__version__,torch.__file__)"
  grep -i profil /proc/driver/nvidia/params; echo "uid $(id -u)"; uname -r; ls /dev/nvidia*; } > "$RAW/host.txt" 2>&1
cat "$RAW/host.txt"
python3 -I tools/sandbox/launch.py --probe | tee "$OUT/probe.json"
echo "== escape suite (static rules off)"
DEEPSEEK_API_KEY="sk-escape-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" timeout 300 python3 bench/sandbox/escape_gpu.py --out "$OUT" 2>&1 | tee "$RAW/escape.log"
echo "== ncu inside the sandbox"
OUT=$RAW/ncu timeout 120 python3 bench/profiler/gpu_profile_fixtures.py --kernels test/fixtures/kernels/good_softcap.py 2>&1 | tail -5
echo "== verification time, sandbox off then on (same run)"
KFORGE_UNSAFE_NO_SANDBOX=1 timeout 150 python3 bench/verify-time/run.py --problems softcap --reps 3 --out "$RAW/vt_off" 2>&1 | tail -4
timeout 150 python3 bench/verify-time/run.py --problems softcap --reps 3 --out "$RAW/vt_on" 2>&1 | tail -4
cp "$RAW/vt_off/verify-time.md" "$OUT/verify-time-unsandboxed.md"; cp "$RAW/vt_on/verify-time.md" "$OUT/verify-time-sandboxed.md"
LEFT=$(( ${SELFTEST_BUDGET_S:-560} - ($(date +%s) - T0) ))
echo "== GPU self-test through the sandbox (deadline ${LEFT}s)"
timeout $((LEFT + 60)) python3 tools/verifier/harness/gpu_selftest.py --out "$RAW/selftest" --parts "${SELFTEST_PARTS:-baselines,fixtures,hang}" --deadline "$LEFT" 2>&1 | tail -3
cp "$RAW/selftest/gpu_selftest.txt" "$OUT/" 2>/dev/null
tar czf "$OUT/sandbox-raw.tgz" -C "$OUT" raw && rm -rf "$RAW"
