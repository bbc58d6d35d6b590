#!/usr/bin/env python3
"""Checks the Docker stack's files without Docker: what would make `docker compose up` fail,
or the service map stay empty, caught before anyone runs it.

Usage: scripts/check-deploy.py   (from anywhere; exits non-zero if any check fails)
       VERBOSE=1 scripts/check-deploy.py   (also lists the checks that pass)
"""
import glob
import json
import os
import re
import subprocess
import sys

try:
    import jsonschema
    import yaml
except ImportError as missing:
    sys.exit(f"check-deploy: {missing}; scripts/install-test-deps.sh installs it")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def load_yaml(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return yaml.safe_load(f)


def interpolate(value):
    """The file as compose reads it with no variables set: ${VAR:-default} and ${VAR-default}
    become the default, ${VAR} nothing, $$ a dollar. (Checks judge the defaults a user gets.)"""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", value)
        value = re.sub(r"\$\{\w+\}", "", value)
        return value.replace("$$", "$")
    return value


def seconds(duration):
    """A compose/Go duration ("1m30s", "500ms", "40s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(duration))
    if not parts or "".join(n + u for n, u in parts) != str(duration):
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * units[u] for n, u in parts)


def mebibytes(size):
    """A compose memory size ("96M", "1G", "512m", "268435456") in MiB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)i?b?", str(size).strip().lower())
    if not m:
        raise ValueError(f"not a memory size: {size!r}")
    return float(m.group(1)) * {"": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024}[m.group(2)]


def pinned(image):
    """name:tag with a tag that names a version (not latest, not a moving major)."""
    if ":" not in image.split("/")[-1]:
        return False
    tag = image.rsplit(":", 1)[1]
    return tag != "latest" and bool(re.search(r"\d+\.\d+", tag) or re.fullmatch(r"[a-z]+-\d{8}(-slim)?", tag))


# The Compose Specification's own schema (a copy: CI has no network), on the base compose file.
# Override files (docker-compose.scale.yml) use Compose's `!reset` merge tags and are only valid
# merged onto the base: scripts/check-scale.py merges and validates them.
with open(os.path.join(ROOT, "scripts/schemas/compose-spec.json"), encoding="utf-8") as f:
    compose_schema = jsonschema.Draft202012Validator(json.load(f))
for path in [os.path.join(ROOT, "docker-compose.yml")]:
    errors = sorted(compose_schema.iter_errors(interpolate(load_yaml(path))), key=lambda e: list(e.path))
    check(f"{os.path.basename(path)}: valid against the Compose Specification schema", not errors,
          "; ".join(f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:5]))

compose = interpolate(load_yaml("docker-compose.yml"))
services = compose.get("services", {})
check("compose parses and names the project skein", compose.get("name") == "skein")
for want in ["controller", "scraper", "analyzer", "scheduler", "demo-site", "tempo", "prometheus", "grafana", "loki", "alloy"]:
    check(f"compose has service {want}", want in services)

for name, svc in services.items():
    image = svc.get("image", "")
    check(f"{name}: image pinned to a version ({image})", pinned(image))
    check(f"{name}: memory limit", svc.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"))
    probe = svc.get("healthcheck", {}).get("test") or []
    check(f"{name}: healthcheck", probe)
    # A probe copied into a shared volume is replaced while containers run it (ETXTBSY, and
    # the copying job must run first): each image probes itself with what it ships.
    mounts = [v.split(":")[1] if isinstance(v, str) else v.get("target", "") for v in svc.get("volumes", [])]
    program = probe[1] if len(probe) > 1 and probe[0] in ("CMD", "CMD-SHELL") else ""
    check(f"{name}: health-check program ships in the image, not in a mounted volume ({program})",
          program and not any(program == m or program.startswith(m.rstrip("/") + "/") for m in mounts))
    for dep, cond in (svc.get("depends_on") or {}).items():
        check(f"{name}: depends_on {dep} exists", dep in services)
        check(f"{name}: depends_on {dep} waits on a condition", isinstance(cond, dict) and cond.get("condition"))
    for volume in svc.get("volumes", []):
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith("./"):
            check(f"{name}: mounted {source} exists", os.path.exists(os.path.join(ROOT, source)))
        elif not source.startswith("/"):
            check(f"{name}: named volume {source} declared", source in (compose.get("volumes") or {}))
    published = svc.get("ports", [])
    check(f"{name}: host ports only where a person needs them", name in ("controller", "grafana") or not published)
    for port in published:
        host_ip = str(port).rsplit(":", 2)[0] if isinstance(port, str) and str(port).count(":") == 2 else (
            port.get("host_ip", "") if isinstance(port, dict) else "")
        check(f"{name}: port {port} published on 127.0.0.1 by default (SKEIN_BIND_ADDRESS opens it)", host_ip == "127.0.0.1")

# Compose builds every service's image in parallel (buildx bake): two services that build one
# tag race to export it, and the loser fails with "image ... already exists".
builders = {}
for name, svc in services.items():
    if svc.get("build"):
        builders.setdefault(svc.get("image", f"{compose.get('name')}-{name}"), []).append(name)
for image, names in builders.items():
    check(f"image {image}: built by one service ({', '.join(names)})", len(names) == 1)

limits = {name: mebibytes(svc.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory", "0"))
          for name, svc in services.items()}
MEMORY_BUDGET_MIB = 1536
check(f"memory limits add up to at most {MEMORY_BUDGET_MIB} MiB (now {sum(limits.values()):.0f})",
      sum(limits.values()) <= MEMORY_BUDGET_MIB, ", ".join(f"{n} {v:.0f}" for n, v in limits.items()))

# `docker compose stop` sends SIGTERM and kills after stop_grace_period (default 10 s). A period
# shorter than a service's shutdown budget cuts its drain, its job workers or its last span
# export. One row per part of the budget: (what, file, regex, default). The seconds are the
# regex's first group in the file; where the file does not state them, the default; a default
# of None makes the check fail instead (the code changed shape: update the row).
ACTIX_SHUTDOWN_DEFAULT_S = 30  # actix-server: HttpServer without .shutdown_timeout(N) drains 30 s
SPAN_FLUSH_S = 5  # opentelemetry_sdk: SdkTracerProvider::shutdown() waits at most 5 s
STOP_MARGIN_S = 5
HTTP_DRAIN = r"\.shutdown_timeout\((\d+)\)"
SHUTDOWN_BUDGET = {
    # The controller drains HTTP and its job workers in parallel (the longer of the two), then
    # releases unfinished jobs and flushes spans: its SHUTDOWN_BUDGET in startup.rs.
    "controller": [("HTTP drain, job workers in parallel", "services/controller/src/startup.rs",
                    r"const HTTP_DRAIN: Duration = Duration::from_secs\((\d+)\)", None),
                   ("job release", "services/controller/src/startup.rs",
                    r"const RELEASE: Duration = Duration::from_secs\((\d+)\)", None),
                   ("span flush", "services/controller/src/startup.rs",
                    r"const SPAN_FLUSH: Duration = Duration::from_secs\((\d+)\)", None)],
    "scraper": [("HTTP drain", "services/scraper/src/startup.rs", HTTP_DRAIN, ACTIX_SHUTDOWN_DEFAULT_S),
                ("span flush", None, None, SPAN_FLUSH_S)],
    "analyzer": [("HTTP drain", "services/analyzer/src/startup.rs", HTTP_DRAIN, ACTIX_SHUTDOWN_DEFAULT_S),
                 ("span flush", None, None, SPAN_FLUSH_S)],
    "scheduler": [("HTTP drain", "services/scheduler/src/startup.rs", HTTP_DRAIN, ACTIX_SHUTDOWN_DEFAULT_S),
                  ("span flush", None, None, SPAN_FLUSH_S)],
}
with open(os.path.join(ROOT, "services/controller/src/startup.rs"), encoding="utf-8") as f:
    _startup = f.read()
_grace = {k: int(v) for k, v in re.findall(r"const (HTTP_DRAIN|WORKER_GRACE): Duration = Duration::from_secs\((\d+)\)", _startup)}
check("controller: job workers' grace fits inside the HTTP drain it runs beside (the budget counts the drain)",
      len(_grace) == 2 and _grace["WORKER_GRACE"] <= _grace["HTTP_DRAIN"], str(_grace))
for name, parts in SHUTDOWN_BUDGET.items():
    budget, read, unreadable = 0, [], []
    for what, path, pattern, default in parts:
        found = None
        if path:
            with open(os.path.join(ROOT, path), encoding="utf-8") as f:
                m = re.search(pattern, f.read())
            found = int(m.group(1)) if m else None
        value = found if found is not None else default
        if value is None:
            unreadable.append(f"{what} ({pattern} not found in {path}: update SHUTDOWN_BUDGET)")
            continue
        budget += value
        read.append(f"{what} {value} s")
    period = services.get(name, {}).get("stop_grace_period", "10s")
    check(f"{name}: stop_grace_period {period} covers its shutdown ({' + '.join(read)} + {STOP_MARGIN_S} s margin)",
          not unreadable and seconds(period) >= budget + STOP_MARGIN_S, "; ".join(unreadable))

for name in ("controller", "scraper", "analyzer", "scheduler"):
    env = services[name].get("environment", {})
    check(f"{name}: exports to Tempo's OTLP/gRPC port", env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://tempo:4317")
    check(f"{name}: built from the Dockerfile with SERVICE={name}", services[name].get("build", {}).get("args", {}).get("SERVICE") == name)
    check(f"{name}: probed by the image's own healthcheck binary",
          services[name].get("healthcheck", {}).get("test", [None, None])[1] == "/usr/local/bin/healthcheck")
check("controller: GRAFANA_URL for trace links", services["controller"]["environment"].get("GRAFANA_URL"))
check("scraper: demo-site allowed", "demo-site" in services["scraper"]["environment"].get("SCRAPER_ALLOW_HOSTS", ""))
schedules_file = services["scheduler"]["environment"].get("SCHEDULES_FILE", "")
check("scheduler: SCHEDULES_FILE ships in the image", schedules_file.startswith("/etc/skein/schedules/")
      and os.path.exists(os.path.join(ROOT, "config/schedules", os.path.basename(schedules_file))))
prom_cmd = " ".join(services["prometheus"].get("command", []))
check("prometheus: remote-write receiver on", "--web.enable-remote-write-receiver" in prom_cmd)
check("prometheus: exemplars and native histograms on", "exemplar-storage" in prom_cmd and "native-histograms" in prom_cmd)

# Prometheus scrapes each Skein service's /metrics on the port the service listens on, as a job
# named after it (the alert rules and dashboard select on job).
prometheus = load_yaml("config/prometheus/prometheus.yml")
jobs = {c.get("job_name"): c for c in prometheus.get("scrape_configs", [])}
for name in ("controller", "scraper", "analyzer", "scheduler"):
    job = jobs.get(name, {})
    port = services[name].get("environment", {}).get("PORT")
    targets = [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
    check(f"prometheus: scrapes {name}:{port}/metrics as job {name}",
          job and targets == [f"{name}:{port}"] and job.get("metrics_path", "/metrics") == "/metrics"
          and job.get("scheme", "http") == "http", f"targets {targets}")
for name, job in jobs.items():
    for target in [t for sc in job.get("static_configs", []) for t in sc.get("targets", [])]:
        host = target.rsplit(":", 1)[0]
        check(f"prometheus: job {name} target {target} is a compose service", host in services or host == "localhost")

with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
    dockerfile = f.read()
for arg, image in re.findall(r"^ARG (\w+_IMAGE)=(\S+)", dockerfile, re.M):
    check(f"Dockerfile: {arg} pinned ({image})", pinned(image))
check("Dockerfile: runs as non-root", re.search(r"^USER 10001", dockerfile, re.M))
check("Dockerfile: dependency layer (cargo chef cook)", "cargo chef cook" in dockerfile)
# Everything after `ARG SERVICE` is built once per service image: no compiling there.
after_arg = [stage.split("ARG SERVICE", 1)[1] for stage in re.split(r"^FROM ", dockerfile, flags=re.M) if re.search(r"^ARG SERVICE\b", stage, re.M)]
check("Dockerfile: nothing is compiled after ARG SERVICE (shared by every service image)",
      after_arg and not any(re.search(r"^RUN .*\b(cargo|rustc)\b", part, re.M) for part in after_arg))
check("Dockerfile: one cargo build for all four services", len(re.findall(r"\bcargo build\b", dockerfile)) == 1
      and all(f"--bin {b}" in dockerfile for b in ("controller", "scraper", "analyzer", "scheduler", "healthcheck")))
check("Dockerfile: the image ships the health-check probe", re.search(r"^COPY .*/usr/local/bin/healthcheck", dockerfile, re.M))

tempo = load_yaml("config/tempo/tempo.yaml")
processors = tempo.get("overrides", {}).get("defaults", {}).get("metrics_generator", {}).get("processors", [])
check("tempo: service-graphs processor enabled", "service-graphs" in processors)
check("tempo: span-metrics processor enabled", "span-metrics" in processors)
remote = tempo.get("metrics_generator", {}).get("storage", {}).get("remote_write", [])
check("tempo: remote write to the compose Prometheus", any(r.get("url") == "http://prometheus:9090/api/v1/write" for r in remote))
check("tempo: exemplars sent", any(r.get("send_exemplars") for r in remote))
peers = tempo.get("metrics_generator", {}).get("processor", {}).get("service_graphs", {}).get("peer_attributes", [])
for attr in ("peer.service", "db.system.name", "server.address"):
    check(f"tempo: peer_attributes has {attr}", attr in peers)
cutoff = tempo.get("query_frontend", {}).get("query_end_cutoff")
check("tempo: query_end_cutoff set so the newest traces are searchable (Tempo 3 hides 30 s)",
      cutoff is not None and seconds(cutoff) <= 5)
check("tempo: OTLP gRPC receiver on 4317",
      tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317"))

loki = load_yaml("config/loki/loki.yaml")
if loki.get("limits_config", {}).get("retention_period"):
    compactor = loki.get("compactor", {})
    check("loki: retention_period is enforced (compactor retention_enabled + delete_request_store)",
          compactor.get("retention_enabled") is True and compactor.get("delete_request_store"))

sources = load_yaml("config/grafana/provisioning/datasources/datasources.yaml")["datasources"]
by_type = {d["type"]: d for d in sources}
uids = {d["uid"] for d in sources}
tempo_ds, prom_ds, loki_ds = by_type.get("tempo", {}), by_type.get("prometheus", {}), by_type.get("loki", {})
check("grafana: Tempo datasource uid is tempo", tempo_ds.get("uid") == "tempo")
check("grafana: Tempo serviceMap points at the provisioned Prometheus",
      tempo_ds.get("jsonData", {}).get("serviceMap", {}).get("datasourceUid") == prom_ds.get("uid"))
check("grafana: Tempo node graph enabled", tempo_ds.get("jsonData", {}).get("nodeGraph", {}).get("enabled") is True)
check("grafana: traces to logs → Loki", tempo_ds.get("jsonData", {}).get("tracesToLogsV2", {}).get("datasourceUid") == loki_ds.get("uid"))
check("grafana: traces to metrics → Prometheus", tempo_ds.get("jsonData", {}).get("tracesToMetrics", {}).get("datasourceUid") == prom_ds.get("uid"))
check("grafana: exemplars → Tempo",
      any(e.get("datasourceUid") == "tempo" for e in prom_ds.get("jsonData", {}).get("exemplarTraceIdDestinations", [])))
# Tempo's span metrics label exemplars `traceID`; the services' /metrics label them `trace_id`.
for label in ("traceID", "trace_id"):
    check(f"grafana: exemplars labelled {label} → Tempo",
          any(e.get("name") == label and e.get("datasourceUid") == "tempo"
              for e in prom_ds.get("jsonData", {}).get("exemplarTraceIdDestinations", [])))
derived = loki_ds.get("jsonData", {}).get("derivedFields", [])
check("grafana: Loki trace_id → Tempo", any(d.get("datasourceUid") == "tempo" and "trace_id" in d.get("matcherRegex", "") for d in derived))
sample = '{"level":"INFO","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","message":"x"}'
check("grafana: the derived-field regex matches a Skein log line",
      any(re.search(d["matcherRegex"], sample) for d in derived))

with open(os.path.join(ROOT, "config/grafana/dashboards/skein-overview.json"), encoding="utf-8") as f:
    dashboard = json.load(f)
check("dashboard: titled Skein overview", dashboard.get("title") == "Skein overview")
panels = dashboard.get("panels", [])
check("dashboard: a node-graph panel of the service graph", any(p["type"] == "nodeGraph" for p in panels))
check("dashboard: every panel uses a provisioned datasource", all(p["datasource"]["uid"] in uids for p in panels))
check("dashboard: latency panel shows exemplars", any(t.get("exemplar") for p in panels for t in p.get("targets", [])))
for metric in ("http_server_request_duration_seconds_bucket", "http_client_request_duration_seconds_bucket"):
    check(f"dashboard: a panel on the services' {metric} shows exemplars",
          any(t.get("exemplar") and metric in t.get("expr", "") for p in panels for t in p.get("targets", [])))

alloy = open(os.path.join(ROOT, "config/alloy/config.alloy"), encoding="utf-8").read()
check("alloy: ships to the compose Loki", "http://loki:3100/loki/api/v1/push" in alloy)
check("alloy: labels streams by service", 'target_label  = "service"' in alloy)
check("alloy: trace_id is never a label", not re.search(r"labels\s*\{[^}]*trace_id", alloy))
check("alloy: selects containers by the running project's name, not a fixed one (-p other)",
      'com.docker.compose.project=" + sys.env("COMPOSE_PROJECT")' in alloy
      and load_yaml("docker-compose.yml")["services"]["alloy"].get("environment", {}).get("COMPOSE_PROJECT", "").startswith("${COMPOSE_PROJECT_NAME"))

# scripts/smoke.sh: BusyBox wget (the images' wget) sends GET, or POST with --post-data; handed
# any other method it silently sends a GET. When the script sends anything but GET, a function
# that is handed the method must send it with a tool that can (curl -X "$method"), never wget.
smoke = open(os.path.join(ROOT, "scripts/smoke.sh"), encoding="utf-8").read()
code = "\n".join(line for line in smoke.splitlines() if not line.lstrip().startswith("#")) + "\n"
methods = set(re.findall(r"\b\w+ (POST|PUT|DELETE|PATCH) \"", code))
for fn_name, body in re.findall(r"^(\w+)\(\)\s*\{(?:\s*#[^\n]*)?\n(.*?)^\}", code, re.M | re.S):
    if "$method" not in body or not re.search(r"\b(curl|wget)\b", body):
        continue
    check(f"smoke.sh: {fn_name}() is handed {'/'.join(sorted(methods)) or 'GET'} and runs no wget for them",
          not methods or not re.search(r"\bwget\b", body))
    check(f"smoke.sh: {fn_name}() gives curl the method", re.search(r'(-X|--request) "\$method"', body))
# The header's documented defaults are the compose-mode defaults in the code.
header = smoke.split("\nset -", 1)[0]
branch = re.search(r'if \[ "\$MODE" = local \]; then\n.*?\nelse\n(.*?)\nfi', smoke, re.S)
compose_defaults = dict(re.findall(r"(\w+)=\$\{\1:-([^}]*)\}", (branch.group(1) if branch else "")
                                   + "\n" + smoke.split('if [ "$MODE" = local ]', 1)[0]))
for var, documented in re.findall(r"([A-Z_]{4,})\s+(https?://\S+)", header):
    check(f"smoke.sh: header's default {var}={documented} is the code's",
          compose_defaults.get(var) == documented, f"the code says {compose_defaults.get(var)}")

readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
for command in re.findall(r"docker compose run [^`\n]*", readme):
    check(f"README: `{command}` starts no dependencies (--no-deps)", "--no-deps" in command)

promtool = subprocess.run(["promtool", "check", "config", os.path.join(ROOT, "config/prometheus/prometheus.yml")],
                          capture_output=True, text=True)
check("promtool check config", promtool.returncode == 0, (promtool.stdout + promtool.stderr).strip())

# Alert rules (config/prometheus/rules): mounted where prometheus.yml's rule_files look, valid,
# each with what the Grafana alert list shows, and each covered by the promtool unit tests.
prom_config = load_yaml("config/prometheus/prometheus.yml")
mounts = {}
for volume in services["prometheus"].get("volumes", []):
    source, _, target = str(volume).partition(":")
    if source.startswith("./"):
        mounts[target.split(":")[0]] = os.path.join(ROOT, source[2:])
rule_files = []
for pattern in prom_config.get("rule_files", []):
    folder, name = os.path.split(pattern)
    on_host = mounts.get(folder)
    check(f"prometheus: rule_files {pattern} is a mounted directory", on_host and os.path.isdir(on_host))
    if on_host:
        rule_files += sorted(glob.glob(os.path.join(on_host, name)))
check("prometheus: rule_files load config/prometheus/rules/*.yml",
      rule_files and sorted(glob.glob(os.path.join(ROOT, "config/prometheus/rules/*.yml"))) == sorted(rule_files))
if rule_files:
    checked = subprocess.run(["promtool", "check", "rules", *rule_files], capture_output=True, text=True)
    check("promtool check rules", checked.returncode == 0, (checked.stdout + checked.stderr).strip())
tests_text = "".join(open(t, encoding="utf-8").read() for t in glob.glob(os.path.join(ROOT, "config/prometheus/tests/*.yml")))
for rules_file in rule_files:
    for group in (yaml.safe_load(open(rules_file, encoding="utf-8")) or {}).get("groups", []):
        for rule in group.get("rules", []):
            if "alert" not in rule:
                continue
            annotations = rule.get("annotations", {})
            check(f"alert {rule['alert']}: summary, description and a Grafana link",
                  annotations.get("summary") and annotations.get("description")
                  and str(annotations.get("grafana_url", "")).startswith("http"))
            check(f"alert {rule['alert']}: has promtool unit tests", f"alertname: {rule['alert']}" in tests_text)
check("grafana: the Prometheus datasource shows its alert rules (manageAlerts)",
      prom_ds.get("jsonData", {}).get("manageAlerts") is True)

with open(os.path.join(ROOT, "config/grafana/dashboards/skein-find-a-trace.json"), encoding="utf-8") as f:
    finder = json.load(f)
check("dashboard: Skein — find a trace, with its own uid", finder.get("uid") == "skein-find-a-trace")
check("dashboard: find-a-trace panels query Tempo with TraceQL",
      finder.get("panels") and all(t.get("datasource", p["datasource"])["uid"] == "tempo" and t.get("queryType") == "traceql"
                                   for p in finder["panels"] for t in p.get("targets", [])))

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    if not ok or os.environ.get("VERBOSE"):
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
print(f"deploy checks: {len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
