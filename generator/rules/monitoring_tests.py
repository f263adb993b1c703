"""promtool tests of the monitoring alerts (`alert_rules/tests/monitoring.test.yml`).

Three test groups keep `vigil check` fast however many alerts there are:
1. every alert's firing inputs at once: each alert fires exactly for its own series
   (each uses its own `instance`, so one alert's inputs cannot raise another), with its
   labels and rendered annotations; the postgres collector that fails only because
   the database is unreachable is reported as the database, not as a collector;
2. every alert's healthy inputs: nothing fires but the Watchdog;
3. the InfoInhibitor: it fires while an info alert fires alone, and stops when an
   alert of a more severe severity fires in the same deployment.
"""

from __future__ import annotations

import re
from typing import Any

from generator import promql, templating, units
from generator.model import Spec
from generator.rules import monitoring
from generator.rules.monitoring import MonitoringAlert, Series

WARMUP = 300.0  # the 5-minute ranges fill up before anything is judged
_LABEL = re.compile(r"\{\{ \$labels\.(\w+) \}\}")


def _render(template: str, labels: dict[str, str]) -> str:
    """What Prometheus makes of an annotation that uses `$labels` only."""
    return _LABEL.sub(lambda m: labels.get(m.group(1), ""), template)


def _input(spec: Spec, series: Series, samples: int) -> dict[str, str]:
    name, labels, values = series
    text = values(samples) if callable(values) else values.replace("{n}", str(samples - 1))
    labelled = {**labels, **spec.selectors}
    return {"series": f"{name}{{{promql.matchers(sorted(labelled.items()))}}}", "values": text}


def _inputs(spec: Spec, series: list[Series], samples: int) -> list[dict[str, str]]:
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
    for item in series:
        key = (item[0], tuple(sorted(item[1].items())))
        if key in seen and seen[key] != item:
            raise AssertionError(f"two monitoring alerts feed {key} differently")
        seen[key] = item
    return [_input(spec, item, samples) for item in seen.values()]


def _expected(spec: Spec, alert: MonitoringAlert) -> list[dict[str, Any]]:
    result = []
    for labels in alert.fired:
        exp_labels = {**spec.selectors, **labels, **monitoring.alert_labels(spec, alert)}
        rendered = {k: _render(v, exp_labels) for k, v in
                    monitoring.annotations(spec, alert, templating.verbatim).items()}
        result.append({"exp_labels": exp_labels, "exp_annotations": rendered})
    return result


def _group(spec: Spec, title: str, alerts: list[MonitoringAlert], firing: bool) -> dict[str, Any]:
    longest = max(monitoring.alert_for(spec, a) for a in alerts)
    eval_seconds = WARMUP + longest + 60
    samples = int(eval_seconds // 60) + 2
    series = [s for a in alerts for s in (a.fire if firing else a.calm)]
    checks = []
    for alert in alerts:
        expected = _expected(spec, alert) if firing or alert.name == monitoring.WATCHDOG else []
        checks.append({"eval_time": units.format_duration(eval_seconds), "alertname": alert.name,
                       "exp_alerts": expected})
    return {"name": title, "interval": "1m", "input_series": _inputs(spec, series, samples),
            "alert_rule_test": checks}


def _info_inhibitor_group(spec: Spec, alert: MonitoringAlert) -> dict[str, Any] | None:
    found = monitoring.info_inhibitor_severities(spec)
    if found is None or not found[1]:
        return None
    info, stronger = found
    selectors = dict(spec.selectors)

    def alerts_series(name: str, severity: str) -> str:
        labels = {"alertname": name, "alertstate": "firing", "severity": severity, **selectors}
        return f"ALERTS{{{promql.matchers(sorted(labels.items()))}}}"

    return {
        "name": f"monitoring: {monitoring.INFO_INHIBITOR} holds {info} alerts back while "
                "nothing more severe fires",
        "interval": "1m",
        "input_series": [
            {"series": alerts_series("ExampleInfo", info), "values": "1x20"},
            {"series": alerts_series("ExampleWorse", stronger[-1]), "values": "_x10 1x10"},
        ],
        "alert_rule_test": [
            {"eval_time": "5m", "alertname": monitoring.INFO_INHIBITOR,
             "exp_alerts": _expected(spec, alert)},
            {"eval_time": "15m", "alertname": monitoring.INFO_INHIBITOR, "exp_alerts": []},
        ],
    }


def tests(spec: Spec) -> list[dict[str, Any]]:
    alerts = [a for a in monitoring.alerts(spec) if a.name != monitoring.INFO_INHIBITOR]
    groups = [
        _group(spec, "monitoring: every alert fires on its own inputs", alerts, firing=True),
        _group(spec, "monitoring: healthy inputs raise only the Watchdog", alerts, firing=False),
    ]
    inhibitor = next((a for a in monitoring.alerts(spec)
                      if a.name == monitoring.INFO_INHIBITOR), None)
    group = _info_inhibitor_group(spec, inhibitor) if inhibitor is not None else None
    return groups + ([group] if group is not None else [])
