#!/usr/bin/env bash
# The attention-gym acceptance benchmark (issue 13): for every variant file in bench/variants/, an
# offline-policy `kforge search` of fixed budget on this GPU, from the portable bundle (no Node, no network on
# the GPU host); then, per variant, accepted, correct, the best kernel's TFLOP/s, its speedup over
# FlexAttention, nodes and the time to the first correct kernel (results.json, results.md).
#
#   PART=1/6 BUDGET=55s PER_VARIANT_S=90 bash bench/variants/run.sh    # variants 1-6 of 32, < 10 minutes
#   VARIANTS="natten softcap" BUDGET=2m PER_VARIANT_S=180 bash bench/variants/run.sh
#   python3 bench/variants/aggregate.py merge out-1/results.json out-2/results.json ... --out out-all
#
# Settings (environment):
#   VARIANTS       space-separated variant names (default: every variant file here, see variant_list)
#   PART           k/n: only the k-th of n consecutive parts of VARIANTS (the first len % n parts one longer)
#   BUDGET         kforge's wall-time budget per search (default 55s); it starts after the baselines
#   PER_VARIANT_S  hard cap per variant, baselines included (default 90): then SIGINT, a clean stop whose
#                  findings still count
#   TOTAL_S        the whole script's deadline (default 565): later variants get what is left, or are skipped
#   FLEX_JSON      flex_check.json files, space-separated (python3 bench/variants/flex_check.py): add
#                  "FlexAttention runs" (and why not) to the table
#   OUT            where results go (default ./out-variants): results.json, results.md, variants-logs.tgz
#   KFORGE_BUNDLE  the bundle (default dist/kforge-bundle); KFORGE_PYTHON the verifier's Python (python3)
#   ALLOW_NO_GPU=1 a dry run without a GPU (every verification fails; checks the plumbing)
set -uo pipefail
START=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/bench/variants"
# shellcheck source=bench/_shared/common.sh
. "$ROOT/bench/_shared/common.sh"

OUT="${OUT:-$PWD/out-variants}"
mkdir -p "$OUT" || die "cannot create OUT=$OUT"
PART="${PART:-}"
if [ -n "$PART" ]; then
  [[ "$PART" =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ] ||
    die "PART must be k/n with 1 <= k <= n (got '$PART')"
  PART_K=${BASH_REMATCH[1]} PART_N=${BASH_REMATCH[2]}
fi
BUDGET="${BUDGET:-55s}" PER_VARIANT_S="${PER_VARIANT_S:-90}" TOTAL_S="${TOTAL_S:-565}"
MIN_VARIANT_S=25 # below this a search cannot even inspect the file and measure its baselines: skip instead
COMMAND="${BENCH_COMMAND:-${PART:+PART=$PART }BUDGET=$BUDGET PER_VARIANT_S=$PER_VARIANT_S bash bench/variants/run.sh}"

# The variant files: every .py here but the tools, as flex_check.py lists them (one list of the tools).
variant_list() {
  "$PY" - "$HERE" <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[1])
import flex_check
print(" ".join(os.path.basename(p)[:-3] for p in flex_check.variant_paths()))
EOF
}

# The benchmark shapes a variant file states (KFORGE["shapes"], read from its source: nothing is imported),
# as the CLI writes them: BxHxSxD, with :Skv after S for cross-attention (BxHxS:SkvxD) and /Hkv after H.
kforge_shapes() {
  "$PY" - "$1" <<'EOF'
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
spec = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "KFORGE" for t in n.targets))
def one(s):
    h = f"{s['H']}/{s['Hkv']}" if s.get("Hkv", s["H"]) != s["H"] else f"{s['H']}"
    q = f"{s['S']}:{s['Skv']}" if s.get("Skv", s["S"]) != s["S"] else f"{s['S']}"
    return f"{s['B']}x{h}x{q}x{s['D']}"
print(",".join(one(s) for s in spec["shapes"]))
EOF
}

# THE ONE PLACE that says how `kforge search` is told about a variant file: `--variant FILE` where the
# bundle's search has it (issue 13's front end), else the older `--score-mod FILE --mask-mod FILE`; the
# shapes with --shapes where the search takes them. Prints one argument per line.
search_args() {
  local file=$1 name=$2
  if grep -q -- '--variant' <<<"$SEARCH_HELP"; then
    printf '%s\n' --variant "$file" --name "$name"
  else
    printf '%s\n' --score-mod "$file" --mask-mod "$file" --name "$name"
  fi
  if grep -q -- '--shapes' <<<"$SEARCH_HELP"; then
    printf '%s\n' --shapes "$(kforge_shapes "$file")"
  fi
}

make_work
remove_work_on_exit
use_bundle
use_python
use_offline_policy
SEARCH_HELP=$("$B/kforge" search --help 2>&1) || die "the bundle's kforge search --help failed: $SEARCH_HELP"

read -r -a LIST <<<"${VARIANTS:-$(variant_list)}"
for v in "${LIST[@]}"; do [ -f "$HERE/$v.py" ] || die "no variant file $HERE/$v.py"; done
if [ -n "$PART" ]; then
  total=${#LIST[@]} size=$((${#LIST[@]} / PART_N)) extra=$((${#LIST[@]} % PART_N))
  from=$(((PART_K - 1) * size + (PART_K - 1 < extra ? PART_K - 1 : extra)))
  count=$((size + (PART_K - 1 < extra ? 1 : 0)))
  LIST=("${LIST[@]:from:count}")
  log "part $PART of $total variants"
fi
[ "${#LIST[@]}" -gt 0 ] || die "no variants to run"
need=$((${#LIST[@]} * PER_VARIANT_S + 15))
[ "$need" -gt "$TOTAL_S" ] && log "note: ${#LIST[@]} variants x ${PER_VARIANT_S}s need ${need}s, more than TOTAL_S=${TOTAL_S}s: the last ones will be skipped; split the list, e.g. PART=k/$(((need + TOTAL_S - 1) / TOTAL_S)) for k = 1, 2, ..."
log "machine: $(machine_line)"
log "variants (${#LIST[@]}): ${LIST[*]}; budget $BUDGET per search, hard cap ${PER_VARIANT_S}s per variant, deadline ${TOTAL_S}s"
log "search flags: $(search_args "$HERE/${LIST[0]}.py" "gym_${LIST[0]}" | tr '\n' ' ')"

RUNS="$WORK/runs.tsv"
: >"$RUNS"
for v in "${LIST[@]}"; do
  left=$((TOTAL_S - ($(date +%s) - START) - 15)) # 15 s kept for the aggregation and the copy to OUT
  cap=$PER_VARIANT_S
  [ "$left" -lt "$cap" ] && cap=$left
  if [ "$cap" -lt "$MIN_VARIANT_S" ]; then
    log "$v: skipped (only ${left}s left of the ${TOTAL_S}s deadline)"
    printf '%s\t\t\t0\tskipped: out of time\n' "$v" >>"$RUNS"
    continue
  fi
  mapfile -t args < <(search_args "$HERE/$v.py" "gym_$v") # gym_: several share a name with suite problems
  log "$v: searching (budget $BUDGET, cap ${cap}s): kforge search ${args[*]}"
  t0=$(date +%s)
  # timeout leads its own process group: whatever the search leaves behind (a verifier worker) ends with it
  timeout -s INT -k 10 "$cap" "$B/kforge" search "${args[@]}" --budget "$BUDGET" --json \
    >"$WORK/$v.summary.json" 2>"$WORK/$v.search.log" &
  tpid=$!
  wait "$tpid"
  rc=$?
  kill -KILL -- "-$tpid" 2>/dev/null && log "$v: ended processes the search left behind"
  wall=$(($(date +%s) - t0))
  run=$(sed -n 's/^run \([^ ]*\)$/\1/p' "$WORK/$v.search.log" | head -1)
  note=""
  [ "$rc" = 124 ] || [ "$rc" = 130 ] && note="stopped at the ${cap}s cap"
  [ "$rc" = 137 ] && note="killed after the ${cap}s cap"
  err=$(sed -n 's/^ *"message": "\(.*\)",\{0,1\}$/\1/p' "$WORK/$v.summary.json" | head -1)
  [ -n "$err" ] && note="error: $err"
  [ -z "$run" ] && note="not accepted: $(grep -m1 -i 'error' "$WORK/$v.search.log" | tr '\t' ' ' | cut -c1-300)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$v" "$run" "$rc" "$wall" "$note" >>"$RUNS"
  log "$v: run ${run:-none}, exit $rc, ${wall}s${note:+ ($note)}"
done

snapshot_db "$WORK/kforge.sqlite" || log "warning: could not copy the database"
"$PY" "$HERE/aggregate.py" collect --db "$WORK/kforge.sqlite" --runs "$RUNS" --out "$OUT" \
  --machine "$(machine_line)" --command "$COMMAND" --budget "$BUDGET" --cap "$PER_VARIANT_S" \
  --python "$PY" ${PART:+--part "part $PART of the variants"} $(for f in ${FLEX_JSON:-}; do printf ' --flex %s' "$f"; done)
agg=$?
logs=(runs.tsv)
[ -f "$WORK/kforge.sqlite" ] && logs+=(kforge.sqlite)
for f in "$WORK"/*.search.log "$WORK"/*.summary.json; do [ -f "$f" ] && logs+=("$(basename "$f")"); done
tar -czf "$OUT/variants-logs.tgz" -C "$WORK" "${logs[@]}" || log "warning: could not pack the logs"
log "done in $(($(date +%s) - START))s; OUT=$OUT: $(find "$OUT" -maxdepth 1 -type f -printf '%f ')"
[ -f "$OUT/results.md" ] && cat "$OUT/results.md"
exit $agg
