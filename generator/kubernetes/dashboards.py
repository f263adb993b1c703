"""Dashboards as ConfigMaps for Grafana's dashboard sidecar (kiwigrid k8s-sidecar).

The Grafana Helm chart (and kube-prometheus-stack) runs the sidecar watching
ConfigMaps labelled `grafana_dashboard: "1"`; the folder comes from an annotation
whose name is the chart's `sidecar.dashboards.folderAnnotation` (commonly
`grafana_folder`) or the sidecar's own default, `k8s-sidecar-target-directory`. Both
are set, to the folder the file provisioning uses (generator/dashboards/provisioning.py).

Each dashboard is its own ConfigMap holding the exact JSON written to dashboards/,
keyed `<spec name>-<dashboard>.json` so that several specs' dashboards can share the
sidecar's directory. A dashboard over the 1 MiB ConfigMap limit is refused with the
reason: a dashboard cannot be split between files.
"""

from __future__ import annotations

from generator.dashboards import BUILDERS, dashboard_path, provisioning
from generator.kubernetes import resources
from generator.model import Spec

SIDECAR_LABEL = {"grafana_dashboard": "1"}
FOLDER_ANNOTATIONS = ("grafana_folder", "k8s-sidecar-target-directory")


def configmap(spec: Spec, dashboard: str, text: str) -> dict[str, object]:
    key = f"{spec.name}-{dashboard}.json"
    resources.check_size(f"dashboard {dashboard!r} ({key})", len(key) + len(text.encode()))
    folder = provisioning.folder(spec)
    return resources.resource(
        spec, "v1", "ConfigMap", resources.name(spec.name, "dashboard", dashboard),
        {"data": {key: text}}, labels=SIDECAR_LABEL,
        annotations=dict.fromkeys(FOLDER_ANNOTATIONS, folder))


def outputs(spec: Spec, files: dict[str, str]) -> dict[str, str]:
    result = {}
    for dashboard in sorted(BUILDERS):
        path = dashboard_path(dashboard)
        if path not in files:
            continue
        data = configmap(spec, dashboard, files[path])
        result[f"{resources.OUT_DIR}/configmap-{data['metadata']['name']}.yaml"] = (
            resources.render(spec, data, f"{path}, for Grafana's dashboard sidecar."))
    return result
