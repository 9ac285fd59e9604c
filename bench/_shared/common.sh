# shellcheck shell=bash
# Shared by bench/*/run.sh on a GPU host with no Node and no network: find and start the portable
# bundle, check the GPU and the Python that runs the verifier, and say clearly what is missing.
# Sourced with ROOT (the repository root) set; sets B (bundle dir), PY (python), WORK (scratch dir).

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# The bundle: $KFORGE_BUNDLE, else dist/kforge-bundle in the checkout (built by `npm run bundle`).
use_bundle() {
  B="${KFORGE_BUNDLE:-$ROOT/dist/kforge-bundle}"
  if [ ! -x "$B/kforge" ] || [ ! -f "$B/kforge.mjs" ]; then
    die "no kforge bundle at $B. Build it where Node is installed: \`npm run bundle\` (writes dist/kforge-bundle),
       then bring the folder along (device run: carry [\"dist/kforge-bundle\"]) or point KFORGE_BUNDLE at it."
  fi
  if [ -L "$B/node" ] && [ ! -e "$B/node" ]; then
    die "$B/node links to a Node that is not on this machine: the bundle was built with --link-node (tests only); rebuild with \`npm run bundle\`"
  fi
  [ -f "$B/scripted-server.mjs" ] || die "$B has no scripted-server.mjs: rebuild it with \`npm run bundle\`"
  local err
  if ! err=$("$B/kforge" --version 2>&1); then
    die "the bundle's launcher failed: $err"
  fi
  log "bundle: $B ($err, node $("$B/kforge" --node --version 2>/dev/null || echo '?'))"
}

# The verifier's Python: must import torch and triton and see a CUDA GPU (ALLOW_NO_GPU=1: a CPU dry run).
use_python() {
  PY="${KFORGE_PYTHON:-python3}"
  export KFORGE_PYTHON="$PY"
  command -v "$PY" >/dev/null 2>&1 || die "no Python at '$PY' (set KFORGE_PYTHON to the interpreter that has torch and triton)"
  local probe
  probe=$("$PY" - <<'EOF' 2>&1
import torch
try:
    import triton
    tv = triton.__version__
except Exception as exc:  # noqa: BLE001
    tv = f"missing ({type(exc).__name__})"
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"torch {torch.__version__}, triton {tv}, gpu {gpu}")
EOF
  ) || die "'$PY' cannot import torch: $probe"
  log "python: $PY: $probe"
  case "$probe" in
    *"gpu none"* | *"triton missing"*)
      if [ "${ALLOW_NO_GPU:-0}" = 1 ]; then
        log "no usable GPU/Triton: ALLOW_NO_GPU=1, so this is a dry run (every GPU verification will fail)"
      else
        die "this benchmark needs a CUDA GPU and Triton ($probe). For a dry run on a CPU machine set ALLOW_NO_GPU=1."
      fi
      ;;
  esac
}

# One line describing the machine, for results: GPU, driver, CPU count.
machine_line() {
  local gpu
  if command -v nvidia-smi >/dev/null 2>&1; then
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
    printf '%s (driver %s, %s), %s CPUs' "$(echo "$gpu" | cut -d, -f1)" "$(echo "$gpu" | cut -d, -f2 | xargs)" "$(echo "$gpu" | cut -d, -f3 | xargs)" "$(nproc)"
  else
    printf 'no NVIDIA GPU (nvidia-smi absent), %s CPUs' "$(nproc)"
  fi
}

# A private scratch dir and kforge home, so runs never touch ~/.kforge; removed on exit unless KEEP_WORK=1.
make_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/kforge-bench.XXXXXX")
  export KFORGE_HOME="$WORK/home" KFORGE_DB="$WORK/home/kforge.sqlite"
  mkdir -p "$KFORGE_HOME"
}

# The scratch dir goes when the script exits (KEEP_WORK=1 keeps it); for scripts with no cleanup of their own.
remove_work_on_exit() {
  # shellcheck disable=SC2064  # WORK is fixed by now
  trap 'if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi' EXIT
}

# The offline policy, whatever model settings the caller's environment holds.
use_offline_policy() {
  export KFORGE_PROVIDER=offline
  unset KFORGE_BASE_URL KFORGE_MODEL KFORGE_API_KEY DEEPSEEK_API_KEY KFORGE_ROLE_MODELS
}

# Copies the SQLite database (WAL folded in) to $1, safely while nothing writes it.
snapshot_db() {
  "$PY" - "$KFORGE_DB" "$1" <<'EOF'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()
src.close()
EOF
}
