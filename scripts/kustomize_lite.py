"""The subset of kustomize that deploy/kubernetes uses, so CI can render the overlays with no
kubectl or kustomize binary (Debian has none recent enough; PyPI and npm ship none).

Supported kustomization fields: resources (files and folders), namespace, labels (metadata
only), images, replicas, configMapGenerator (files, literals; behavior create/merge/replace;
name suffix hash with every reference updated) and patches given by `path` (strategic merge,
`$patch: delete` included). Anything else in a kustomization is an error, never ignored: a
field this renderer skipped would make the checks pass on manifests kustomize renders
differently. scripts/check-k8s.py compares this output with `kubectl kustomize` where kubectl
exists.
"""
import copy
import hashlib
import json
import os

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
             "configMapGenerator", "patches"}
# Strategic-merge keys of the lists these manifests patch; other lists are replaced whole.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass"}
POD_TEMPLATES = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class KustomizeError(Exception):
    pass


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def render(directory):
    """The objects `kustomize build directory` would print (in file order)."""
    resources, generated = _build(os.path.abspath(directory))
    _apply_hash_suffixes(resources, generated)
    return resources


def _build(directory):
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.exists(path):
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    with open(path, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")

    resources, generated = [], set()  # generated: ids of ConfigMaps that get a hash suffix
    for entry in k.get("resources", []):
        target = _inside(directory, entry)
        if os.path.isdir(target):
            sub, sub_generated = _build(target)
            resources += sub
            generated |= sub_generated
        else:
            resources += load_docs(target)

    for gen in k.get("configMapGenerator", []):
        data = _generator_data(directory, gen)
        behavior = gen.get("behavior", "create")
        existing = _find(resources, "ConfigMap", gen["name"])
        if behavior == "create":
            if existing:
                raise KustomizeError(f"{path}: ConfigMap {gen['name']} already exists (use behavior merge/replace)")
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data}
            resources.append(cm)
            generated.add(id(cm))
        elif behavior in ("merge", "replace"):
            if not existing:
                raise KustomizeError(f"{path}: ConfigMap {gen['name']} to {behavior} not found")
            existing["data"] = {**existing.get("data", {}), **data} if behavior == "merge" else data
        else:
            raise KustomizeError(f"{path}: unknown behavior {behavior}")

    for patch in k.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{path}: only `patches: - path:` is implemented, got {patch}")
        for doc in load_docs(_inside(directory, patch["path"])):
            target = _find(resources, doc["kind"], doc["metadata"]["name"])
            if target is None:
                raise KustomizeError(f"{patch['path']}: no {doc['kind']} {doc['metadata']['name']} to patch")
            if doc.get("$patch") == "delete":
                resources = [o for o in resources if o is not target]
            else:
                merged = strategic_merge(target, doc)
                target.clear()
                target.update(merged)

    if "namespace" in k:
        for obj in resources:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = k["namespace"]

    for group in k.get("labels", []):
        if group.get("includeSelectors") or group.get("includeTemplates"):
            raise KustomizeError(f"{path}: labels are implemented for metadata only")
        for obj in resources:
            obj["metadata"].setdefault("labels", {}).update(group["pairs"])

    for image in k.get("images", []):
        for container in _containers(resources):
            name, tag = _split_image(container["image"])
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"

    for rep in k.get("replicas", []):
        target = next((o for o in resources if o["kind"] in POD_TEMPLATES and o["metadata"]["name"] == rep["name"]), None)
        if target is None:
            raise KustomizeError(f"{path}: replicas for unknown workload {rep['name']}")
        target["spec"]["replicas"] = rep["count"]
    return resources, generated


def strategic_merge(target, patch):
    if isinstance(target, dict) and isinstance(patch, dict):
        out = copy.deepcopy(target)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out and key in MERGE_KEYS and isinstance(value, list):
                out[key] = _merge_list(out[key], value, MERGE_KEYS[key])
            elif key in out:
                out[key] = strategic_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def _merge_list(items, patch_items, key):
    """Like kustomize: the patch's items first, in patch order (merged into their match), then
    the items the patch did not name, in their order. (Order matters to env: `$(VAR)` only
    sees variables defined above it.)"""
    named = [item.get(key) for item in patch_items]
    out = []
    for item in patch_items:
        match = next((o for o in items if o.get(key) == item.get(key)), None)
        out.append(strategic_merge(match, item) if match is not None else copy.deepcopy(item))
    return out + [copy.deepcopy(o) for o in items if o.get(key) not in named]


def _generator_data(directory, gen):
    data = {}
    for literal in gen.get("literals", []):
        key, sep, value = literal.partition("=")
        if not sep:
            raise KustomizeError(f"literal {literal!r} has no `=`")
        data[key] = value
    for entry in gen.get("files", []):
        key, sep, rel = entry.partition("=")
        rel = rel if sep else key
        key = key if sep else os.path.basename(rel)
        with open(_inside(directory, rel), encoding="utf-8") as f:
            data[key] = f.read()
    unknown = set(gen) - {"name", "behavior", "literals", "files"}
    if unknown:
        raise KustomizeError(f"configMapGenerator {gen['name']}: unimplemented fields {sorted(unknown)}")
    return data


def _inside(directory, rel):
    """kustomize's default load restrictor: files below the kustomization's folder only
    (folders of other kustomizations may be anywhere)."""
    target = os.path.normpath(os.path.join(directory, rel))
    if not os.path.isdir(target) and os.path.commonpath([directory, target]) != directory:
        raise KustomizeError(f"{rel}: outside {directory} (kustomize's load restrictor refuses it)")
    if not os.path.exists(target):
        raise KustomizeError(f"{target}: no such file")
    return target


def _find(resources, kind, name):
    return next((o for o in resources if o["kind"] == kind and o["metadata"]["name"] == name), None)


def _split_image(image):
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        return image.rsplit(":", 1)
    return image, None


def _pod_specs(resources):
    for obj in resources:
        if obj["kind"] in POD_TEMPLATES:
            yield obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            yield obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _containers(resources):
    for spec in _pod_specs(resources):
        yield from spec.get("initContainers", []) + spec.get("containers", [])


def _apply_hash_suffixes(resources, generated):
    """name → name-<hash of kind, name and data>, like kustomize, and every reference from a
    pod spec (volumes, envFrom, configMapKeyRef) renamed to match."""
    renames = {}
    for obj in resources:
        if id(obj) in generated:
            name = obj["metadata"]["name"]
            canonical = json.dumps({"kind": "ConfigMap", "name": name, "data": obj.get("data", {})},
                                   sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
            obj["metadata"]["name"] = f"{name}-{digest}"
            renames[(obj["metadata"].get("namespace"), name)] = obj["metadata"]["name"]
    for obj in resources:
        ns = obj["metadata"].get("namespace")
        specs = []
        if obj["kind"] in POD_TEMPLATES:
            specs = [obj["spec"]["template"]["spec"]]
        for spec in specs:
            for volume in spec.get("volumes", []):
                if "configMap" in volume:
                    volume["configMap"]["name"] = renames.get((ns, volume["configMap"]["name"]), volume["configMap"]["name"])
            for container in spec.get("initContainers", []) + spec.get("containers", []):
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        ref = source["configMapRef"]
                        ref["name"] = renames.get((ns, ref["name"]), ref["name"])
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("configMapKeyRef")
                    if ref:
                        ref["name"] = renames.get((ns, ref["name"]), ref["name"])
