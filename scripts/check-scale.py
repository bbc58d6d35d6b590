#!/usr/bin/env python3
"""Checks the scaled compose stack without Docker: docker-compose.yml merged with
docker-compose.scale.yml the way `docker compose -f … -f …` merges them, validated against the
Compose Specification's JSON schema, plus what would make replicas clash or miss PostgreSQL.

Usage: scripts/check-scale.py   (from anywhere; exits non-zero if any check fails)
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPLICATED = ("controller", "scraper", "analyzer", "scheduler")
WITH_STORE = ("controller", "scheduler")
results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


# --- Compose's YAML tags and merge rules (the subset these two files need) ---------------------

class Reset:
    """`!reset x`: the key is removed from the merged model."""


class Override:
    """`!override x`: x replaces the earlier value instead of merging with it."""

    def __init__(self, value):
        self.value = value


class ComposeLoader(yaml.SafeLoader):
    pass


def _node_value(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_constructor("!reset", lambda loader, node: Reset())
ComposeLoader.add_constructor("!override", lambda loader, node: Override(_node_value(loader, node)))


def load_compose(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return yaml.load(f, Loader=ComposeLoader)


def as_mapping(value):
    """environment / depends_on may be written as a list; compose merges them as mappings."""
    if isinstance(value, list):
        out = {}
        for item in value:
            key, _, val = str(item).partition("=")
            out[key] = val if "=" in str(item) else None
        return out
    return value


def port_key(port):
    if isinstance(port, dict):
        return (port.get("host_ip"), str(port.get("published")), str(port.get("target")), port.get("protocol", "tcp"))
    return str(port)


def volume_key(volume):
    """Volumes are unique by their target path in the container."""
    if isinstance(volume, dict):
        return volume.get("target")
    parts = str(volume).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


UNIQUE_BY = {"ports": port_key, "volumes": volume_key}
REPLACED = {"command", "entrypoint"}
AS_MAPPING = {"environment", "depends_on"}


def merge(base, over, path=()):
    """Merges `over` into `base` (both plain YAML values) following the Compose Specification's
    merge rules: mappings by key, sequences appended (unique-keyed ones de-duplicated), shell
    commands and the healthcheck test replaced, `!reset` removes, `!override` replaces."""
    if isinstance(over, Override):
        return strip_tags(over.value)
    key = path[-1] if path else None
    if key in AS_MAPPING:
        base, over = as_mapping(base), as_mapping(over)
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if isinstance(v, Reset):
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v, path + (k,))
            else:
                out[k] = strip_tags(v)
        return out
    if isinstance(base, list) and isinstance(over, list) and key not in REPLACED and path[-2:] != ("healthcheck", "test"):
        if key in UNIQUE_BY:
            by_key = {UNIQUE_BY[key](item): item for item in base}
            by_key.update({UNIQUE_BY[key](item): item for item in strip_tags(over)})
            return list(by_key.values())
        return base + strip_tags(over)
    return strip_tags(over)


def strip_tags(value):
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value]
    return value


def self_test_merge():
    """The merge is part of what is checked: prove the rules the override relies on."""
    base = {"services": {"a": {"ports": ["8080:8080"], "environment": {"X": "1"}, "deploy": {"resources": {}},
                               "healthcheck": {"test": ["CMD", "a"]}, "volumes": ["d:/data"]}}}
    over = yaml.load("services: {a: {ports: !reset [], environment: [Y=2], deploy: {replicas: 2},"
                     " healthcheck: {test: [CMD, b]}, volumes: ['e:/data', 'f:/other']}}", Loader=ComposeLoader)
    got = merge(base, over)["services"]["a"]
    want = {"environment": {"X": "1", "Y": "2"}, "deploy": {"resources": {}, "replicas": 2},
            "healthcheck": {"test": ["CMD", "b"]}, "volumes": ["e:/data", "f:/other"]}
    check("merge rules: !reset, env as mapping, mapping merge, test replaced, volumes by target", got == want, f"{got}")


def published_ports(svc):
    """Host ports a service binds: any entry naming a published port."""
    out = []
    for port in svc.get("ports", []) or []:
        if isinstance(port, dict):
            if port.get("published") not in (None, ""):
                out.append(str(port["published"]))
            continue
        spec = str(port).split("/")[0]
        parts = spec.split(":")
        if len(parts) >= 2:
            out.append(parts[-2])
    return out


def pinned(image):
    tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
    return tag not in ("", "latest") and bool(re.search(r"\d+\.\d+", tag))


# --- the checks ---------------------------------------------------------------------------------

def check_compose():
    base = load_compose("docker-compose.yml")
    scale = load_compose("docker-compose.scale.yml")
    merged = merge(base, scale)
    with open(os.path.join(ROOT, "scripts/schemas/compose-spec.json"), encoding="utf-8") as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(merged), key=lambda e: list(e.path))
    check("merged stack validates against the Compose Specification schema", not errors,
          "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]))
    services = merged.get("services", {})

    for name in REPLICATED:
        svc = services.get(name, {})
        replicas = svc.get("deploy", {}).get("replicas", 1)
        check(f"{name}: at least 2 replicas", isinstance(replicas, int) and replicas >= 2, f"replicas={replicas}")
        check(f"{name}: publishes no fixed host port (replicas would clash)", not published_ports(svc), published_ports(svc))
        check(f"{name}: no container_name (replicas need generated names)", "container_name" not in svc)
        env = as_mapping(svc.get("environment", {})) or {}
        check(f"{name}: every replica reports one service.name ({name})", env.get("OTEL_SERVICE_NAME", name) == name
              and "service.name=" not in str(env.get("OTEL_RESOURCE_ATTRIBUTES", "")))
        check(f"{name}: no per-replica service.instance.id forced", "service.instance.id" not in str(env.get("OTEL_RESOURCE_ATTRIBUTES", "")))

    pg = services.get("postgres", {})
    check("postgres: service present", pg)
    check(f"postgres: official image pinned ({pg.get('image')})", re.fullmatch(r"postgres:\d+\.\d+(-\S+)?", pg.get("image", "")))
    check("postgres: healthcheck with pg_isready", "pg_isready" in pg.get("healthcheck", {}).get("test", []))
    check("postgres: memory limit", pg.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"))
    check("postgres: publishes no host port", not published_ports(pg))
    major = re.match(r"postgres:(\d+)", pg.get("image", ""))
    data_target = "/var/lib/postgresql" if major and int(major.group(1)) >= 18 else "/var/lib/postgresql/data"
    check(f"postgres: named data volume at {data_target} (the image's VOLUME for this major)",
          any(isinstance(v, str) and v.split(":")[1] == data_target and v.split(":")[0] in (merged.get("volumes") or {})
              for v in pg.get("volumes", [])))
    init_sql = ""
    for path in glob.glob(os.path.join(ROOT, "config/postgres/initdb/*.sql")):
        init_sql += open(path, encoding="utf-8").read()
    user = pg.get("environment", {}).get("POSTGRES_USER")

    databases = []
    for name in WITH_STORE:
        svc = services.get(name, {})
        url = (as_mapping(svc.get("environment", {})) or {}).get("DATABASE_URL", "")
        m = re.fullmatch(r"postgres(?:ql)?://([^:@/]+)(?::[^@/]*)?@([^:/]+)(?::(\d+))?/(\w+)", url or "")
        check(f"{name}: DATABASE_URL is the compose PostgreSQL ({url})", m and m.group(2) == "postgres")
        if m:
            check(f"{name}: DATABASE_URL user is POSTGRES_USER", m.group(1) == user)
            databases.append(m.group(4))
            check(f"{name}: database {m.group(4)} created by config/postgres/initdb",
                  re.search(rf"CREATE DATABASE {m.group(4)}\b", init_sql, re.I))
        dep = (as_mapping(svc.get("depends_on")) or {}).get("postgres", {})
        check(f"{name}: waits for postgres to be healthy", isinstance(dep, dict) and dep.get("condition") == "service_healthy")
    check("controller and scheduler use separate databases (separate migration histories)",
          len(databases) == 2 and databases[0] != databases[1], databases)

    proxy = services.get("proxy", {})
    check(f"proxy: image pinned ({proxy.get('image')})", pinned(proxy.get("image", "")))
    check("proxy: publishes the public port on loopback", "127.0.0.1:8080:8080" in proxy.get("ports", []), proxy.get("ports"))
    check("proxy: healthcheck", proxy.get("healthcheck", {}).get("test"))
    check("proxy: memory limit", proxy.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"))
    hosts = [p for name, svc in services.items() for p in published_ports(svc) if p == "8080"]
    check("only one service publishes host port 8080", len(hosts) == 1, hosts)
    conf_mounts = [v.split(":")[0] for v in proxy.get("volumes", []) if isinstance(v, str) and "/etc/nginx/nginx.conf" in v]
    check("proxy: mounts its nginx.conf", conf_mounts)
    if conf_mounts:
        check_nginx(os.path.join(ROOT, conf_mounts[0]), services)

    def networks(svc):
        nets = svc.get("networks")
        return set(nets) if nets else {"default"}

    for caller, callee in [("controller", "postgres"), ("scheduler", "postgres"), ("proxy", "controller")]:
        shared = networks(services.get(caller, {})) & networks(services.get(callee, {}))
        check(f"{caller} and {callee} share a network", shared)

    for name, svc in services.items():
        for dep in (as_mapping(svc.get("depends_on")) or {}):
            check(f"{name}: depends_on {dep} exists", dep in services)
        for volume in svc.get("volumes", []) or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./"):
                check(f"{name}: mounted {source} exists", os.path.exists(os.path.join(ROOT, source)))
            elif source and not source.startswith("/"):
                check(f"{name}: named volume {source} declared", source in (merged.get("volumes") or {}))
        if svc.get("image", "").startswith(("postgres", "nginx")) or name == "proxy":
            check(f"{name}: image pinned", pinned(svc.get("image", "")))


def check_nginx(path, services):
    conf = open(path, encoding="utf-8").read()
    code = re.sub(r"#.*", "", conf)
    port = (as_mapping(services.get("controller", {}).get("environment", {})) or {}).get("PORT", "8080")
    check("nginx: resolves through Docker's DNS (resolver 127.0.0.11)", re.search(r"^\s*resolver\s+127\.0\.0\.11\b", code, re.M))
    var = re.search(r"set\s+\$(\w+)\s+controller:(\d+)\s*;", code)
    check("nginx: upstream is the controller service by name, in a variable (re-resolved)", var)
    if var:
        check("nginx: upstream port is the controller's PORT", var.group(2) == str(port), f"{var.group(2)} vs {port}")
        passes = re.findall(r"proxy_pass\s+([^;]+);", code)
        check("nginx: every proxy_pass uses the variable", passes and all(p.strip() == f"http://${var.group(1)}" for p in passes), passes)
    check("nginx: server-sent events unbuffered", re.search(r"proxy_buffering\s+off", code))
    check("nginx: listens on 8080 (the published target)", re.search(r"^\s*listen\s+8080\s*;", code, re.M))
    health = re.findall(r"wget.*http://127\.0\.0\.1:(\d+)(/\S+)", " ".join(services.get("proxy", {}).get("healthcheck", {}).get("test", [])))
    check("nginx: serves the healthcheck's port and path",
          health and re.search(rf"listen\s+127\.0\.0\.1:{health[0][0]}\s*;", code) and f"location = {health[0][1]}" in code)
    nginx = shutil.which("nginx") or next(iter(glob.glob("/opt/skein-test-tools/nginx/usr/sbin/nginx")), None)
    check("nginx: a binary for `nginx -t` (scripts/install-test-deps.sh extracts Debian's)", nginx)
    if nginx:
        with tempfile.TemporaryDirectory() as prefix:
            run = subprocess.run([nginx, "-t", "-c", path, "-p", prefix, "-e", "/dev/stderr"],
                                 capture_output=True, text=True)
            out = (run.stdout + run.stderr).strip()
            # -t parses the whole file first ("syntax is ok"), then creates the temp paths compiled
            # into Debian's build (/var/lib/nginx), which a machine without the package lacks.
            emerg = [line for line in out.splitlines() if "[emerg]" in line]
            ok = run.returncode == 0 or ("syntax is ok" in out and all("/var/lib/nginx" in line for line in emerg))
            check("nginx -t: the proxy config parses", ok, out)


self_test_merge()
check_compose()

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    if not ok or os.environ.get("VERBOSE"):
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
print(f"scale checks: {len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
