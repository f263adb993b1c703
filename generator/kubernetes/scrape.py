"""How the operator's Prometheus scrapes the exporters: ServiceMonitor or ScrapeConfig.

Both are translated from the exporters' jobs in the rendered prometheus.yml, so job
names, intervals, timeouts, target labels (the spec's selectors) and any relabelling
stay exactly those the rules and dashboards were written against.

- `service_monitor` (monitoring.coreos.com/v1): one ServiceMonitor per job, selecting
  the Service labelled `app.kubernetes.io/name: <job>` in the namespace, port
  `metrics` (deploy/kubernetes/exporters/ creates such Services). The operator would
  name the job after the Service; a relabelling sets it to the spec's job instead, and
  the selectors become target labels the same way.
- `static` (monitoring.coreos.com/v1alpha1): one ScrapeConfig per job with the spec's
  `targets`, for exporters outside the cluster.

Prometheus's and Alertmanager's own jobs are left out: the operator's stack scrapes
them already (the spec's `monitoring.prometheus.job` and `.alertmanager.job` must name
those jobs for the alerts about the monitoring).
"""

from __future__ import annotations

from typing import Any

from generator import inputs, prometheus_config
from generator.kubernetes import resources
from generator.model import Spec

SERVICE_MONITOR = ("monitoring.coreos.com/v1", "ServiceMonitor")
SCRAPE_CONFIG = ("monitoring.coreos.com/v1alpha1", "ScrapeConfig")
SERVICE_LABEL = "app.kubernetes.io/name"
PORT = "metrics"
RELABEL_KEYS = {"source_labels": "sourceLabels", "separator": "separator", "regex": "regex",
                "modulus": "modulus", "target_label": "targetLabel",
                "replacement": "replacement", "action": "action"}
# prometheus.yml keys of a job → the ServiceMonitor endpoint's / the ScrapeConfig's.
ENDPOINT_KEYS = {"scrape_interval": "interval", "scrape_timeout": "scrapeTimeout",
                 "metrics_path": "path", "params": "params", "scheme": "scheme"}
SCRAPE_CONFIG_KEYS = {"scrape_interval": "scrapeInterval", "scrape_timeout": "scrapeTimeout",
                      "metrics_path": "metricsPath", "params": "params", "scheme": "scheme"}


def _relabelings(job: dict[str, Any], key: str) -> list[dict[str, Any]]:
    result = []
    for rule in job.get(key) or []:
        unknown = sorted(set(rule) - set(RELABEL_KEYS))
        if unknown:
            raise resources.KubernetesError(f"job {job['job_name']!r}: relabelling key "
                                            f"{unknown[0]!r} has no prometheus-operator form here")
        result.append({RELABEL_KEYS[k]: v for k, v in rule.items()})
    return result


def _translate(job: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    handled = {"job_name", "static_configs", "relabel_configs", "metric_relabel_configs"}
    unknown = sorted(set(job) - set(keys) - handled)
    if unknown:
        raise resources.KubernetesError(f"job {job['job_name']!r}: {unknown[0]!r} has no "
                                        "prometheus-operator form here")
    body = {keys[k]: v for k, v in job.items() if k in keys}
    relabelings = _relabelings(job, "relabel_configs")
    if relabelings:
        body["relabelings"] = relabelings
    metric_relabelings = _relabelings(job, "metric_relabel_configs")
    if metric_relabelings:
        body["metricRelabelings"] = metric_relabelings
    return body


def exporter_jobs(spec: Spec, files: dict[str, str]) -> list[dict[str, Any]]:
    """The rendered prometheus.yml's jobs, less Prometheus's and Alertmanager's own."""
    config = inputs.load_yaml(files[prometheus_config.CONFIG_FILE]) or {}
    own = set(spec.monitoring.jobs.values())
    return [job for job in config.get("scrape_configs") or [] if job["job_name"] not in own]


def service_monitor(spec: Spec, job: dict[str, Any]) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"port": PORT, **_translate(job, ENDPOINT_KEYS)}
    labels: dict[str, str] = {}
    for static in job.get("static_configs") or []:
        labels.update(static.get("labels") or {})
    own = [{"action": "replace", "targetLabel": label, "replacement": value}
           for label, value in [("job", job["job_name"]), *sorted(labels.items())]]
    endpoint["relabelings"] = own + endpoint.get("relabelings", [])
    body = {"spec": {"selector": {"matchLabels": {SERVICE_LABEL: job["job_name"]}},
                     "endpoints": [endpoint]}}
    return resources.resource(spec, *SERVICE_MONITOR, resources.name(job["job_name"]), body)


def scrape_config(spec: Spec, job: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"jobName": job["job_name"], **_translate(job, SCRAPE_CONFIG_KEYS)}
    body["staticConfigs"] = [{k: v for k, v in static.items() if k in ("targets", "labels")}
                             for static in job.get("static_configs") or []]
    return resources.resource(spec, *SCRAPE_CONFIG, resources.name(job["job_name"]),
                              {"spec": body})


def outputs(spec: Spec, files: dict[str, str]) -> dict[str, str]:
    static = resources.settings(spec).scrape == "static"
    result = {}
    for job in exporter_jobs(spec, files):
        data = scrape_config(spec, job) if static else service_monitor(spec, job)
        kind = data["kind"].lower()
        result[f"{resources.OUT_DIR}/{kind}-{data['metadata']['name']}.yaml"] = resources.render(
            spec, data, f"Scrapes job {job['job_name']} of {prometheus_config.CONFIG_FILE}.")
    return result
