#!/usr/bin/env bash
# Schemathesis against the four real binaries (target/debug), each from its own /openapi.json,
# after openapi-spec-validator has checked the four documents.
#
# The whole run happens in a network namespace with only loopback (`unshare -n`, as root, as
# CI runs): whatever a generated request asks for, the scraper cannot reach any address but
# 127.0.0.1, even if its destination guard broke. Every `url` in a generated body is pointed at
# a loopback stand-in site (schemathesis_hooks.py), which serves a small page for every path.
#
# Bounded: at most $SCHEMATHESIS_MAX_EXAMPLES examples per operation (default 25), a fixed seed,
# 10 s per request, and the whole run under $SCHEMATHESIS_BUDGET_S seconds (default 170).
# Usage: scripts/testing/schemathesis.sh   (from anywhere; builds the binaries if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

if [ -z "${SKEIN_IN_NETNS:-}" ]; then
  cargo build --locked --quiet -p skein-controller -p skein-scraper -p skein-analyzer -p skein-scheduler --bins
  # The page's trace and service-map endpoints read from trace-view, as in run-local.sh.
  cargo build --locked --quiet -p pkg-tracing --features harness --bin trace-view
  [ "$(id -u)" -eq 0 ] || { echo "schemathesis.sh: run as root (unshare -n needs it; CI runs as root)" >&2; exit 1; }
  exec env SKEIN_IN_NETNS=1 timeout --kill-after=10 "${SCHEMATHESIS_BUDGET_S:-170}" unshare -n -- "$0" "$@"
fi

ip link set lo up
# Nothing but loopback in here: prove it before trusting it.
if ip -o addr show | grep -v ' lo ' | grep -q inet; then
  echo "schemathesis.sh: the namespace has a non-loopback address" >&2; exit 1
fi

BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A fresh namespace: every port is free.
SITE=18090 CONTROLLER=18080 SCRAPER=18081 ANALYZER=18082 SCHEDULER=18083 TRACES=13200
export OTEL_SDK_DISABLED=true OTEL_TRACES_EXPORTER=none LOG_FORMAT=json RUST_LOG=warn HOST=127.0.0.1
python3 scripts/testing/schemathesis_site.py "$SITE" > "$WORK/site.log" 2>&1 &
PIDS+=($!)
start() { # NAME PORT [VAR=VALUE ...]
  local name=$1 port=$2; shift 2
  env PORT="$port" "$@" "$BIN/$name" > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
ready() { # NAME PORT
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$2/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "schemathesis.sh: $1 did not become ready" >&2; tail -5 "$WORK/$1.log" >&2; exit 1
}
# trace-view answers Tempo's trace endpoint and the service graph: without it the controller's
# page endpoints could only say 503 backend_not_configured.
"$BIN/trace-view" --listen 127.0.0.1:14317 --http "127.0.0.1:$TRACES" > "$WORK/trace-view.log" 2>&1 &
PIDS+=($!)
start analyzer "$ANALYZER"
start scraper "$SCRAPER" SCRAPER_ALLOW_HOSTS=127.0.0.1 SCRAPER_TIMEOUT_MS=3000 SCRAPER_DEADLINE_MS=5000
ready analyzer "$ANALYZER"; ready scraper "$SCRAPER"
start controller "$CONTROLLER" SCRAPER_URL="http://127.0.0.1:$SCRAPER" ANALYZER_URL="http://127.0.0.1:$ANALYZER" \
  DATABASE_URL="sqlite://$WORK/controller.db" GRAFANA_URL=http://localhost:3000 \
  TEMPO_URL="http://127.0.0.1:$TRACES" TRACE_VIEW_URL="http://127.0.0.1:$TRACES"
ready controller "$CONTROLLER"
start scheduler "$SCHEDULER" CONTROLLER_URL="http://127.0.0.1:$CONTROLLER" DATABASE_URL="sqlite://$WORK/scheduler.db"
ready scheduler "$SCHEDULER"

echo "--- openapi-spec-validator"
for svc in controller:$CONTROLLER scraper:$SCRAPER analyzer:$ANALYZER scheduler:$SCHEDULER; do
  curl -fsS "http://127.0.0.1:${svc#*:}/openapi.json" -o "$WORK/${svc%%:*}.json"
  openapi-spec-validator "$WORK/${svc%%:*}.json"
done

export SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$ROOT/scripts/testing${PYTHONPATH:+:$PYTHONPATH}"
export SKEIN_SITE_PORT=$SITE
OUT=${SCHEMATHESIS_OUT:-$WORK}
mkdir -p "$OUT"
failed=()
for svc in controller:$CONTROLLER scraper:$SCRAPER analyzer:$ANALYZER scheduler:$SCHEDULER; do
  name=${svc%%:*}
  echo "--- schemathesis: $name"
  status=0
  # From the scratch directory: schemathesis keeps a `.schemathesis/` cache in its working directory.
  # Every check is on by default; `--checks all` would also switch back on, for every
  # operation, the one check schemathesis.toml turns off for two (it overrides per-operation
  # settings), which made the stateful phase fail whenever a generated job was cancelled while
  # still queued.
  (cd "$WORK" && schemathesis --config-file "$ROOT/scripts/testing/schemathesis.toml" run "http://127.0.0.1:${svc#*:}/openapi.json" \
      --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" --seed 15 --request-timeout 10 \
      --generation-database none --suppress-health-check all --no-color) > "$OUT/$name.out" 2>&1 || status=$?
  # The summary: operations, test cases generated, checks passed and failed.
  sed -n '/SUMMARY/,$p' "$OUT/$name.out"
  if [ "$status" -ne 0 ]; then
    failed+=("$name")
    sed -n '/FAILURES/,/SUMMARY/p' "$OUT/$name.out" | head -200
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "schemathesis.sh: findings in ${failed[*]}" >&2; exit 1
fi
echo "schemathesis.sh: the four documents are valid and every service passed"
