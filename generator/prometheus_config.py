"""`deploy/prometheus/prometheus.yml`: scrape Vigil's exporters, load its rules, alert.

The spec's selectors are attached to every scraped series as target labels, which is
what lets the rules and dashboards filter on them (e.g. `environment="production"`).
Rule files are referenced relative to this file, so `promtool check config` works in
the repository and docker-compose.yml mounts the same layout.
"""

from __future__ import annotations

import posixpath
from typing import Any

from generator import catalogue, output, units
from generator.model import Spec

# Labels Prometheus attaches to every scraped series itself (the target's job and address).
TARGET_LABELS = ("job", "instance")


CONFIG_FILE = "deploy/prometheus/prometheus.yml"
SCRAPE_INTERVAL = 15.0  # seconds, every job
SCRAPE_TIMEOUT = 10.0  # generator/rules/monitoring.py alerts on scrapes close to it
RULE_FILES = ("../../alert_rules/*.rules.yml",)  # relative to CONFIG_FILE, as Prometheus reads it


def rule_globs() -> tuple[str, ...]:
    """RULE_FILES relative to the output root, for `vigil check` to see what Prometheus loads."""
    base = posixpath.dirname(CONFIG_FILE)
    return tuple(posixpath.normpath(posixpath.join(base, glob)) for glob in RULE_FILES)


def _job(spec: Spec, name: str, targets: tuple[str, ...]) -> dict[str, Any]:
    static: dict[str, Any] = {"targets": list(targets)}
    if spec.selectors:
        static["labels"] = dict(sorted(spec.selectors.items()))
    return {
        "job_name": name,
        "scrape_interval": units.format_duration(SCRAPE_INTERVAL),
        "scrape_timeout": units.format_duration(SCRAPE_TIMEOUT),
        "static_configs": [static],
    }


def config(spec: Spec) -> dict[str, Any]:
    """The exporters' jobs, then Prometheus and Alertmanager themselves (for the alerts
    about the monitoring, generator/rules/monitoring.py)."""
    scrape_configs = [_job(spec, spec.jobs[e], spec.targets[e]) for e in catalogue.EXPORTERS]
    for own in ("prometheus", "alertmanager"):
        scrape_configs.append(_job(spec, spec.monitoring.jobs[own], spec.monitoring.targets[own]))
    return {
        "global": {"scrape_interval": units.format_duration(SCRAPE_INTERVAL),
                   "evaluation_interval": "30s"},
        "rule_files": list(RULE_FILES),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(spec.alertmanagers)}]}]},
        "scrape_configs": scrape_configs,
    }


def outputs(spec: Spec) -> dict[str, str]:
    return {CONFIG_FILE: output.header(spec.source)
            + output.dump_yaml(config(spec))}
