#!/usr/bin/env bash
# Remote workers on one host (issue 16's acceptance on the GPU): a Redis on this host (the bundle's redis/, built
# with `npm run bundle -- --with-redis`, else redis-server on PATH), one `kforge worker` serving this machine's GPUs
# from it, and one offline-policy `kforge search` that verifies only through the queue (KFORGE_QUEUE_LOCAL=0). Then
# `kforge doctor` on the queue, and from the search's database: every kernel verified exactly once, each by the
# worker, against baselines timed on the worker's GPU model (results.json, results.md).
#
#   bash bench/worker/run.sh                                   # softcap, a 90 s search, on this host's GPU
#   PROBLEM=cpu_tiny MODEL_SCRIPT=bench/worker/cpu_tiny.script.json MAX_NODES=4 ALLOW_NO_GPU=1 bash bench/worker/run.sh
#                                                              # the same plumbing on any machine (the CPU test problem)
#
# Settings (environment):
#   PROBLEM        the problem searched (default softcap)
#   BUDGET         kforge's wall-time budget for the search (default 90s)
#   CAP_S          hard cap on the search, baselines included (default 300): then SIGINT, a clean stop
#   MAX_NODES      the search's --max-nodes (default: none, the budget ends it)
#   MODEL_SCRIPT   a scripted-server script (tools/scripted-server/README.md): the agents' model is the bundled
#                  scripted server answering from it, instead of the offline policy (which needs Triton)
#   REDIS_SERVER   the redis-server to start (default: the bundle's redis/redis-server, else redis-server on PATH)
#   OUT            where results go (default ./out-worker): results.json, results.md, worker-logs.tgz
#   KFORGE_BUNDLE  the bundle (default dist/kforge-bundle); KFORGE_PYTHON the verifier's Python (python3)
#   ALLOW_NO_GPU=1 no GPU here (a CPU problem verifies on the CPU lane; a CUDA one fails every verification)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/bench/worker"
# shellcheck source=bench/_shared/common.sh
. "$ROOT/bench/_shared/common.sh"

OUT="${OUT:-$PWD/out-worker}"
mkdir -p "$OUT" || die "cannot create OUT=$OUT"
PROBLEM="${PROBLEM:-softcap}" BUDGET="${BUDGET:-90s}" CAP_S="${CAP_S:-300}" MAX_NODES="${MAX_NODES:-}"
MODEL_SCRIPT="${MODEL_SCRIPT:-}"
[ -z "$MODEL_SCRIPT" ] || MODEL_SCRIPT=$(cd "$(dirname "$MODEL_SCRIPT")" && pwd)/$(basename "$MODEL_SCRIPT")
COMMAND="${BENCH_COMMAND:-PROBLEM=$PROBLEM BUDGET=$BUDGET${MAX_NODES:+ MAX_NODES=$MAX_NODES}${MODEL_SCRIPT:+ MODEL_SCRIPT=...} bash bench/worker/run.sh}"
WORKER_ID="${WORKER_ID:-$(hostname -s 2>/dev/null || echo host)-w1}"

make_work
use_bundle
use_python
use_offline_policy
# a test problem of the bundle (cpu_tiny) by its folder; the suite's and the user's by name
PROBLEM_ARG=$PROBLEM
[ -d "$B/test/fixtures/problems/$PROBLEM" ] && PROBLEM_ARG="$B/test/fixtures/problems/$PROBLEM"

REDIS="${REDIS_SERVER:-}"
if [ -n "$REDIS" ]; then
  [ -x "$REDIS" ] || die "REDIS_SERVER=$REDIS: no such executable"
elif [ -x "$B/redis/redis-server" ]; then
  REDIS="$B/redis/redis-server"
else
  REDIS=$(command -v redis-server || true)
  [ -n "$REDIS" ] || die "no redis-server: build the bundle with \`npm run bundle -- --with-redis\` (packs this machine's Redis and its libraries), or set REDIS_SERVER"
fi
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PASS=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
QUEUE="redis://:$PASS@127.0.0.1:$PORT"

# One Redis command over bash's /dev/tcp (the host has no redis-cli): AUTH, then the command; prints the reply line.
redis_cmd() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'AUTH %s\r\n%s\r\n' "$PASS" "$1" >&3
  IFS= read -r -t 5 reply <&3 && IFS= read -r -t 5 reply <&3
  exec 3<&- 3>&-
  printf '%s\n' "${reply%$'\r'}"
}

WORKER_PID="" REDIS_PID="" MODEL_PID=""
cleanup() {
  [ -n "$WORKER_PID" ] && kill -TERM "$WORKER_PID" 2>/dev/null
  [ -n "$MODEL_PID" ] && kill -TERM "$MODEL_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null
  wait 2>/dev/null
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

mkdir -p "$WORK/redis"
log "machine: $(machine_line)"
log "redis: $REDIS on 127.0.0.1:$PORT (password, append-only file in $WORK/redis)"
# the configuration on stdin (`redis-server -`), so the password is in no process's command line
printf 'port %s\nbind 127.0.0.1\nrequirepass %s\nappendonly yes\nsave ""\ndir %s\n' "$PORT" "$PASS" "$WORK/redis" |
  "$REDIS" - >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do
  [ "$(redis_cmd PING 2>/dev/null)" = "+PONG" ] && break
  kill -0 "$REDIS_PID" 2>/dev/null || break # it exited: no use waiting
  sleep 0.2
done
[ "$(redis_cmd PING 2>/dev/null)" = "+PONG" ] || die "Redis did not answer on port $PORT: $(tail -5 "$WORK/redis.log")"
log "redis: $(grep -m1 -o 'Redis version=[^,]*' "$WORK/redis.log")"

# The worker has a home of its own: it shares nothing with the search but the queue.
log "worker $WORKER_ID: kforge worker --queue redis://:***@127.0.0.1:$PORT"
KFORGE_HOME="$WORK/worker-home" KFORGE_DB="$WORK/worker-home/kforge.sqlite" \
  "$B/kforge" worker --queue "$QUEUE" --id "$WORKER_ID" >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
for _ in $(seq 150); do [ "$(redis_cmd "EXISTS kforge:worker:$WORKER_ID")" = ":1" ] && break; sleep 0.2; done
[ "$(redis_cmd "EXISTS kforge:worker:$WORKER_ID")" = ":1" ] || die "the worker sent no heartbeat in 30 s: $(tail -20 "$WORK/worker.log")"
log "worker: heartbeat seen"

KFORGE_QUEUE="$QUEUE" "$B/kforge" doctor --json >"$WORK/doctor.json" 2>"$WORK/doctor.log"
log "doctor: exit $? ($(grep -c '"worker ' "$WORK/doctor.json" 2>/dev/null || echo 0) worker line(s))"

if [ -n "$MODEL_SCRIPT" ]; then
  [ -f "$MODEL_SCRIPT" ] || die "MODEL_SCRIPT=$MODEL_SCRIPT: no such file"
  "$B/kforge" --node scripted-server.mjs --script "$MODEL_SCRIPT" --models scripted --port 0 >"$WORK/model.log" 2>&1 &
  MODEL_PID=$!
  for _ in $(seq 100); do grep -q 'listening on ' "$WORK/model.log" && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$WORK/model.log" | head -1)
  [ -n "$url" ] || die "the scripted server did not start: $(tail -5 "$WORK/model.log")"
  export KFORGE_PROVIDER=openai-compatible KFORGE_BASE_URL="$url" KFORGE_MODEL=scripted
  log "model: the bundled scripted server at $url, answering from $MODEL_SCRIPT"
fi

log "search: kforge search --problem $PROBLEM --budget $BUDGET, verifying only through the queue (cap ${CAP_S}s)"
t0=$(date +%s)
KFORGE_QUEUE="$QUEUE" KFORGE_QUEUE_LOCAL=0 timeout -s INT -k 10 "$CAP_S" "$B/kforge" search --problem "$PROBLEM_ARG" \
  --budget "$BUDGET" ${MAX_NODES:+--max-nodes "$MAX_NODES"} --json >"$WORK/search.json" 2>"$WORK/search.log"
rc=$?
wall=$(($(date +%s) - t0))
log "search: exit $rc after ${wall}s"

kill -TERM "$WORKER_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$WORKER_PID" 2>/dev/null; then
  worker_stop="still running 20 s after SIGTERM"
  kill -KILL "$WORKER_PID" 2>/dev/null
else
  wait "$WORKER_PID"
  worker_stop="exit $? after SIGTERM"
fi
WORKER_PID=""
log "worker: $worker_stop"

snapshot_db "$WORK/kforge.sqlite" || log "warning: could not copy the database"
"$PY" "$HERE/summarize.py" --db "$WORK/kforge.sqlite" --search "$WORK/search.json" --doctor "$WORK/doctor.json" \
  --worker "$WORKER_ID" --search-exit "$rc" --wall "$wall" --worker-stop "$worker_stop" --machine "$(machine_line)" \
  --redis "$(grep -m1 -o 'Redis version=[^,]*' "$WORK/redis.log")" --command "$COMMAND" --out "$OUT"
status=$?
(cd "$WORK" && tar -czf "$OUT/worker-logs.tgz" redis.log worker.log search.log search.json doctor.json doctor.log \
  $([ -f model.log ] && echo model.log))
cat "$OUT/results.md"
exit "$status"
