#!/usr/bin/env bash
# Runs Skein without Docker: release builds of the four services, the terminal trace viewer
# as their OTLP endpoint, and the demo site, all on 127.0.0.1. Each finished trace is printed
# as a tree below. Ctrl-C stops everything (services drain and flush their spans first).
# Data lives in data/local/ and is reused by the next start.
#
# Ports: controller 8080 (the web page at /), scraper 8081, analyzer 8082, scheduler 8083,
# demo site 8090, OTLP/gRPC (trace viewer) 4317, the viewer's HTTP API 3200 (Tempo's port and
# route: the page reads traces and the service map from it through the controller).
set -euo pipefail
# Job control: every child gets its own process group, so a Ctrl-C reaches this script only
# and the shutdown below stops the services before the viewer (no span lost on the way out).
set -m
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=$ROOT/data/local
mkdir -p "$DATA"

for tool in cargo curl python3; do
  command -v "$tool" >/dev/null || { echo "run-local: $tool is required" >&2; exit 1; }
done
for port in 3200 4317 8080 8081 8082 8083 8090; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run-local: port $port is in use; stop whatever holds it (another run-local?)" >&2; exit 1
  fi
done

echo "==> building release binaries (the first build takes a few minutes)"
cargo build --release --locked --quiet \
  -p skein-controller -p skein-scraper -p skein-analyzer -p skein-scheduler --bins
cargo build --release --locked --quiet -p pkg-tracing --features harness --bin trace-view
BIN=$ROOT/target/release

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping: services first (they flush their spans), then the viewer"
  for pid in "${PIDS[@]:2}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:2}"; do wait "$pid" 2>/dev/null || true; done
  sleep 2   # the viewer prints the last traces once they have been quiet for its idle time
  for pid in "${PIDS[@]:0:2}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "==> stopped; data kept in data/local/"
}
trap cleanup INT TERM EXIT

# The viewer first: the services' spans need somewhere to go from their first request.
"$BIN/trace-view" --listen 127.0.0.1:4317 --http 127.0.0.1:3200 --idle-ms 1500 > >(tee -a "$DATA/trace-view.log") 2>&1 &
PIDS+=($!)
python3 -m http.server 8090 --bind 127.0.0.1 --directory "$ROOT/config/demo-site" > "$DATA/demo-site.log" 2>&1 &
PIDS+=($!)

# One demo schedule, every 30 s, against the local demo site.
cat > "$DATA/schedules.json" <<JSON
[{"name": "local demo: tracing basics", "cron": "*/30 * * * * *", "url": "http://127.0.0.1:8090/tracing-basics.html"}]
JSON

export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=local
export LOG_FORMAT=json HOST=127.0.0.1
start() { # NAME PORT [VAR=VALUE ...]
  local name=$1 port=$2; shift 2
  env PORT="$port" "$@" "$BIN/$name" >> "$DATA/$name.log" 2>&1 &
  PIDS+=($!)
}
ready() { # NAME PORT
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$2/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "run-local: $1 did not become ready; see data/local/$1.log" >&2
  tail -5 "$DATA/$1.log" >&2
  exit 1
}
start analyzer 8082
start scraper 8081 SCRAPER_ALLOW_HOSTS=127.0.0.1
ready analyzer 8082; ready scraper 8081
start controller 8080 SCRAPER_URL=http://127.0.0.1:8081 ANALYZER_URL=http://127.0.0.1:8082 \
  DATABASE_URL="sqlite://$DATA/controller.db" GRAFANA_URL=http://localhost:3000 \
  TEMPO_URL=http://127.0.0.1:3200 TRACE_VIEW_URL=http://127.0.0.1:3200
ready controller 8080
start scheduler 8083 CONTROLLER_URL=http://127.0.0.1:8080 DATABASE_URL="sqlite://$DATA/scheduler.db" \
  SCHEDULES_FILE="$DATA/schedules.json"
ready scheduler 8083

cat <<TEXT

Skein is running (logs in data/local/*.log; traces print below as they finish).
  controller  http://127.0.0.1:8080     scraper    http://127.0.0.1:8081
  analyzer    http://127.0.0.1:8082     scheduler  http://127.0.0.1:8083
  demo site   http://127.0.0.1:8090     OTLP/gRPC  127.0.0.1:4317 (trace-view)
  web page    http://127.0.0.1:8080/    (traces and service map from trace-view on :3200)

Metrics (OpenMetrics; each latency bucket's exemplar is a trace id printed below):
  http://127.0.0.1:8080/metrics  http://127.0.0.1:8081/metrics
  http://127.0.0.1:8082/metrics  http://127.0.0.1:8083/metrics

Try:
  curl -s -X POST localhost:8080/api/v1/scrape -H 'content-type: application/json' \\
       -d '{"url": "http://127.0.0.1:8090/tracing-basics.html"}'
  curl -s -X POST localhost:8080/api/v1/jobs -H 'content-type: application/json' \\
       -d '{"url": "http://127.0.0.1:8090/le-tracage.html"}'
  scripts/smoke.sh --local
Ctrl-C stops everything.

TEXT
wait "${PIDS[0]}"
