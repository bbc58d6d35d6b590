#!/usr/bin/env python3
"""Checks the Docker stack's files without Docker: what would make `docker compose up` fail,
or the service map stay empty, caught before anyone runs it.

Usage: scripts/check-deploy.py   (from anywhere; exits non-zero if any check fails)
"""
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def load_yaml(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return yaml.safe_load(f)


def pinned(image):
    """name:tag with a tag that names a version (not latest, not a moving major)."""
    if ":" not in image.split("/")[-1]:
        return False
    tag = image.rsplit(":", 1)[1]
    return tag != "latest" and bool(re.search(r"\d+\.\d+", tag) or re.fullmatch(r"[a-z]+-\d{8}(-slim)?", tag))


compose = load_yaml("docker-compose.yml")
services = compose.get("services", {})
check("compose parses and names the project skein", compose.get("name") == "skein")
for want in ["controller", "scraper", "analyzer", "scheduler", "demo-site", "tempo", "prometheus", "grafana", "loki", "alloy"]:
    check(f"compose has service {want}", want in services)

for name, svc in services.items():
    image = svc.get("image", "")
    check(f"{name}: image pinned to a version ({image})", pinned(image))
    check(f"{name}: memory limit", svc.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"))
    if name != "init":
        check(f"{name}: healthcheck", svc.get("healthcheck", {}).get("test"))
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

for name in ("controller", "scraper", "analyzer", "scheduler"):
    env = services[name].get("environment", {})
    check(f"{name}: exports to Tempo's OTLP/gRPC port", env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://tempo:4317")
    check(f"{name}: built from the Dockerfile with SERVICE={name}", services[name].get("build", {}).get("args", {}).get("SERVICE") == name)
check("controller: GRAFANA_URL for trace links", services["controller"]["environment"].get("GRAFANA_URL"))
check("scraper: demo-site allowed", "demo-site" in services["scraper"]["environment"].get("SCRAPER_ALLOW_HOSTS", ""))
schedules_file = services["scheduler"]["environment"].get("SCHEDULES_FILE", "")
check("scheduler: SCHEDULES_FILE ships in the image", schedules_file.startswith("/etc/skein/schedules/")
      and os.path.exists(os.path.join(ROOT, "config/schedules", os.path.basename(schedules_file))))
prom_cmd = " ".join(services["prometheus"].get("command", []))
check("prometheus: remote-write receiver on", "--web.enable-remote-write-receiver" in prom_cmd)
check("prometheus: exemplars and native histograms on", "exemplar-storage" in prom_cmd and "native-histograms" in prom_cmd)

with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
    dockerfile = f.read()
for arg, image in re.findall(r"^ARG (\w+_IMAGE)=(\S+)", dockerfile, re.M):
    check(f"Dockerfile: {arg} pinned ({image})", pinned(image))
check("Dockerfile: runs as non-root", re.search(r"^USER 10001", dockerfile, re.M))
check("Dockerfile: dependency layer (cargo chef cook)", "cargo chef cook" in dockerfile)

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
check("tempo: OTLP gRPC receiver on 4317",
      tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317"))

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

alloy = open(os.path.join(ROOT, "config/alloy/config.alloy"), encoding="utf-8").read()
check("alloy: ships to the compose Loki", "http://loki:3100/loki/api/v1/push" in alloy)
check("alloy: labels streams by service", 'target_label  = "service"' in alloy)
check("alloy: trace_id is never a label", not re.search(r"labels\s*\{[^}]*trace_id", alloy))

promtool = subprocess.run(["promtool", "check", "config", os.path.join(ROOT, "config/prometheus/prometheus.yml")],
                          capture_output=True, text=True)
check("promtool check config", promtool.returncode == 0, (promtool.stdout + promtool.stderr).strip())

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    if not ok or os.environ.get("VERBOSE"):
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
print(f"deploy checks: {len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
