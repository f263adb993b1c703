"""`deploy/prometheus/prometheus.yml`: scrape Vigil's exporters, load its rules, alert.

The spec's selectors are attached to every scraped series as target labels, which is
what lets the rules and dashboards filter on them (e.g. `environment="production"`).
Rule files are referenced relative to this file, so `promtool check config` works in
the repository and docker-compose.yml mounts the same layout.
"""

from __future__ import annotations

from typing import Any

from generator import catalogue, output
from generator.model import Spec

# Labels Prometheus attaches to every scraped series itself (the target's job and address).
TARGET_LABELS = ("job", "instance")


def config(spec: Spec) -> dict[str, Any]:
    scrape_configs = []
    for exporter in catalogue.EXPORTERS:
        static: dict[str, Any] = {"targets": list(spec.targets[exporter])}
        if spec.selectors:
            static["labels"] = dict(sorted(spec.selectors.items()))
        scrape_configs.append({
            "job_name": spec.jobs[exporter],
            "scrape_interval": "15s",
            "scrape_timeout": "10s",
            "static_configs": [static],
        })
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "30s"},
        "rule_files": ["../../alert_rules/*.rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(spec.alertmanagers)}]}]},
        "scrape_configs": scrape_configs,
    }


def outputs(spec: Spec) -> dict[str, str]:
    return {"deploy/prometheus/prometheus.yml": output.header(spec.source)
            + output.dump_yaml(config(spec))}
