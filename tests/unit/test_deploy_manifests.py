"""The Kubernetes manifests keep /metrics on a port Prometheus scrapes and nothing routes to."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

VALIDATE = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "validate.py"


@pytest.fixture(scope="module")
def validate() -> ModuleType:
    """deploy/k8s/validate.py, which `make lint-deploy` runs, loaded as a module."""
    spec = importlib.util.spec_from_file_location("k8s_validate", VALIDATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def base(validate: ModuleType) -> list[dict[str, Any]]:
    manifests: list[dict[str, Any]] = validate.render(validate.K8S / "base")
    return manifests


def _one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [manifest] = [m for m in manifests if m["kind"] == kind]
    return manifest


def test_the_shipped_manifests_scrape_the_metrics_port_and_expose_only_the_api(
    validate: ModuleType, base: list[dict[str, Any]]
) -> None:
    deployment = _one(base, "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    service_ports = _one(base, "Service")["spec"]["ports"]
    configured = _one(base, "ConfigMap")["data"]["ACCOUNTS_METRICS_PORT"]

    assert validate.metrics_rules(base) == []
    assert annotations["prometheus.io/port"] == configured
    assert [port["targetPort"] for port in service_ports] == ["http"]


def test_a_service_or_ingress_reaching_the_metrics_port_is_an_error(
    validate: ModuleType, base: list[dict[str, Any]]
) -> None:
    exposed = copy.deepcopy(base)
    _one(exposed, "Service")["spec"]["ports"].append(
        {"name": "metrics", "port": 9464, "targetPort": "metrics"}
    )
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "accounts"},
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {"name": "accounts", "port": {"number": 9464}}
                                },
                            }
                        ]
                    }
                }
            ]
        },
    }

    errors = validate.metrics_rules([*exposed, ingress])

    assert len(errors) == 2
    assert errors[0].startswith("Service/accounts: exposes the metrics port")
    assert errors[1].startswith("Ingress/accounts: routes to the metrics port")


def test_a_scrape_annotation_off_the_metrics_port_is_an_error(
    validate: ModuleType, base: list[dict[str, Any]]
) -> None:
    moved = copy.deepcopy(base)
    template = _one(moved, "Deployment")["spec"]["template"]
    template["metadata"]["annotations"]["prometheus.io/port"] = "8000"

    errors = validate.metrics_rules(moved)

    assert errors == [
        "Deployment/accounts: prometheus.io/port 8000 is not its container port 'metrics' [9464]"
    ]
