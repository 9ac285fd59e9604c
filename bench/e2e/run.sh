#!/usr/bin/env bash
# The end-to-end benchmark (issue 7, item 3): for every problem of the suite, an offline-policy search of
# fixed budget on this GPU, then the best kernel's TFLOP/s, its speedup over FlexAttention (and over SDPA's
# cuDNN backend for full and causal), the time to the first correct kernel and the nodes explored.
# Runs from the portable bundle (no Node, no network needed on the GPU host).
#
#   bash bench/e2e/run.sh                      # all 12 problems, fits in < 9.5 minutes on one H100
#   HALF=1 bash bench/e2e/run.sh               # the first 6 problems (HALF=2: the other 6), twice the time each
#   PART=2/4 BUDGET=140s PER_PROBLEM_S=182 bash bench/e2e/run.sh   # problems 4-6 of 12, three minutes each
#   PROBLEMS="softcap full" BUDGET=2m PER_PROBLEM_S=180 bash bench/e2e/run.sh
#
# Settings (environment):
#   PROBLEMS       space-separated problem names (default: the whole suite, softcap, full and causal first)
#   HALF           1 or 2: only the first or second half of PROBLEMS (the same as PART=1/2 or PART=2/2)
#   PART           k/n: only the k-th of n consecutive parts of PROBLEMS (the last parts may be one shorter)
#   BUDGET         kforge's wall-time budget per search (default 30s; 70s with HALF); it starts after the
#                  baselines are measured (the time to the first correct kernel counts from the command's start)
#   PER_PROBLEM_S  hard cap per problem, baselines included (default 46; 92 with HALF): the search is
#                  interrupted (SIGINT, a clean stop) at this point and what it found is still counted
#   TOTAL_S        the whole script's deadline (default 565): later problems get what is left, or are skipped
#   OUT            where results go (default ./out-e2e): results.json, results.md, e2e-logs.tgz
#   KFORGE_BUNDLE  the bundle (default dist/kforge-bundle); KFORGE_PYTHON the verifier's Python (python3)
#   ALLOW_NO_GPU=1 a dry run without a GPU (every verification fails; checks the plumbing)
set -uo pipefail
START=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/_shared/common.sh
. "$ROOT/bench/_shared/common.sh"

OUT="${OUT:-$PWD/out-e2e}"
mkdir -p "$OUT" || die "cannot create OUT=$OUT"
HALF="${HALF:-}"
case "$HALF" in "" | 1 | 2) ;; *) die "HALF must be 1 or 2 (got '$HALF')" ;; esac
PART="${PART:-${HALF:+$HALF/2}}"
if [ -n "$PART" ]; then
  [[ "$PART" =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] ||
    die "PART must be k/n with 1 <= k <= n (got '$PART')"
  PART_K=${BASH_REMATCH[1]} PART_N=${BASH_REMATCH[2]}
fi
if [ -n "$PART" ]; then
  BUDGET="${BUDGET:-70s}" PER_PROBLEM_S="${PER_PROBLEM_S:-92}"
else
  BUDGET="${BUDGET:-30s}" PER_PROBLEM_S="${PER_PROBLEM_S:-46}"
fi
TOTAL_S="${TOTAL_S:-565}"
MIN_PROBLEM_S=20 # below this a search cannot even measure its baselines: skip instead
PART_ENV=""
[ -n "$PART" ] && PART_ENV="${HALF:+HALF=$HALF }"
[ -n "$PART" ] && [ -z "$HALF" ] && PART_ENV="PART=$PART "
COMMAND="${BENCH_COMMAND:-${PART_ENV}BUDGET=$BUDGET PER_PROBLEM_S=$PER_PROBLEM_S bash bench/e2e/run.sh}"

make_work
remove_work_on_exit
use_bundle
use_python
use_offline_policy

if [ -z "${PROBLEMS:-}" ]; then
  suite=$("$B/kforge" problems --json | "$PY" -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))') ||
    die "could not list the problem suite from the bundle"
  first="softcap full causal"
  PROBLEMS="$first"
  for p in $suite; do case " $first " in *" $p "*) ;; *) PROBLEMS="$PROBLEMS $p" ;; esac; done
fi
read -r -a LIST <<<"$PROBLEMS"
if [ -n "$PART" ]; then
  # part k of n: the first (len % n) parts take one problem more (halves of 12: 6 + 6; of 11: 6 + 5)
  total=${#LIST[@]} size=$((${#LIST[@]} / PART_N)) extra=$((${#LIST[@]} % PART_N))
  from=$(((PART_K - 1) * size + (PART_K - 1 < extra ? PART_K - 1 : extra)))
  count=$((size + (PART_K - 1 < extra ? 1 : 0)))
  LIST=("${LIST[@]:from:count}")
  log "part $PART of $total problems"
fi
PART_LABEL="part $PART"
[ -n "$HALF" ] && PART_LABEL="half $HALF"
[ "${#LIST[@]}" -gt 0 ] || die "no problems to run"
log "machine: $(machine_line)"
log "problems (${#LIST[@]}): ${LIST[*]}; budget $BUDGET per search, hard cap ${PER_PROBLEM_S}s per problem, deadline ${TOTAL_S}s"

RUNS="$WORK/runs.tsv"
: >"$RUNS"
for p in "${LIST[@]}"; do
  left=$((TOTAL_S - ($(date +%s) - START) - 15)) # 15 s kept for the aggregation and the copy to OUT
  cap=$PER_PROBLEM_S
  [ "$left" -lt "$cap" ] && cap=$left
  if [ "$cap" -lt "$MIN_PROBLEM_S" ]; then
    log "$p: skipped (only ${left}s left of the ${TOTAL_S}s deadline)"
    printf '%s\t\t\t0\tskipped: out of time\n' "$(basename "$p")" >>"$RUNS"
    continue
  fi
  f=$(basename "$p") # a problem may be given as a folder
  log "$p: searching (budget $BUDGET, cap ${cap}s)"
  t0=$(date +%s)
  # timeout leads its own process group: whatever the search leaves behind (a verifier worker) is ended with it
  timeout -s INT -k 10 "$cap" "$B/kforge" search --problem "$p" --budget "$BUDGET" --json \
    >"$WORK/$f.summary.json" 2>"$WORK/$f.search.log" &
  tpid=$!
  wait "$tpid"
  rc=$?
  kill -KILL -- "-$tpid" 2>/dev/null && log "$p: ended processes the search left behind"
  wall=$(($(date +%s) - t0))
  run=$(sed -n 's/^run \([^ ]*\)$/\1/p' "$WORK/$f.search.log" | head -1)
  note=""
  [ "$rc" = 124 ] || [ "$rc" = 130 ] && note="stopped at the ${cap}s cap"
  [ "$rc" = 137 ] && note="killed after the ${cap}s cap"
  err=$(sed -n 's/^ *"message": "\(.*\)",\{0,1\}$/\1/p' "$WORK/$f.summary.json" | head -1)
  [ -n "$err" ] && note="error: $err"
  [ -z "$run" ] && note="no run started: $(grep -m1 -i 'error' "$WORK/$f.search.log" | cut -c1-200)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$f" "$run" "$rc" "$wall" "$note" >>"$RUNS"
  log "$p: run ${run:-none}, exit $rc, ${wall}s${note:+ ($note)}: $(tail -c 300 "$WORK/$f.summary.json" | tr -d '\n' | grep -o '"bestSpeedup": *[^,]*' || echo 'no summary')"
done

snapshot_db "$WORK/kforge.sqlite" || log "warning: could not copy the database"
"$PY" "$ROOT/bench/e2e/aggregate.py" collect --db "$WORK/kforge.sqlite" --runs "$RUNS" --out "$OUT" \
  --machine "$(machine_line)" --command "$COMMAND" --budget "$BUDGET" --cap "$PER_PROBLEM_S" \
  --python "$PY" ${PART:+--part "$PART_LABEL of ${PROBLEMS// /,}"}
agg=$?
logs=(runs.tsv)
[ -f "$WORK/kforge.sqlite" ] && logs+=(kforge.sqlite)
for f in "$WORK"/*.search.log "$WORK"/*.summary.json; do [ -f "$f" ] && logs+=("$(basename "$f")"); done
tar -czf "$OUT/e2e-logs.tgz" -C "$WORK" "${logs[@]}" || log "warning: could not pack the logs"
log "done in $(($(date +%s) - START))s; OUT=$OUT: $(find "$OUT" -maxdepth 1 -type f -printf '%f ')"
[ -f "$OUT/results.md" ] && cat "$OUT/results.md"
exit $agg
