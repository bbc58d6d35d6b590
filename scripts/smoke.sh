#!/usr/bin/env bash
# Smoke test against a running Skein (docker compose, or scripts/run-local.sh): triggers a
# scrape and a scheduled run, then checks that their traces hold every expected service, that
# every expected service-graph edge exists, and that a request-duration exemplar of the
# controller's /metrics names a trace that exists (compose: exemplar from Prometheus, trace
# from Tempo; --local: exemplar from the controller's /metrics, trace in trace-view's output). Exit 0 only when all do; any failure ends
# with one line "SMOKE FAILED: <what>" on stderr and exit 1. The schedule it creates is
# deleted on every way out.
#
# Against compose (defaults):  scripts/smoke.sh
# Against the local run:       scripts/smoke.sh --local
#
# Environment, with the defaults for compose (and for --local where they differ):
#   CONTROLLER_URL  http://localhost:8080
#   SCHEDULER_URL   http://scheduler:8083                   (--local: http://localhost:8083)
#   TEMPO_URL       http://tempo:3200
#   PROMETHEUS_URL  http://prometheus:9090
#   SITE_URL        http://demo-site/tracing-basics.html    (--local: http://127.0.0.1:8090/tracing-basics.html)
#   SMOKE_TIMEOUT   180 (seconds to wait for traces and edges)
# With compose only the controller publishes a host port: requests to any other host run
# inside the grafana container (docker compose exec -T grafana curl ...), which reaches the
# compose network. Its image ships curl, which sends the method asked for; BusyBox wget (also
# there) can only GET, or POST with --post-data, so a DELETE through it would be a GET.
#
# SMOKE_TRACES_FROM_LOG=FILE: compose mode, but traces and edges are read from trace-view's
# output (as --local does) instead of Tempo and Prometheus. For scripts/test.sh, which runs
# the compose-mode requests against local binaries and has no Tempo or Prometheus.
set -Eeuo pipefail   # -E: the ERR trap below also fires inside functions
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
  VIEW_LOG=${SMOKE_TRACES_FROM_LOG:-}
fi

HEADERS=$(mktemp)
SCHEDULE_ID=""
fail() { echo "SMOKE FAILED: $*" >&2; exit 1; }
# Whatever stops the script (a command `set -e` ends on, too) says what it was.
trap 'fail "line $LINENO: \`$BASH_COMMAND\` exited $?"' ERR
cleanup() {
  if [ -n "$SCHEDULE_ID" ]; then
    http DELETE "$SCHEDULER_URL/api/v1/schedules/$SCHEDULE_ID" >/dev/null 2>&1 \
      || echo "smoke: could not delete schedule $SCHEDULE_ID at $SCHEDULER_URL" >&2
  fi
  rm -f "$HEADERS"
}
trap cleanup EXIT
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# One HTTP request: METHOD URL [JSON-BODY]. Prints the answer's body followed by its three-digit
# status; the response headers (and any curl error) go to $HEADERS. Hosts other than localhost
# are reached from inside the grafana container.
http() {
  local method=$1 url=$2 body=${3:-}
  local args=(-sS -X "$method" --max-time 60 -D /dev/stderr -w '%{http_code}')
  [ -n "$body" ] && args+=(-H 'content-type: application/json' --data-raw "$body")
  case "$url" in
    http://localhost[:/]*|http://127.0.0.1[:/]*) curl "${args[@]}" "$url" 2>"$HEADERS" ;;
    *) docker compose exec -T grafana curl "${args[@]}" "$url" 2>"$HEADERS" ;;
  esac
}
# The same, for requests that must succeed: sets BODY and STATUS, and fails naming the request,
# its status and answer unless the status is 2xx.
request() {
  local method=$1 url=$2 out
  out=$(http "$@") || fail "$method $url: no answer ($(tail -n 1 "$HEADERS" | tr -d '\r'))"
  STATUS=${out: -3}
  BODY=${out%???}
  case "$STATUS" in
    2??) ;;
    *) fail "$method $url answered $STATUS: $BODY" ;;
  esac
}
trace_of_last() { { grep -i '^traceresponse:' "$HEADERS" || true; } | head -n 1 | sed -E 's/.*00-([0-9a-f]{32})-.*/\1/' | tr -d '\r '; }

echo "1/5 synchronous scrape of $SITE_URL"
request POST "$CONTROLLER_URL/api/v1/scrape" "{\"url\": \"$SITE_URL\", \"force\": true}"
scrape_trace=$(trace_of_last)
[ -n "$scrape_trace" ] || fail "no traceresponse header from the controller: $BODY"
echo "    document $(echo "$BODY" | json 'd.get("id")') in trace $scrape_trace"

echo "2/5 schedule run through the scheduler"
name="smoke-$(date +%s)"
request POST "$SCHEDULER_URL/api/v1/schedules" "{\"name\": \"$name\", \"cron\": \"0 0 1 1 *\", \"url\": \"$SITE_URL\"}"
SCHEDULE_ID=$(echo "$BODY" | json 'd["id"]') || fail "no schedule id in the scheduler's answer: $BODY"
request POST "$SCHEDULER_URL/api/v1/schedules/$SCHEDULE_ID/run"
run_trace=$(trace_of_last)
[ -n "$run_trace" ] || fail "no traceresponse header from the scheduler's run: $BODY"
echo "    job $(echo "$BODY" | json 'd["job"]["id"]') in trace $run_trace"
request DELETE "$SCHEDULER_URL/api/v1/schedules/$SCHEDULE_ID"
out=$(http GET "$SCHEDULER_URL/api/v1/schedules/$SCHEDULE_ID") || fail "GET $SCHEDULER_URL: no answer"
[ "${out: -3}" = 404 ] || fail "schedule $SCHEDULE_ID still there after DELETE (GET answered ${out: -3})"
echo "    schedule $name deleted"
SCHEDULE_ID=""

# 5/5: the newest exemplar on the controller's request-duration histogram, and its trace.
EXEMPLAR_QUERY='http_server_request_duration_seconds_bucket%7Bjob%3D%22controller%22%7D'
newest_exemplar() { # reads query_exemplars JSON (compose) or /metrics text (local); prints "TRACE_ID LINE"
  python3 -c '
import json, re, sys
text = sys.stdin.read()
best = None
try:
    for series in json.loads(text)["data"]:
        for e in series["exemplars"]:
            t = float(e.get("timestamp", 0))
            if best is None or t > best[0]:
                best = (t, e["labels"]["trace_id"], json.dumps(series["seriesLabels"], sort_keys=True) + " # " + json.dumps(e, sort_keys=True))
except ValueError:
    for line in text.splitlines():
        m = re.match(r"(http_server_request_duration_seconds_bucket\{.*?\}) \S+ # \{(.*?)\} (\S+)(?: (\S+))?$", line)
        if not m:
            continue
        labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(2)))
        t = float(m.group(4) or 0)
        if "trace_id" in labels and (best is None or t > best[0]):
            best = (t, labels["trace_id"], line)
if best:
    print(best[1], best[2])'
}
check_exemplar() {
  local found="" out
  while :; do
    if [ -n "$VIEW_LOG" ]; then
      out=$(http GET "$CONTROLLER_URL/metrics" 2>/dev/null || true)
    else
      now=$(date +%s)
      out=$(http GET "$PROMETHEUS_URL/api/v1/query_exemplars?query=$EXEMPLAR_QUERY&start=$((now - 3600))&end=$((now + 60))" 2>/dev/null || true)
    fi
    found=$(printf '%s' "${out%???}" | newest_exemplar || true)
    [ -n "$found" ] && break
    [ "$(date +%s)" -lt "$deadline" ] || fail "no exemplar on the controller's http_server_request_duration_seconds$([ -z "$VIEW_LOG" ] && echo " in Prometheus at $PROMETHEUS_URL (is it scraping controller:8080/metrics with exemplar storage on?)")"
    sleep 3
  done
  local trace=${found%% *}
  echo "    exemplar: ${found#* }"
  while :; do
    if [ -n "$VIEW_LOG" ]; then
      grep -q "trace $trace" "$VIEW_LOG" && break
    else
      out=$(http GET "$TEMPO_URL/api/traces/$trace" 2>/dev/null || true)
      [ "${out: -3}" = 200 ] && break
    fi
    [ "$(date +%s)" -lt "$deadline" ] || fail "the exemplar's trace $trace does not exist$([ -z "$VIEW_LOG" ] && echo " in Tempo at $TEMPO_URL")"
    sleep 2
  done
  echo "    ok trace $trace exists"
}

expected_edges="scheduler:controller controller:scraper controller:analyzer controller:controller-db"
deadline=$(( $(date +%s) + TIMEOUT ))

if [ -n "$VIEW_LOG" ]; then
  if [ "$MODE" = compose ]; then
    echo "3/5 traces in trace-view's output ($VIEW_LOG), not Tempo: SMOKE_TRACES_FROM_LOG is set"
  else
    echo "3/5 traces in the trace viewer's output ($VIEW_LOG)"
  fi
  [ -f "$VIEW_LOG" ] || fail "no $VIEW_LOG: is scripts/run-local.sh running?"
  for trace in "$scrape_trace" "$run_trace"; do
    until grep -q "trace $trace" "$VIEW_LOG"; do
      [ "$(date +%s)" -lt "$deadline" ] || fail "trace $trace never reached the viewer (spans not exported?)"
      sleep 1
    done
  done
  echo "4/5 service-graph edges reported by the viewer"
  host=$(echo "$SITE_URL" | sed -E 's#https?://([^/:]+).*#\1#')
  for edge in $expected_edges "scraper:$host"; do
    client=${edge%%:*}; server=${edge#*:}
    until grep -q "  $client → $server " "$VIEW_LOG"; do
      [ "$(date +%s)" -lt "$deadline" ] || fail "edge $client → $server missing: spans not paired (server span not a direct child of the client span?)"
      sleep 1
    done
    echo "    ok $client → $server"
  done
  echo "5/5 an exemplar of the controller's /metrics names a trace in the viewer's output"
  check_exemplar
  echo "SMOKE OK"
  exit 0
fi

echo "3/5 traces in Tempo"
for pair in "$scrape_trace:controller scraper analyzer" "$run_trace:scheduler controller scraper analyzer"; do
  trace=${pair%%:*}; want=${pair#*:}
  while :; do
    # 404 until Tempo has the trace: keep asking until the deadline.
    out=$(http GET "$TEMPO_URL/api/traces/$trace" 2>/dev/null || true)
    found=$(printf '%s' "${out%???}" | python3 -c '
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

echo "4/5 service-graph edges in Prometheus (traces_service_graph_request_total)"
for edge in $expected_edges "scraper:demo-site"; do
  client=${edge%%:*}; server=${edge#*:}
  query="traces_service_graph_request_total%7Bclient%3D%22$client%22%2Cserver%3D%22$server%22%7D"
  while :; do
    out=$(http GET "$PROMETHEUS_URL/api/v1/query?query=$query" 2>/dev/null || true)
    n=$(printf '%s' "${out%???}" | json 'len(d["data"]["result"])' 2>/dev/null || echo 0)
    [ "$n" != "0" ] && { echo "    ok $client → $server"; break; }
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail "edge $client → $server missing. Check: metrics_generator processors enabled in config/tempo/tempo.yaml; Prometheus started with --web.enable-remote-write-receiver; the server span is the direct child of the client span (else no pairing); Tempo's service-graph wait window (10s) plus remote-write delay"
    fi
    sleep 3
  done
done
echo "5/5 an exemplar in Prometheus (query_exemplars) names a trace in Tempo"
check_exemplar
echo "SMOKE OK"
