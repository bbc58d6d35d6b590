#!/usr/bin/env bash
# scripts/smoke.sh in compose mode, without Docker: the four real service binaries, trace-view
# and the demo site run on free loopback ports, and scripts/testing/docker stands in for
# `docker`, so every `docker compose exec -T grafana ...` the smoke script sends runs as that
# exact command (curl, or BusyBox wget) against them. Tempo and Prometheus do not exist here:
# the trace and edge checks read trace-view's output (SMOKE_TRACES_FROM_LOG, which the smoke
# script announces).
#
# Asserts: the smoke script passes (an exemplar's trace checked too); its POST .../run and DELETE went through the stand-in with
# their methods; the scheduler keeps no smoke-* schedule; --local mode passes too; and an
# unreachable scheduler ends the script with a "SMOKE FAILED:" verdict, not a silent exit.
#
# Usage: scripts/testing/compose-smoke.sh   (builds the debug binaries if needed)
#   SMOKE_SCRIPT=path  run another copy of the smoke script (to show an old one fail)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SMOKE_SCRIPT=${SMOKE_SCRIPT:-$ROOT/scripts/smoke.sh}

cargo build --locked --quiet --workspace --all-features --bins
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "compose-smoke: FAILED: $*" >&2
  for log in "$WORK"/*.log; do echo "--- $log (last lines)" >&2; tail -n 5 "$log" >&2; done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ready() { # NAME PORT
  for _ in $(seq 1 150); do
    curl -fsS --max-time 1 "http://127.0.0.1:$2/ready" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "$1 did not become ready on port $2"
}

OTLP=$(free_port); SITE=$(free_port); CTRL=$(free_port); SCRP=$(free_port); ANLZ=$(free_port); SCHD=$(free_port)
"$BIN/trace-view" --listen "127.0.0.1:$OTLP" --idle-ms 500 > "$WORK/trace-view.log" 2>&1 &
PIDS+=($!)
python3 -m http.server "$SITE" --bind 127.0.0.1 --directory config/demo-site > "$WORK/demo-site.log" 2>&1 &
PIDS+=($!)
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP" OTEL_BSP_SCHEDULE_DELAY=200 LOG_FORMAT=json HOST=127.0.0.1
start() { # NAME PORT [VAR=VALUE ...]
  local name=$1 port=$2; shift 2
  env PORT="$port" "$@" "$BIN/$name" > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
start analyzer "$ANLZ"
start scraper "$SCRP" SCRAPER_ALLOW_HOSTS=127.0.0.1
ready analyzer "$ANLZ"; ready scraper "$SCRP"
start controller "$CTRL" SCRAPER_URL="http://127.0.0.1:$SCRP" ANALYZER_URL="http://127.0.0.1:$ANLZ" \
  DATABASE_URL="sqlite://$WORK/controller.db" GRAFANA_URL=http://localhost:3000
ready controller "$CTRL"
start scheduler "$SCHD" CONTROLLER_URL="http://127.0.0.1:$CTRL" DATABASE_URL="sqlite://$WORK/scheduler.db"
ready scheduler "$SCHD"

# Compose mode as a user runs it, except: the controller's published port is a free one, the
# site is the local demo site, and the compose host names lead to the local services.
smoke_env=(
  PATH="$ROOT/scripts/testing:$PATH"
  CONTROLLER_URL="http://127.0.0.1:$CTRL"
  SITE_URL="http://127.0.0.1:$SITE/tracing-basics.html"
  STAND_IN_DOCKER_LOG="$WORK/docker-commands.txt"
  SMOKE_TRACES_FROM_LOG="$WORK/trace-view.log"
  SMOKE_TIMEOUT=60
)
echo "==> smoke.sh in compose mode through the stand-in docker"
env "${smoke_env[@]}" STAND_IN_DOCKER_HOSTS="scheduler:8083=127.0.0.1:$SCHD" \
  timeout 120 bash "$SMOKE_SCRIPT" 2>&1 | tee "$WORK/smoke.out" \
  || fail "smoke.sh failed in compose mode (commands sent: $(cat "$WORK/docker-commands.txt" 2>/dev/null))"
grep -q '^SMOKE OK$' "$WORK/smoke.out" || fail "smoke.sh exited 0 without SMOKE OK"
grep -q 'not Tempo: SMOKE_TRACES_FROM_LOG is set' "$WORK/smoke.out" \
  || fail "smoke.sh did not say that it read traces from trace-view instead of Tempo"
grep -E -q '^    ok trace [0-9a-f]{32} exists$' "$WORK/smoke.out" \
  || fail "smoke.sh did not check that an exemplar of the controller's /metrics names a trace"

echo "==> the scheduler requests went through docker compose exec with their methods"
for want in "-X POST .*http://scheduler:8083/api/v1/schedules " \
            "-X POST .*http://scheduler:8083/api/v1/schedules/[^ ]*/run " \
            "-X DELETE .*http://scheduler:8083/api/v1/schedules/[^ /]* "; do
  grep -E -q "^docker compose exec -T grafana curl .*$want" "$WORK/docker-commands.txt" \
    || fail "no '$want' among the commands sent through docker: $(cat "$WORK/docker-commands.txt")"
done

echo "==> no smoke-* schedule left behind"
left=$(curl -fsS "http://127.0.0.1:$SCHD/api/v1/schedules" \
  | python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)["items"] if s["name"].startswith("smoke-")))')
[ -z "$left" ] || fail "schedules left behind: $left"

echo "==> the same script in --local mode (every request from this machine)"
env CONTROLLER_URL="http://127.0.0.1:$CTRL" SCHEDULER_URL="http://127.0.0.1:$SCHD" \
  SITE_URL="http://127.0.0.1:$SITE/tracing-basics.html" TRACE_VIEW_LOG="$WORK/trace-view.log" SMOKE_TIMEOUT=60 \
  timeout 120 bash "$SMOKE_SCRIPT" --local > "$WORK/smoke-local.out" 2>&1 \
  || fail "smoke.sh --local failed: $(tail -n 3 "$WORK/smoke-local.out")"
grep -q '^SMOKE OK$' "$WORK/smoke-local.out" || fail "smoke.sh --local exited 0 without SMOKE OK"

echo "==> an unreachable scheduler ends with a verdict"
closed=$(free_port)
if env "${smoke_env[@]}" STAND_IN_DOCKER_HOSTS="scheduler:8083=127.0.0.1:$closed" \
     timeout 60 bash "$SMOKE_SCRIPT" > "$WORK/smoke-down.out" 2>&1; then
  fail "smoke.sh passed with the scheduler unreachable"
fi
tail -n 1 "$WORK/smoke-down.out" | grep -q '^SMOKE FAILED: POST http://scheduler:8083/api/v1/schedules' \
  || fail "no SMOKE FAILED verdict naming the request; the output ended with: $(tail -n 3 "$WORK/smoke-down.out")"
echo "compose-mode smoke test: OK"
