#!/usr/bin/env bash
# Smoke test against a running Skein (docker compose, or scripts/run-local.sh): triggers a
# scrape and a scheduled run, then checks that their traces hold every expected service and
# that every expected service-graph edge exists. Exit 0 only when all do.
#
# Against compose (defaults):  scripts/smoke.sh
# Against the local run:       scripts/smoke.sh --local
#
# Environment (defaults for compose):
#   CONTROLLER_URL  http://localhost:8080     SCHEDULER_URL  http://localhost:8083 (via controller network: see below)
#   TEMPO_URL       http://localhost:3200     PROMETHEUS_URL http://localhost:9090
#   SITE_URL        http://demo-site/tracing-basics.html   (the page to scrape, as the scraper sees it)
#   SMOKE_TIMEOUT   180 (seconds to wait for traces and edges)
# With compose, Tempo, Prometheus and the scheduler publish no host ports: the script then
# runs its queries from inside the grafana container (docker compose exec), which reaches them.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=compose
[ "${1:-}" = "--local" ] && MODE=local
TIMEOUT=${SMOKE_TIMEOUT:-180}
CONTROLLER_URL=${CONTROLLER_URL:-http://localhost:8080}
if [ "$MODE" = local ]; then
  SCHEDULER_URL=${SCHEDULER_URL:-http://localhost:8083}
  SITE_URL=${SITE_URL:-http://127.0.0.1:8090/tracing-basics.html}
  VIEW_LOG=${TRACE_VIEW_LOG:-data/local/trace-view.log}
else
  SCHEDULER_URL=${SCHEDULER_URL:-http://scheduler:8083}
  SITE_URL=${SITE_URL:-http://demo-site/tracing-basics.html}
  TEMPO_URL=${TEMPO_URL:-http://tempo:3200}
  PROMETHEUS_URL=${PROMETHEUS_URL:-http://prometheus:9090}
fi

fail() { echo "SMOKE FAILED: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Reaches a URL from the host, or for compose-internal hosts from inside the grafana container.
fetch() { # METHOD URL [BODY]
  local method=$1 url=$2 body=${3:-}
  case "$url" in
    http://localhost*|http://127.0.0.1*)
      if [ -n "$body" ]; then curl -sS -D /tmp/skein-smoke-headers -X "$method" -H 'content-type: application/json' -d "$body" "$url"
      else curl -sS -D /tmp/skein-smoke-headers -X "$method" "$url"; fi ;;
    *)
      if [ -n "$body" ]; then docker compose exec -T grafana wget -q -S -O - --header 'content-type: application/json' --post-data "$body" "$url" 2>/tmp/skein-smoke-headers
      else docker compose exec -T grafana wget -q -S -O - "$url" 2>/tmp/skein-smoke-headers; fi ;;
  esac
}
trace_of_last() { grep -i 'traceresponse' /tmp/skein-smoke-headers | head -1 | sed -E 's/.*00-([0-9a-f]{32})-.*/\1/' | tr -d '\r '; }

echo "1/4 synchronous scrape of $SITE_URL"
doc=$(fetch POST "$CONTROLLER_URL/api/v1/scrape" "{\"url\": \"$SITE_URL\", \"force\": true}") || fail "the controller did not answer at $CONTROLLER_URL"
scrape_trace=$(trace_of_last)
[ -n "$scrape_trace" ] || fail "no traceresponse header from the controller: $doc"
echo "    document $(echo "$doc" | json 'd.get("id")') in trace $scrape_trace"

echo "2/4 schedule run through the scheduler"
name="smoke-$(date +%s)"
created=$(fetch POST "$SCHEDULER_URL/api/v1/schedules" "{\"name\": \"$name\", \"cron\": \"0 0 1 1 *\", \"url\": \"$SITE_URL\"}") \
  || fail "the scheduler did not answer at $SCHEDULER_URL"
schedule_id=$(echo "$created" | json 'd["id"]') || fail "could not create a schedule: $created"
run=$(fetch POST "$SCHEDULER_URL/api/v1/schedules/$schedule_id/run")
run_trace=$(trace_of_last)
echo "    job $(echo "$run" | json 'd["job"]["id"]') in trace $run_trace"
fetch DELETE "$SCHEDULER_URL/api/v1/schedules/$schedule_id" >/dev/null || true

expected_edges="scheduler:controller controller:scraper controller:analyzer controller:controller-db"
deadline=$(( $(date +%s) + TIMEOUT ))

if [ "$MODE" = local ]; then
  echo "3/4 traces in the trace viewer's output ($VIEW_LOG)"
  [ -f "$VIEW_LOG" ] || fail "no $VIEW_LOG: is scripts/run-local.sh running?"
  for trace in "$scrape_trace" "$run_trace"; do
    until grep -q "trace $trace" "$VIEW_LOG"; do
      [ "$(date +%s)" -lt "$deadline" ] || fail "trace $trace never reached the viewer (spans not exported?)"
      sleep 1
    done
  done
  echo "4/4 service-graph edges reported by the viewer"
  host=$(echo "$SITE_URL" | sed -E 's#https?://([^/:]+).*#\1#')
  for edge in $expected_edges "scraper:$host"; do
    client=${edge%%:*}; server=${edge#*:}
    until grep -q "  $client → $server " "$VIEW_LOG"; do
      [ "$(date +%s)" -lt "$deadline" ] || fail "edge $client → $server missing: spans not paired (server span not a direct child of the client span?)"
      sleep 1
    done
    echo "    ok $client → $server"
  done
  echo "SMOKE OK"
  exit 0
fi

echo "3/4 traces in Tempo"
for pair in "$scrape_trace:controller scraper analyzer" "$run_trace:scheduler controller scraper analyzer"; do
  trace=${pair%%:*}; want=${pair#*:}
  while :; do
    found=$(fetch GET "$TEMPO_URL/api/traces/$trace" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
names = set()
for batch in d.get("batches", d.get("resourceSpans", [])):
    for a in batch.get("resource", {}).get("attributes", []):
        if a.get("key") == "service.name":
            names.add(a.get("value", {}).get("stringValue", ""))
print(" ".join(sorted(names)))' || true)
    missing=""
    for s in $want; do case " $found " in *" $s "*) ;; *) missing="$missing $s";; esac; done
    [ -z "$missing" ] && { echo "    ok trace $trace: $found"; break; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "trace $trace lacks:$missing (found: ${found:-nothing}). Spans not exported, or Tempo not reachable at $TEMPO_URL"
    sleep 2
  done
done

echo "4/4 service-graph edges in Prometheus (traces_service_graph_request_total)"
for edge in $expected_edges "scraper:demo-site"; do
  client=${edge%%:*}; server=${edge#*:}
  query="traces_service_graph_request_total%7Bclient%3D%22$client%22%2Cserver%3D%22$server%22%7D"
  while :; do
    n=$(fetch GET "$PROMETHEUS_URL/api/v1/query?query=$query" 2>/dev/null | json 'len(d["data"]["result"])' 2>/dev/null || echo 0)
    [ "$n" != "0" ] && { echo "    ok $client → $server"; break; }
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail "edge $client → $server missing. Check: metrics_generator processors enabled in config/tempo/tempo.yaml; Prometheus started with --web.enable-remote-write-receiver; the server span is the direct child of the client span (else no pairing); Tempo's service-graph wait window (10s) plus remote-write delay"
    fi
    sleep 3
  done
done
echo "SMOKE OK"
