#!/usr/bin/env python3
"""Checks the Kubernetes manifests and the official charts' values without a cluster: renders
every overlay under deploy/kubernetes/overlays (scripts/kustomize_lite.py; also compared with
`kubectl kustomize` when kubectl is installed), validates every object against the pinned
Kubernetes schema in strict mode (kubernetes-validate), then checks what a schema cannot see:
probes, resources, selectors, references to ConfigMaps and Secret keys, autoscaling targets.

Usage: scripts/check-k8s.py   (from anywhere; exits non-zero if any check fails)
"""
import filecmp
import os
import re
import shutil
import subprocess
import sys

import kubernetes_validate
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize_lite  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy/kubernetes")
KUBERNETES_VERSION = "1.31.0"  # the oldest minor still supported upstream when this was written
SERVICES = {"controller": 8080, "scraper": 8081, "analyzer": 8082, "scheduler": 8083}
AUTOSCALED = ("scraper", "analyzer")
WORKLOADS = ("Deployment", "StatefulSet")
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def by_kind(objs, kind):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def generated_base(name):
    return re.sub(r"-[0-9a-z]{10}$", "", name)


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def port_number(container, port):
    if isinstance(port, int):
        return port
    return next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == port), None)


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- per rendered overlay -----------------------------------------------------------------------

def check_overlay(overlay, objs):
    tag = f"[{overlay}]"
    for obj in objs:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            check(f"{tag} {name}: valid Kubernetes {KUBERNETES_VERSION} (strict)", True)
        except Exception as e:  # the library raises several error types; all mean invalid
            check(f"{tag} {name}: valid Kubernetes {KUBERNETES_VERSION} (strict)", False, str(e).splitlines()[0])

    namespaces = by_kind(objs, "Namespace")
    check(f"{tag} exactly one Namespace object", len(namespaces) == 1, list(namespaces))
    ns = next(iter(namespaces), None)
    check(f"{tag} every namespaced object is in {ns}",
          all(o["metadata"].get("namespace") == ns for o in objs if o["kind"] != "Namespace"))

    deployments = by_kind(objs, "Deployment")
    workloads = [o for o in objs if o["kind"] in WORKLOADS]
    config_maps = by_kind(objs, "ConfigMap")
    secrets = by_kind(objs, "Secret")
    hpas = by_kind(objs, "HorizontalPodAutoscaler")

    for svc, port in SERVICES.items():
        dep = deployments.get(svc)
        check(f"{tag} Deployment {svc} exists", dep)
        if not dep:
            continue
        pod = dep["spec"]["template"]["spec"]
        c = next((c for c in pod["containers"] if c["name"] == svc), None)
        check(f"{tag} {svc}: container named {svc}", c)
        if not c:
            continue
        env = env_of(c)
        check(f"{tag} {svc}: containerPort {port} and PORT={port}",
              any(p["containerPort"] == port for p in c.get("ports", [])) and env.get("PORT", {}).get("value") == str(port))
        live, ready = c.get("livenessProbe", {}).get("httpGet", {}), c.get("readinessProbe", {}).get("httpGet", {})
        check(f"{tag} {svc}: liveness probe GET /health on the container port",
              live.get("path") == "/health" and port_number(c, live.get("port")) == port)
        check(f"{tag} {svc}: readiness probe GET /ready on the container port",
              ready.get("path") == "/ready" and port_number(c, ready.get("port")) == port)
        res = c.get("resources", {})
        check(f"{tag} {svc}: cpu and memory requests, memory limit",
              res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory"))
        sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
        check(f"{tag} {svc}: non-root, read-only root filesystem, no privilege escalation, no capabilities",
              (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")) and sc.get("readOnlyRootFilesystem") is True
              and sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities", {}).get("drop") == ["ALL"])
        check(f"{tag} {svc}: no service-account token mounted", pod.get("automountServiceAccountToken") is False)
        check(f"{tag} {svc}: one service.name for all replicas (OTEL_SERVICE_NAME={svc})",
              env.get("OTEL_SERVICE_NAME", {}).get("value") == svc)
        endpoint = [config_maps.get(s["configMapRef"]["name"], {}).get("data", {}).get("OTEL_EXPORTER_OTLP_ENDPOINT")
                    for s in c.get("envFrom", []) if "configMapRef" in s]
        check(f"{tag} {svc}: OTLP endpoint from a ConfigMap", any(endpoint) and "OTEL_EXPORTER_OTLP_ENDPOINT" not in env, endpoint)
        image = c["image"]
        check(f"{tag} {svc}: image tag pinned ({image})", re.search(r":[0-9][\w.-]*$", image) or "@sha256:" in image)
        if svc in ("controller", "scheduler"):
            ref = env.get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef")
            check(f"{tag} {svc}: DATABASE_URL from a Secret", ref and not ref.get("optional"))
            secret = secrets.get(ref["name"]) if ref else None
            if secret:
                url = secret.get("stringData", {}).get(ref["key"], "")
                check(f"{tag} {svc}: DATABASE_URL is a postgres:// URL", url.startswith(("postgres://", "postgresql://")), url)
        if svc in AUTOSCALED:
            check(f"{tag} {svc}: replica count left to its HPA (no spec.replicas)", "replicas" not in dep["spec"])
        else:
            check(f"{tag} {svc}: at least 2 replicas (leases and claim rows exist for this)", dep["spec"].get("replicas", 1) >= 2)

    sched = deployments.get("scheduler")
    if sched:
        pod = sched["spec"]["template"]["spec"]
        c = pod["containers"][0]
        path = env_of(c).get("SCHEDULES_FILE", {}).get("value", "")
        mount = next((m for m in c.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")), None)
        volume = next((v for v in pod.get("volumes", []) if mount and v["name"] == mount["name"]), {})
        cm = config_maps.get(volume.get("configMap", {}).get("name"), {})
        key = os.path.basename(path)
        check(f"{tag} scheduler: SCHEDULES_FILE is a key of a mounted ConfigMap", key in cm.get("data", {}), path)
        if key in cm.get("data", {}):
            check(f"{tag} scheduler: the schedules file is a JSON array",
                  isinstance(yaml.safe_load(cm["data"][key]), list))

    used_secret_keys = set()
    for w in workloads:
        wname = f"{w['kind']} {w['metadata']['name']}"
        pod = w["spec"]["template"]["spec"]
        labels = w["spec"]["template"]["metadata"].get("labels", {})
        check(f"{tag} {wname}: selector matches its pod labels", selects(w["spec"]["selector"].get("matchLabels"), labels))
        for c in pod["containers"]:
            check(f"{tag} {wname}/{c['name']}: readiness and liveness probes", c.get("readinessProbe") and c.get("livenessProbe"))
            check(f"{tag} {wname}/{c['name']}: memory limit", c.get("resources", {}).get("limits", {}).get("memory"))
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    check(f"{tag} {wname}: envFrom ConfigMap {source['configMapRef']['name']} exists",
                          source["configMapRef"]["name"] in config_maps)
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    s = ref["secretKeyRef"]
                    used_secret_keys.add((s["name"], s["key"]))
                    if s["name"] in secrets:
                        data = {**secrets[s["name"]].get("stringData", {}), **secrets[s["name"]].get("data", {})}
                        check(f"{tag} {wname}: Secret key {s['name']}/{s['key']} defined", s["key"] in data or s.get("optional"))
                    else:
                        # Created out of band (production): the base template documents its keys.
                        check(f"{tag} {wname}: Secret key {s['name']}/{s['key']} in the base template",
                              s["key"] in BASE_SECRET_KEYS.get(s["name"], set()))
                if "configMapKeyRef" in ref:
                    r = ref["configMapKeyRef"]
                    check(f"{tag} {wname}: ConfigMap key {r['name']}/{r['key']} defined",
                          r["key"] in config_maps.get(r["name"], {}).get("data", {}))
            # `$(VAR)` expands only variables defined above it (or by envFrom); anything else
            # reaches the service as the literal text.
            defined = {k for s in c.get("envFrom", []) if "configMapRef" in s
                       for k in config_maps.get(s["configMapRef"]["name"], {}).get("data", {})}
            for e in c.get("env", []):
                missing = [v for v in re.findall(r"\$\((\w+)\)", e.get("value", "")) if v not in defined]
                check(f"{tag} {wname}/{c['name']}: {e['name']} references only variables defined before it", not missing, missing)
                defined.add(e["name"])
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            check(f"{tag} {wname}/{c['name']}: every volumeMount names a volume",
                  mounts <= {v["name"] for v in pod.get("volumes", [])}
                  | {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])})
        for v in pod.get("volumes", []):
            if "configMap" in v:
                check(f"{tag} {wname}: volume ConfigMap {v['configMap']['name']} exists", v["configMap"]["name"] in config_maps)
    for sname, secret in secrets.items():
        keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
        unused = {k for k in keys if (sname, k) not in used_secret_keys}
        check(f"{tag} Secret {sname}: every key is read by a workload", not unused, sorted(unused))

    for svc in by_kind(objs, "Service").values():
        sel = svc["spec"].get("selector", {})
        targets = [w for w in workloads if selects(sel, w["spec"]["template"]["metadata"].get("labels", {}))]
        check(f"{tag} Service {svc['metadata']['name']}: selects exactly one workload", len(targets) == 1)
        for p in svc["spec"]["ports"]:
            ok = targets and any(port_number(c, p.get("targetPort", p["port"])) for c in targets[0]["spec"]["template"]["spec"]["containers"])
            check(f"{tag} Service {svc['metadata']['name']}: targetPort {p.get('targetPort')} is a container port", ok)

    for pdb in by_kind(objs, "PodDisruptionBudget").values():
        sel = pdb["spec"]["selector"].get("matchLabels", {})
        targets = [w for w in deployments.values() if selects(sel, w["spec"]["template"]["metadata"].get("labels", {}))]
        check(f"{tag} PDB {pdb['metadata']['name']}: selects exactly one Deployment", len(targets) == 1)
    for svc in SERVICES:
        check(f"{tag} {svc}: has a PodDisruptionBudget", any(
            selects(p["spec"]["selector"].get("matchLabels", {}), deployments.get(svc, {}).get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}))
            for p in by_kind(objs, "PodDisruptionBudget").values()))

    for hpa in hpas.values():
        ref = hpa["spec"]["scaleTargetRef"]
        target = deployments.get(ref["name"]) if ref["kind"] == "Deployment" else None
        check(f"{tag} HPA {hpa['metadata']['name']}: targets an existing Deployment", target)
        check(f"{tag} HPA {hpa['metadata']['name']}: minReplicas ≤ maxReplicas",
              hpa["spec"].get("minReplicas", 1) <= hpa["spec"]["maxReplicas"])
        if target:
            cpu = any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", []))
            check(f"{tag} HPA {hpa['metadata']['name']}: CPU target has CPU requests to measure against",
                  not cpu or all(c.get("resources", {}).get("requests", {}).get("cpu") for c in target["spec"]["template"]["spec"]["containers"]))
    check(f"{tag} HPAs for exactly scraper and analyzer", sorted(h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()) == sorted(AUTOSCALED))


def compare_with_kubectl(overlay, objs):
    """Where kubectl is installed, its kustomize must print the same objects (the generated
    names' hash suffixes differ: they are matched by position-free base name)."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print(f"note: kubectl not installed; [{overlay}] rendered by scripts/kustomize_lite.py only")
        return
    run = subprocess.run([kubectl, "kustomize", os.path.join(K8S, "overlays", overlay)], capture_output=True, text=True)
    if run.returncode != 0:
        check(f"[{overlay}] kubectl kustomize renders it", False, run.stderr.strip())
        return

    def normal(docs):
        generated = {o["metadata"]["name"] for o in docs if o["kind"] == "ConfigMap" and re.search(r"-[0-9a-z]{10}$", o["metadata"]["name"])}
        text = yaml.safe_dump(sorted(docs, key=lambda o: (o["kind"], o["metadata"]["name"])), sort_keys=True)
        for name in generated:
            text = text.replace(name, generated_base(name) + "-HASH")
        return yaml.safe_load(text)

    theirs, ours = normal(list(yaml.safe_load_all(run.stdout))), normal(objs)
    diff = [f"{a['kind']}/{a['metadata']['name']}" for a, b in zip(theirs, ours) if a != b]
    check(f"[{overlay}] kustomize_lite renders what kubectl kustomize renders",
          len(theirs) == len(ours) and not diff, f"{len(theirs)} vs {len(ours)} objects; differing: {diff}")


def check_copies():
    """kustomize reads files only below a kustomization: these are copies, kept identical."""
    pairs = [("config/schedules/demo.json", "deploy/kubernetes/base/schedules/demo.json")]
    pairs += [(f"config/postgres/initdb/{f}", f"deploy/kubernetes/overlays/dev/initdb/{f}")
              for f in os.listdir(os.path.join(ROOT, "config/postgres/initdb"))]
    pairs += [(f"config/demo-site/{f}", f"deploy/kubernetes/overlays/dev/demo-site/{f}")
              for f in os.listdir(os.path.join(ROOT, "config/demo-site"))]
    for original, copy in pairs:
        same = os.path.exists(os.path.join(ROOT, copy)) and filecmp.cmp(os.path.join(ROOT, original), os.path.join(ROOT, copy), shallow=False)
        check(f"{copy} is identical to {original}", same)


def check_renderer_refuses_what_it_does_not_implement():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "kustomization.yaml"), "w") as f:
            f.write("namePrefix: x-\n")
        try:
            kustomize_lite.render(d)
            check("kustomize_lite: an unimplemented field is an error", False)
        except kustomize_lite.KustomizeError:
            check("kustomize_lite: an unimplemented field is an error", True)


def check_overlay_specifics(rendered):
    dev, prod = rendered.get("dev", []), rendered.get("production", [])
    pd, dd = by_kind(prod, "Deployment"), by_kind(dev, "Deployment")
    check("[production] three controllers (replicas transformer)", pd.get("controller", {}).get("spec", {}).get("replicas") == 3)
    check("[production] images from the registry (images transformer)",
          all(d["spec"]["template"]["spec"]["containers"][0]["image"].startswith("registry.example.com/skein/") for n, d in pd.items() if n in SERVICES))
    check("[production] no placeholder Secret is applied", not by_kind(prod, "Secret"))
    check("[production] no CHANGE-ME anywhere", "CHANGE-ME" not in yaml.safe_dump_all(prod))
    check("[production] PodSecurity restricted enforced on the namespace",
          next(iter(by_kind(prod, "Namespace").values()), {}).get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted")
    tele = {generated_base(n): c for n, c in by_kind(prod, "ConfigMap").items()}.get("skein-telemetry", {}).get("data", {})
    check("[production] telemetry ConfigMap merged (environment changed, base keys kept)",
          tele.get("DEPLOYMENT_ENVIRONMENT") == "production" and tele.get("LOG_FORMAT") == "json")
    sched = {generated_base(n): c for n, c in by_kind(prod, "ConfigMap").items()}.get("skein-schedules", {}).get("data", {})
    check("[production] no demo schedules", yaml.safe_load(sched.get("schedules.json", "null")) == [])
    analyzer = pd.get("analyzer", {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
    check("[production] analyzer resources patched, other container fields kept",
          analyzer.get("resources", {}).get("requests", {}).get("cpu") == "500m" and analyzer.get("livenessProbe"))
    scraper_env = env_of(dd.get("scraper", {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0])
    check("[dev] scraper may reach the demo site (env merged by name)",
          scraper_env.get("SCRAPER_ALLOW_HOSTS", {}).get("value") == "demo-site" and "OTEL_SERVICE_NAME" in scraper_env)
    check("[dev] in-cluster PostgreSQL and demo site", "postgres" in by_kind(dev, "StatefulSet") and "demo-site" in dd)


def check_chart_values():
    path = os.path.join(ROOT, "deploy/charts-values")
    load = lambda f: yaml.safe_load(open(os.path.join(path, f), encoding="utf-8"))  # noqa: E731
    tempo, prom, grafana = load("tempo.yaml"), load("prometheus.yaml"), load("grafana.yaml")
    for f in ("tempo.yaml", "prometheus.yaml", "grafana.yaml"):
        head = open(os.path.join(path, f), encoding="utf-8").read(600)
        check(f"charts-values/{f}: names its chart and pinned version", re.search(r"chart [\w-]+/[\w-]+ \d+\.\d+\.\d+", head))
    gen = tempo.get("tempo", {}).get("metricsGenerator", {})
    check("tempo: metrics generator on", gen.get("enabled") is True)
    writes = gen.get("storage", {}).get("remote_write", [])
    check("tempo: remote write to the Prometheus chart's receiver, with exemplars",
          writes and all(w.get("url") == "http://prometheus-server.observability.svc.cluster.local/api/v1/write"
                         and w.get("send_exemplars") for w in writes))
    procs = tempo.get("tempo", {}).get("overrides", {}).get("defaults", {}).get("metrics_generator", {}).get("processors", [])
    check("tempo: service-graphs and span-metrics processors", {"service-graphs", "span-metrics"} <= set(procs))
    peers = tempo.get("tempo", {}).get("metricsGenerator", {}).get("processor", {}).get("service_graphs", {}).get("peer_attributes", [])
    compose_tempo = yaml.safe_load(open(os.path.join(ROOT, "config/tempo/tempo.yaml"), encoding="utf-8"))
    check("tempo: same peer_attributes as config/tempo/tempo.yaml",
          peers == compose_tempo["metrics_generator"]["processor"]["service_graphs"]["peer_attributes"])
    receivers = tempo.get("tempo", {}).get("receivers")
    check("tempo: OTLP gRPC receiver kept (the chart's default, or set)",
          receivers is None or receivers.get("otlp", {}).get("protocols", {}).get("grpc"))
    flags = prom.get("server", {}).get("extraFlags", [])
    check("prometheus: remote-write receiver on", "web.enable-remote-write-receiver" in flags)
    check("prometheus: exemplar storage on", any("exemplar-storage" in f for f in flags))
    sources = grafana.get("datasources", {}).get("datasources.yaml", {}).get("datasources", [])
    by_uid = {d.get("uid"): d for d in sources}
    compose_sources = yaml.safe_load(open(os.path.join(ROOT, "config/grafana/provisioning/datasources/datasources.yaml"), encoding="utf-8"))["datasources"]
    check("grafana: same datasource uids and types as config/grafana/provisioning",
          {(d["uid"], d["type"]) for d in sources} >= {(d["uid"], d["type"]) for d in compose_sources if d["type"] in ("tempo", "prometheus")})
    tempo_ds = by_uid.get("tempo", {}).get("jsonData", {})
    check("grafana: Tempo service map reads the Prometheus datasource", tempo_ds.get("serviceMap", {}).get("datasourceUid") == "prometheus")
    check("grafana: exemplars lead to Tempo", any(e.get("datasourceUid") == "tempo" for e in by_uid.get("prometheus", {}).get("jsonData", {}).get("exemplarTraceIdDestinations", [])))
    check("grafana: datasource URLs are in-cluster services", all(".svc" in d.get("url", "") for d in sources))


def base_secret_keys():
    out = {}
    for doc in kustomize_lite.load_docs(os.path.join(K8S, "base/secret.yaml")):
        if doc["kind"] == "Secret":
            out[doc["metadata"]["name"]] = set(doc.get("stringData", {})) | set(doc.get("data", {}))
    return out


BASE_SECRET_KEYS = base_secret_keys()
check_renderer_refuses_what_it_does_not_implement()
check_copies()
rendered = {}
for overlay in sorted(os.listdir(os.path.join(K8S, "overlays"))):
    try:
        rendered[overlay] = kustomize_lite.render(os.path.join(K8S, "overlays", overlay))
        check(f"[{overlay}] renders", True)
    except (kustomize_lite.KustomizeError, KeyError, TypeError, yaml.YAMLError) as e:
        check(f"[{overlay}] renders", False, f"{type(e).__name__}: {e}")
        continue
    check_overlay(overlay, rendered[overlay])
    compare_with_kubectl(overlay, rendered[overlay])
check("overlays dev and production exist", {"dev", "production"} <= set(rendered))
check_overlay_specifics(rendered)
check_chart_values()

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    if not ok or os.environ.get("VERBOSE"):
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
print(f"kubernetes checks: {len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
