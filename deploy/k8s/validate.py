"""Render the Kustomize overlays and check every manifest against the Kubernetes JSON schemas.

`make lint-deploy` runs it. No kustomize binary is installable from the registries CI reaches
(Debian's kubectl 1.20 is too old to read `labels`), so this renders the subset of Kustomize the
manifests use: `resources`, `namespace`, `labels`, `images` and JSON 6902 `patches` with a
`target`. Any other kustomization field is an error here, so the files never rely on a feature
this renderer would silently skip; `kubectl kustomize` renders the same files the same way.
Schemas come from kubernetes-validate's bundled copy (strict: unknown fields fail), offline.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"
K8S = Path(__file__).resolve().parent
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
METRICS_PORT_NAME = "metrics"
Manifest = dict[str, Any]


def render(directory: Path) -> list[Manifest]:
    """The manifests `kustomize build directory` produces (for the supported fields)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: kustomization fields not supported here: {unknown}")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            manifests.extend(render(path))
        else:
            manifests.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in kustomization.get("patches", []):
        _patch(manifests, patch)
    for label in kustomization.get("labels", []):
        _label(manifests, label)
    for image in kustomization.get("images", []):
        _image(manifests, image)
    if namespace := kustomization.get("namespace"):
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED:
                manifest["metadata"]["namespace"] = namespace
    return manifests


def _label(manifests: list[Manifest], label: dict[str, Any]) -> None:
    if label.get("includeSelectors"):
        raise ValueError("labels with includeSelectors are not supported here")
    for manifest in manifests:
        manifest.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])


def _image(manifests: list[Manifest], image: dict[str, Any]) -> None:
    for container in _containers(manifests):
        name, _, tag = container["image"].partition(":")
        if name == image["name"]:
            container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"


def _patch(manifests: list[Manifest], patch: dict[str, Any]) -> None:
    target = patch["target"]
    operations = yaml.safe_load(patch["patch"])
    matched = [
        m
        for m in manifests
        if m["kind"] == target["kind"] and m["metadata"]["name"] == target["name"]
    ]
    if not matched:
        raise ValueError(f"patch target not found: {target}")
    for manifest in matched:
        for operation in operations:
            if operation["op"] not in {"replace", "add"}:
                raise ValueError(f"JSON patch op not supported here: {operation['op']}")
            *parents, last = operation["path"].strip("/").split("/")
            node = manifest
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node[key]
            if operation["op"] == "replace" and last not in node:
                raise ValueError(f"replace of a missing path: {operation['path']}")
            node[last] = copy.deepcopy(operation["value"])


def _containers(manifests: list[Manifest]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = []
    for manifest in manifests:
        spec = manifest.get("spec", {}).get("template", {}).get("spec", {})
        containers.extend(spec.get("containers", []) + spec.get("initContainers", []))
    return containers


def check(manifests: list[Manifest], source: str) -> list[str]:
    """Schema errors, and the rules the Deployment must keep, as readable lines."""
    errors = []
    for manifest in manifests:
        name = f"{source}: {manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {exc.message} at {'/'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: no schema ({exc})")
    return errors + [f"{source}: {error}" for error in metrics_rules(manifests)]


def metrics_rules(manifests: list[Manifest]) -> list[str]:
    """Prometheus scrapes each pod's metrics port, which no Service or Ingress exposes."""
    configured = {
        int(manifest["data"]["ACCOUNTS_METRICS_PORT"])
        for manifest in manifests
        if manifest["kind"] == "ConfigMap" and "ACCOUNTS_METRICS_PORT" in manifest.get("data", {})
    }
    errors = []
    for manifest in manifests:
        if manifest["kind"] == "Deployment":
            errors.extend(_scrape_errors(manifest, configured))
    for manifest in manifests:
        errors.extend(_exposure_errors(manifest, {METRICS_PORT_NAME, *configured}))
    return errors


def _scrape_errors(deployment: Manifest, configured: set[int]) -> list[str]:
    """The scrape annotation names the container's `metrics` port, which the app serves."""
    name = f"Deployment/{deployment['metadata']['name']}"
    template = deployment["spec"]["template"]
    annotated = template.get("metadata", {}).get("annotations", {}).get("prometheus.io/port")
    declared = {
        port["containerPort"]
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
        if port.get("name") == METRICS_PORT_NAME
    }
    errors = []
    if annotated is None or int(annotated) not in declared:
        errors.append(
            f"{name}: prometheus.io/port {annotated} is not its container port "
            f"{METRICS_PORT_NAME!r} {sorted(declared)}"
        )
    if declared != configured:
        errors.append(
            f"{name}: container port {METRICS_PORT_NAME!r} {sorted(declared)} differs from "
            f"ACCOUNTS_METRICS_PORT {sorted(configured)}"
        )
    return errors


def _exposure_errors(manifest: Manifest, metrics_ports: set[int | str]) -> list[str]:
    """A Service port or an Ingress backend that would reach the metrics port."""
    name = f"{manifest['kind']}/{manifest['metadata']['name']}"
    if manifest["kind"] == "Service":
        return [
            f"{name}: exposes the metrics port ({port})"
            for port in manifest["spec"].get("ports", [])
            if {port.get("targetPort"), port.get("port")} & metrics_ports
        ]
    if manifest["kind"] == "Ingress":
        return [
            f"{name}: routes to the metrics port ({backend})"
            for backend in _ingress_backends(manifest)
            if {
                backend.get("service", {}).get("port", {}).get("name"),
                backend.get("service", {}).get("port", {}).get("number"),
            }
            & metrics_ports
        ]
    return []


def _ingress_backends(ingress: Manifest) -> list[dict[str, Any]]:
    spec = ingress.get("spec", {})
    backends = [spec["defaultBackend"]] if "defaultBackend" in spec else []
    for rule in spec.get("rules", []):
        backends.extend(path["backend"] for path in rule.get("http", {}).get("paths", []))
    return backends


def main() -> int:
    sources: dict[str, list[Manifest]] = {
        "base": render(K8S / "base"),
        "secret.example.yaml": list(yaml.safe_load_all((K8S / "base/secret.example.yaml").open())),
    }
    for overlay in sorted((K8S / "overlays").iterdir()):
        sources[f"overlays/{overlay.name}"] = render(overlay)
    errors = [error for source, docs in sources.items() for error in check(docs, source)]
    for error in errors:
        print(error, file=sys.stderr)
    count = sum(len(docs) for docs in sources.values())
    print(f"kubernetes {KUBERNETES_VERSION} schemas: {count} manifests, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
