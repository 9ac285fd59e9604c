#!/usr/bin/env bash
# The model path on the GPU (issue 7, item 4): a softcap search whose planner, coder, critic and profiler
# agents talk to the scripted OpenAI-compatible server (bench/model-path/script.json: real Triton kernels,
# some broken, some slow, some good), through the real verifier and profiler on this GPU. Everything runs
# from the portable bundle on loopback; no Node or network needed on the host.
#
#   bash bench/model-path/run.sh                       # 12 nodes, at most 5 minutes of search
#   NODES=8 BUDGET=3m bash bench/model-path/run.sh
#
# Settings (environment): NODES (12), BUDGET (5m, kforge's wall budget, after the baselines), PER_RUN_S
# (480: hard cap of the search, a clean SIGINT stop), NO_PROFILE=1 (skip Nsight Compute: saves ~20-60 s per
# profiled kernel; the trace then says the profiler was unavailable), OUT (./out-model-path), KFORGE_BUNDLE,
# KFORGE_PYTHON, ALLOW_NO_GPU=1 (a dry run on a CPU machine: every verification fails, the plumbing is exercised).
# Writes to OUT: model-path.tgz (the SQLite database, server and search logs, trace, runs, export, UI
# check), summary.txt and summary.json; prints the summary last.
set -uo pipefail
START=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/bench/model-path"
# shellcheck source=bench/_shared/common.sh
. "$ROOT/bench/_shared/common.sh"

OUT="${OUT:-$PWD/out-model-path}"
NODES="${NODES:-12}"
BUDGET="${BUDGET:-5m}"
PER_RUN_S="${PER_RUN_S:-480}"
mkdir -p "$OUT" || die "cannot create OUT=$OUT"
[ -f "$HERE/script.json" ] || die "no $HERE/script.json"

make_work
SERVER_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
use_bundle
use_python
log "machine: $(machine_line)"

# 1. the scripted model on loopback, from the bundle
"$B/kforge" --node scripted-server.mjs --script "$HERE/script.json" --models deepseek-r1-scripted --port "${PORT:-0}" --log "$WORK/requests.jsonl" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^scripted server listening on \(http[^ ]*\)$/\1/p' "$WORK/server.log" | head -1)
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "the scripted server exited: $(cat "$WORK/server.log")"
  sleep 0.2
done
[ -n "$URL" ] || die "the scripted server did not start within 20 s: $(cat "$WORK/server.log")"
"$PY" -c 'import json, sys, urllib.request; json.load(urllib.request.urlopen(sys.argv[1] + "/models", timeout=10))' "$URL" ||
  die "the scripted server at $URL does not answer GET /models"
log "scripted model server: $URL"

# 2. the search, through the real verifier and profiler
export KFORGE_PROVIDER=openai-compatible KFORGE_BASE_URL="$URL" KFORGE_MODEL=deepseek-r1-scripted KFORGE_API_KEY=scripted-key
unset DEEPSEEK_API_KEY KFORGE_ROLE_MODELS
if [ "${NO_PROFILE:-0}" = 1 ]; then export KFORGE_NCU="$WORK/no-ncu"; fi
log "search: softcap, at most $NODES nodes, budget $BUDGET, cap ${PER_RUN_S}s"
timeout -s INT -k 15 "$PER_RUN_S" "$B/kforge" search --problem softcap --budget "$BUDGET" --max-nodes "$NODES" --inflight 1 >"$WORK/search.log" 2>&1 &
tpid=$!
wait "$tpid"
rc=$?
kill -KILL -- "-$tpid" 2>/dev/null && log "ended processes the search left behind"
RUN=$(sed -n 's/^run \([^ ]*\)$/\1/p' "$WORK/search.log" | head -1)
log "search exited $rc after $(($(date +%s) - START))s; run ${RUN:-none}"
tail -n 25 "$WORK/search.log"
[ -n "$RUN" ] || {
  cp "$WORK/search.log" "$WORK/server.log" "$OUT/" 2>/dev/null
  die "the search started no run (exit $rc): see the log above (copied to OUT/search.log)"
}

# 3. what a user does next: the tree, the run list, the best kernel, the web page
"$B/kforge" trace "$RUN" >"$WORK/trace.txt" 2>&1 || log "kforge trace failed (see trace.txt)"
"$B/kforge" trace "$RUN" --json >"$WORK/trace.json" 2>/dev/null || true
"$B/kforge" runs --json >"$WORK/runs.json" 2>&1 || log "kforge runs failed (see runs.json)"
"$B/kforge" export "$RUN" --out "$WORK/best_kernel.py" --json >"$WORK/export.json" 2>&1 || log "kforge export: no correct kernel to export (see export.json)"
"$B/kforge" ui --port 0 >"$WORK/ui.log" 2>&1 &
UI_PID=$!
UI_URL=""
for _ in $(seq 1 50); do
  UI_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$WORK/ui.log" | head -1)
  [ -n "$UI_URL" ] && break
  sleep 0.2
done
"$PY" - "${UI_URL:-none}" "$RUN" >"$WORK/ui-check.txt" 2>&1 <<'EOF' || log "kforge ui check failed (see ui-check.txt)"
import json, sys, urllib.request
base, run = sys.argv[1], sys.argv[2]
if base == "none":
    sys.exit("kforge ui did not print its URL")
for path in ("", "app.js", "api/runs", f"api/runs/{run}/tree"):
    with urllib.request.urlopen(base + path, timeout=20) as r:
        body = r.read()
        print(f"GET /{path}: {r.status}, {len(body)} bytes")
tree = json.loads(body)
print("tree nodes:", len(tree.get("nodes", [])) if isinstance(tree, dict) else "?")
EOF
kill "$UI_PID" 2>/dev/null
log "ui: $(tr '\n' ';' <"$WORK/ui-check.txt")"

# 4. results: one archive and the summary (OUT gets at most 8 files back)
kill "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
snapshot_db "$WORK/kforge.sqlite" || log "warning: could not copy the database"
"$PY" "$HERE/summarize.py" --db "$WORK/kforge.sqlite" --run "$RUN" --requests "$WORK/requests.jsonl" --json "$OUT/summary.json" >"$OUT/summary.txt" 2>&1
sumrc=$?
files=()
for f in kforge.sqlite requests.jsonl server.log search.log trace.txt trace.json runs.json export.json best_kernel.py ui.log ui-check.txt; do
  [ -f "$WORK/$f" ] && files+=("$f")
done
tar -czf "$OUT/model-path.tgz" -C "$WORK" "${files[@]}" || log "warning: could not pack the logs"
log "done in $(($(date +%s) - START))s; OUT=$OUT: $(find "$OUT" -maxdepth 1 -type f -printf '%f ')"
echo
cat "$OUT/summary.txt"
exit "$sumrc"
