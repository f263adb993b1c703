"""Grafana provisioning: the Prometheus datasource and the dashboard folder.

The datasource has a fixed uid (`vigil-prometheus`), which is also the default of
every dashboard's `datasource` variable, so provisioned dashboards work without a
person picking a datasource. Dashboards are loaded from the directory the compose
file mounts `dashboards/` at, into one folder per spec, and cannot be edited in the
UI: the spec is the source, and `vigil check` would report the drift anyway.
"""

from __future__ import annotations

from generator import output
from generator.dashboards.variables import DATASOURCE_NAME, DATASOURCE_UID
from generator.model import Spec

DATASOURCES_FILE = "deploy/grafana/provisioning/datasources/vigil.yml"
DASHBOARDS_FILE = "deploy/grafana/provisioning/dashboards/vigil.yml"
PROMETHEUS_URL = "http://prometheus:9090"
DASHBOARDS_PATH = "/var/lib/grafana/dashboards/vigil"
# Grafana's $__rate_interval is at least four scrape intervals; it must know the real one.
SCRAPE_INTERVAL = "15s"


def folder(spec: Spec) -> str:
    return "Vigil" if spec.name == "vigil" else f"Vigil {spec.name}"


def datasources(spec: Spec) -> str:
    body = {
        "apiVersion": 1,
        "datasources": [{
            "name": DATASOURCE_NAME,
            "uid": DATASOURCE_UID,
            "type": "prometheus",
            "access": "proxy",
            "url": PROMETHEUS_URL,
            "isDefault": True,
            "editable": False,
            "jsonData": {"timeInterval": SCRAPE_INTERVAL, "httpMethod": "POST"},
        }],
    }
    return output.header(spec.source) + output.dump_yaml(body)


def dashboards(spec: Spec, subdirectory: str | None = None) -> str:
    """The provider of the spec's folder; `subdirectory` of the dashboards directory
    when several sets share it (generator/deployment.py)."""
    path = DASHBOARDS_PATH if subdirectory is None else f"{DASHBOARDS_PATH}/{subdirectory}"
    body = {
        "apiVersion": 1,
        "providers": [{
            "name": spec.name,
            "orgId": 1,
            "folder": folder(spec),
            "folderUid": spec.name,
            "type": "file",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 30,
            "options": {"path": path, "foldersFromFilesStructure": False},
        }],
    }
    return output.header(spec.source) + output.dump_yaml(body)
