"""`deploy/prometheus/prometheus.yml`: scrape Vigil's exporters, load its rules, alert.

The spec's selectors are attached to every scraped series as target labels, which is
what lets the rules and dashboards filter on them (e.g. `environment="production"`).
Rule files are referenced relative to this file, so `promtool check config` works in
the repository and docker-compose.yml mounts the same layout.
"""

from __future__ import annotations

import posixpath
from typing import Any

from generator import catalogue, output
from generator.model import Spec

# Labels Prometheus attaches to every scraped series itself (the target's job and address).
TARGET_LABELS = ("job", "instance")


CONFIG_FILE = "deploy/prometheus/prometheus.yml"
RULE_FILES = ("../../alert_rules/*.rules.yml",)  # relative to CONFIG_FILE, as Prometheus reads it


def rule_globs() -> tuple[str, ...]:
    """RULE_FILES relative to the output root, for `vigil check` to see what Prometheus loads."""
    base = posixpath.dirname(CONFIG_FILE)
    return tuple(posixpath.normpath(posixpath.join(base, glob)) for glob in RULE_FILES)


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
        "rule_files": list(RULE_FILES),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(spec.alertmanagers)}]}]},
        "scrape_configs": scrape_configs,
    }


def outputs(spec: Spec) -> dict[str, str]:
    return {CONFIG_FILE: output.header(spec.source)
            + output.dump_yaml(config(spec))}
