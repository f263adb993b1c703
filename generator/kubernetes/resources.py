"""What every generated Kubernetes resource shares: metadata, names, the size bound.

The resources are built from the plain files the other emitters render (rule files,
alertmanager.yml, prometheus.yml, dashboard JSON), never from the spec a second time,
so the operator's copy cannot say anything the plain files do not.
"""

from __future__ import annotations

import re
from typing import Any

from generator import output
from generator.model import Kubernetes, Spec

OUT_DIR = "deploy/kubernetes/operator"
# Kubernetes caps a ConfigMap's data at 1 MiB, and the prometheus-operator packs the
# rule files of PrometheusRules into ConfigMaps of that size, one resource never split.
MAX_DATA_BYTES = 1024 * 1024
PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"


class KubernetesError(Exception):
    """A resource cannot be generated (e.g. over a size limit); nothing is written."""


def settings(spec: Spec) -> Kubernetes:
    if spec.kubernetes is None:
        raise AssertionError("Kubernetes resources for a spec without a `kubernetes` section")
    return spec.kubernetes


def name(*parts: str) -> str:
    """A DNS-1123 name from parts such as a spec name and a job (`vigil_sql` → `vigil-sql`)."""
    text = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    if not text or len(text) > 63:
        raise KubernetesError(f"cannot make a Kubernetes name of {'-'.join(parts)!r} "
                              "(1 to 63 letters, digits and dashes)")
    return text


def resource(spec: Spec, api_version: str, kind: str, resource_name: str, body: dict[str, Any],
             labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A namespaced resource with the spec's labels (for the operator's selectors)."""
    kube = settings(spec)
    metadata: dict[str, Any] = {
        "name": resource_name,
        "namespace": kube.namespace,
        "labels": {**kube.labels, PART_OF: "vigil", MANAGED_BY: "vigil-generate",
                   **(labels or {})},
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def render(spec: Spec, data: dict[str, Any], comment: str = "") -> str:
    """One resource per file: `kubectl apply -f` and kustomize take them as they are."""
    notes = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    return output.header(spec.source) + notes + output.dump_yaml(data)


def check_size(what: str, size: int, limit: int = MAX_DATA_BYTES) -> None:
    if size > limit:
        raise KubernetesError(f"{what} is {size} bytes, over Kubernetes' limit of {limit} bytes "
                              "(1 MiB) for one ConfigMap's data")
