"""Kubernetes resources for the prometheus-operator and Grafana's dashboard sidecar.

Written into deploy/kubernetes/operator/ when the spec has a `kubernetes` section
(nothing changes for a spec without one). Every resource wraps a plain file that the
other emitters rendered in the same run (`outputs(spec, files)` takes them), one module
per kind:

- prometheus_rule.py: the rule files as PrometheusRule resources;
- scrape.py: the exporters' scrape jobs as ServiceMonitors or ScrapeConfigs;
- alertmanager_config.py: the routing as an AlertmanagerConfig (and what it cannot say);
- dashboards.py: the dashboards as sidecar ConfigMaps;
plus a kustomization.yaml listing them, for `kubectl apply -k`.
"""

from __future__ import annotations

import posixpath

from generator import output
from generator.kubernetes import alertmanager_config, dashboards, prometheus_rule, scrape
from generator.kubernetes.resources import OUT_DIR, KubernetesError
from generator.model import Spec

__all__ = ["OUT_DIR", "KubernetesError", "notes", "outputs"]
KUSTOMIZATION = f"{OUT_DIR}/kustomization.yaml"


def outputs(spec: Spec, files: dict[str, str]) -> dict[str, str]:
    """The resources wrapping `files` (the rendered plain outputs); {} without `kubernetes`."""
    if spec.kubernetes is None:
        return {}
    result: dict[str, str] = {}
    for emit in (prometheus_rule.outputs, scrape.outputs, alertmanager_config.outputs,
                 dashboards.outputs):
        result.update(emit(spec, files))
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": sorted(posixpath.relpath(p, OUT_DIR) for p in result)}
    result[KUSTOMIZATION] = output.header(spec.source) + output.dump_yaml(kustomization)
    return dict(sorted(result.items()))


def notes(spec: Spec, files: dict[str, str]) -> list[str]:
    """What `vigil generate` says about the Kubernetes resources: what they cannot express."""
    if spec.kubernetes is None:
        return []
    plain = alertmanager_config.plain_config(files)
    return [f"AlertmanagerConfig: {line}" for line in alertmanager_config.limitations(spec, plain)]
