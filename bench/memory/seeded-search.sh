#!/usr/bin/env bash
# The memory of wins on the GPU (issue 5): offline searches of softcap and sliding_window remember their
# verified wins; then a variant that is not in the suite (softcap with a causal sliding window, written as
# FlexAttention mods) is searched from its mod files with that memory, and once more with an empty memory
# (the control). Writes the trace of the seeded run (which wins seeded which node), `kforge memory list`,
# and a comparison of the two runs (time to the first correct kernel, best speedup, nodes).
# Runs from the portable bundle (no Node, no network needed on the GPU host).
#
#   bash bench/memory/seeded-search.sh                          # ~6 minutes on one H100
#   PRIOR_BUDGET=30s NEW_BUDGET=45s bash bench/memory/seeded-search.sh
#
# Settings (environment): PRIOR_BUDGET (40s: each prior search, after its baselines), NEW_BUDGET (50s: the
# seeded run and the control), CAP_S (100: hard cap per search, baselines included), NO_CONTROL=1 (skip the
# empty-memory control), OUT (./out-memory), KFORGE_BUNDLE, KFORGE_PYTHON.
# Writes to OUT: summary.md, trace-seeded.txt, trace-seeded.json, memory-list.txt, memory-seeded.tgz (db, logs).
set -uo pipefail
START=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/_shared/common.sh
. "$ROOT/bench/_shared/common.sh"

OUT="${OUT:-$PWD/out-memory}"
PRIOR_BUDGET="${PRIOR_BUDGET:-40s}"
NEW_BUDGET="${NEW_BUDGET:-50s}"
CAP_S="${CAP_S:-100}"
mkdir -p "$OUT" || die "cannot create OUT=$OUT"

make_work
remove_work_on_exit
use_bundle
use_python
use_offline_policy
log "machine: $(machine_line)"
SEEDED_HOME="$KFORGE_HOME"

# search NAME ARGS...: one capped search (a clean SIGINT stop at the cap); prints the run id
search() {
  local name=$1
  shift
  local t0 rc run
  t0=$(date +%s)
  timeout -s INT -k 10 "$CAP_S" "$B/kforge" search "$@" --json >"$WORK/$name.summary.json" 2>"$WORK/$name.search.log"
  rc=$?
  run=$(sed -n 's/^run \([^ ]*\)$/\1/p' "$WORK/$name.search.log" | head -1)
  log "$name: run ${run:-none}, exit $rc, $(($(date +%s) - t0))s" >&2
  printf '%s' "$run"
}

log "prior searches: softcap and sliding_window ($PRIOR_BUDGET each)"
search softcap --problem softcap --budget "$PRIOR_BUDGET" >/dev/null
search sliding_window --problem sliding_window --budget "$PRIOR_BUDGET" >/dev/null
"$B/kforge" memory list >"$OUT/memory-list.txt" 2>&1 || log "warning: kforge memory list failed"
cat "$OUT/memory-list.txt"

# The new variant, as a user would write it: FlexAttention score_mod and mask_mod in one file.
cat >"$WORK/softcap_window.py" <<'EOF'
import torch

CAP = 30.0
WINDOW = 1024


def score_mod(score, b, h, q_idx, kv_idx):
    return CAP * torch.tanh(score / CAP)


def mask_mod(b, h, q_idx, kv_idx):
    return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)
EOF

log "seeded search of softcap_window ($NEW_BUDGET) with the memory above"
SEEDED=$(search seeded --score-mod "$WORK/softcap_window.py" --mask-mod "$WORK/softcap_window.py" --name softcap_window --budget "$NEW_BUDGET")
CONTROL=""
if [ "${NO_CONTROL:-0}" != 1 ]; then
  log "control: the same variant with an empty memory"
  export KFORGE_HOME="$WORK/control-home" KFORGE_DB="$WORK/control-home/kforge.sqlite"
  mkdir -p "$KFORGE_HOME"
  CONTROL=$(search control --score-mod "$WORK/softcap_window.py" --mask-mod "$WORK/softcap_window.py" --name softcap_window --budget "$NEW_BUDGET")
  export KFORGE_HOME="$SEEDED_HOME" KFORGE_DB="$SEEDED_HOME/kforge.sqlite"
fi

if [ -n "$SEEDED" ]; then
  "$B/kforge" trace "$SEEDED" >"$OUT/trace-seeded.txt" 2>&1
  "$B/kforge" trace "$SEEDED" --json >"$OUT/trace-seeded.json" 2>&1
  # the first node that started from a prior win, in full
  node=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d.get("seeds") or []; n={x["id"]:x["label"] for x in d["nodes"]}; print(n.get(s[0]["nodeId"], "") if s else "")' "$OUT/trace-seeded.json" 2>/dev/null)
  [ -n "$node" ] && "$B/kforge" trace "$SEEDED" --node "$node" >"$WORK/seeded-node.txt" 2>&1
fi

snapshot_db "$WORK/kforge.sqlite" || log "warning: could not copy the database"
[ -f "$WORK/control-home/kforge.sqlite" ] && "$PY" - "$WORK/control-home/kforge.sqlite" "$WORK/control.sqlite" <<'EOF'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2]); src.backup(dst); dst.close(); src.close()
EOF
"$PY" "$ROOT/bench/memory/compare.py" --seeded-db "$WORK/kforge.sqlite" --seeded-run "$SEEDED" \
  ${CONTROL:+--control-db "$WORK/control.sqlite" --control-run "$CONTROL"} \
  --machine "$(machine_line)" --command "${BENCH_COMMAND:-bash bench/memory/seeded-search.sh} (PRIOR_BUDGET=$PRIOR_BUDGET NEW_BUDGET=$NEW_BUDGET CAP_S=$CAP_S)" \
  >"$OUT/summary.md"
rc=$?
files=()
for f in kforge.sqlite control.sqlite seeded-node.txt softcap_window.py; do [ -f "$WORK/$f" ] && files+=("$f"); done
for f in "$WORK"/*.search.log "$WORK"/*.summary.json; do [ -f "$f" ] && files+=("$(basename "$f")"); done
tar -czf "$OUT/memory-seeded.tgz" -C "$WORK" "${files[@]}" || log "warning: could not pack the logs"
log "done in $(($(date +%s) - START))s"
cat "$OUT/summary.md"
exit $rc
