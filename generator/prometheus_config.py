"""`deploy/prometheus/prometheus.yml`: scrape Vigil's exporters, load its rules, alert.

The spec's selectors are attached to every scraped series as target labels, which is
what lets the rules and dashboards filter on them (e.g. `environment="production"`).
Rule files are referenced relative to this file, so `promtool check config` works in
the repository and docker-compose.yml mounts the same layout.

Several specs on one Prometheus (`combined`) share one file: a job that two specs
name (`vigil-host` scraped for two services) becomes one scrape config with one
target group per spec, each carrying its spec's selector labels, because Prometheus
refuses two scrape configs of one name and each spec's rules select its own series
by those labels.

Only the exporters a spec reads get a job (Spec.used_exporters). With
`exporters.http: blackbox_exporter` the http job follows blackbox_exporter's
multi-target pattern: its targets are the probed URLs, each scraped as
`/probe?module=...&target=<url>` from the one blackbox_exporter address, and the URL
becomes both `instance` and `target`, the labels Vigil's own probe series carry.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from generator import output, units
from generator.model import Spec

# Labels Prometheus attaches to every scraped series itself (the target's job and address).
TARGET_LABELS = ("job", "instance")


CONFIG_FILE = "deploy/prometheus/prometheus.yml"
SCRAPE_INTERVAL = 15.0  # seconds, every job
SCRAPE_TIMEOUT = 10.0  # generator/rules/monitoring.py alerts on scrapes close to it
RULE_FILES = ("../../alert_rules/*.rules.yml",)  # relative to CONFIG_FILE, as Prometheus reads it
# Several specs: each one's rules in alert_rules/<spec name>/ (generator/deployment.py),
# one entry per spec because Prometheus allows a wildcard in the last segment only.
SPEC_RULE_FILES = "../../alert_rules/{name}/*.rules.yml"


class ConfigConflict(ValueError):
    """Two specs ask for one scrape job with different settings."""


def _rule_files(names: Sequence[str] | None) -> tuple[str, ...]:
    return RULE_FILES if names is None else tuple(SPEC_RULE_FILES.format(name=n) for n in names)


def rule_globs(names: Sequence[str] | None = None) -> tuple[str, ...]:
    """The rule_files globs relative to the output root, for `vigil check` to see what
    Prometheus loads: one spec's, or those of the named specs of a combined deployment."""
    base = posixpath.dirname(CONFIG_FILE)
    return tuple(posixpath.normpath(posixpath.join(base, glob)) for glob in _rule_files(names))


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


def _probe_job(spec: Spec, exporter: str) -> dict[str, Any]:
    """blackbox_exporter's multi-target job: one target per URL, all sent to the exporter."""
    assert spec.probes is not None
    job = _job(spec, spec.jobs[exporter], spec.probes.urls)
    job["metrics_path"] = "/probe"
    job["params"] = {"module": [spec.probes.module]}
    job["relabel_configs"] = [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"source_labels": ["__param_target"], "target_label": "target"},
        {"target_label": "__address__", "replacement": spec.targets[exporter][0]},
    ]
    return job


def _exporter_job(spec: Spec, exporter: str) -> dict[str, Any]:
    if exporter == "http" and spec.probes is not None:
        return _probe_job(spec, exporter)
    return _job(spec, spec.jobs[exporter], spec.targets[exporter])


def config(spec: Spec) -> dict[str, Any]:
    """The jobs of the exporters the spec reads, then Prometheus and Alertmanager themselves
    (for the alerts about the monitoring, generator/rules/monitoring.py)."""
    scrape_configs = [_exporter_job(spec, e) for e in spec.used_exporters()]
    for own in ("prometheus", "alertmanager"):
        scrape_configs.append(_job(spec, spec.monitoring.jobs[own], spec.monitoring.targets[own]))
    return {
        "global": {"scrape_interval": units.format_duration(SCRAPE_INTERVAL),
                   "evaluation_interval": "30s"},
        "rule_files": list(RULE_FILES),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(spec.alertmanagers)}]}]},
        "scrape_configs": scrape_configs,
    }


def combined(specs: Sequence[Spec]) -> dict[str, Any]:
    """One configuration scraping every spec's targets and loading every spec's rules.

    Jobs of the same name are merged into one scrape config with the target groups
    of each spec (an identical group once); they must agree on everything else
    (interval, path, relabelling), or ConfigConflict names the job and both specs.
    """
    jobs: dict[str, tuple[Spec, dict[str, Any]]] = {}
    alertmanagers: list[str] = []
    for spec in specs:
        body = config(spec)
        for target in body["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]:
            if target not in alertmanagers:
                alertmanagers.append(target)
        for job in body["scrape_configs"]:
            name = job["job_name"]
            if name not in jobs:
                jobs[name] = (spec, {**job, "static_configs": list(job["static_configs"])})
                continue
            first, merged = jobs[name]
            settings = {k: v for k, v in job.items() if k != "static_configs"}
            if settings != {k: v for k, v in merged.items() if k != "static_configs"}:
                raise ConfigConflict(
                    f"scrape job {name!r}: {first.source} and {spec.source} scrape it with "
                    "different settings; give one of them its own job name (`jobs:`)")
            merged["static_configs"] += [g for g in job["static_configs"]
                                         if g not in merged["static_configs"]]
    first_body = config(specs[0])
    return {
        "global": first_body["global"],
        "rule_files": list(_rule_files([s.name for s in specs])),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]},
        "scrape_configs": [job for _, job in jobs.values()],
    }


def combined_outputs(specs: Sequence[Spec]) -> dict[str, str]:
    return {CONFIG_FILE: output.header([s.source for s in specs])
            + output.dump_yaml(combined(specs))}


def outputs(spec: Spec) -> dict[str, str]:
    return {CONFIG_FILE: output.header(spec.source)
            + output.dump_yaml(config(spec))}
