"""MTTR and MTBF, measured from the incident recorder, against the spec's targets.

The expressions are the catalogue's (`catalogue.RELIABILITY`): what changed in each
window of the recorder's counters, so a value is exact (no `increase()`
extrapolation) and a history shorter than the window counts from the store's
creation instead of reading an empty window as "no failures". They are recorded as
`vigil:mttr:seconds` and `vigil:mtbf:seconds` with a `window` label, once per window
(`Spec.reliability_windows`: the spec's `reliability.window`, 30 days by default,
and every report's period), and the alerts compare the `reliability.window` value
with `reliability.mttr` (above: `MttrAboveTarget`) and `reliability.mtbf` (below:
`MtbfBelowTarget`). With no incidents in a window there is no value, and no alert:
MTBF is unbounded then, MTTR undefined.

Time since the last incident is recorded per severity as
`vigil:incidents:time_since_last:seconds`, and the breaches of response and resolution
targets per priority as `vigil:incidents:{response,resolution}_target_breaches`.

Failures are the incidents of `reliability.severities` (default: the P0 and P1
severities): a warning is not an outage, and counting every info alert as a failure
would make MTBF meaningless.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from generator import catalogue, links, promql, templating, units
from generator.model import Severity, Spec
from generator.rules.humanize import humanize_value, value_template

RECORDED = {"mttr": "vigil:mttr:seconds", "mtbf": "vigil:mtbf:seconds"}
ALERTS = {"mttr": "MttrAboveTarget", "mtbf": "MtbfBelowTarget"}
SINCE_LAST = "vigil:incidents:time_since_last:seconds"
# Target breaches by priority, summed over the recorder's series: exact counts from its
# store, which the overview subtracts over its time range.
BREACHES = {kind: f"vigil:incidents:{kind}_target_breaches" for kind in ("response", "resolution")}
FOR = 600.0


def measured(spec: Spec) -> list[str]:
    """The reliability keys the spec sets targets for that are measured here."""
    return [k for k in ("mttr", "mtbf") if k in spec.reliability]


def expr(spec: Spec, key: str, window: float) -> str:
    definition = catalogue.RELIABILITY[key]
    severities = "|".join(re.escape(s) for s in spec.failure_severities) or "^$"
    template = (definition.expr.replace("$window_seconds", units.format_number(window))
                .replace("$severities", severities))
    return promql.render(template, spec.matchers(definition.exporter),
                         units.format_duration(window))


def alert_severity(spec: Spec) -> Severity:
    """A missed reliability target is a ticket, not a page: `warning`, else the mildest."""
    return spec.severities.get("warning") or list(spec.severities.values())[-1]


def _labels(spec: Spec, window: float) -> dict[str, str]:
    return {**dict(sorted(spec.selectors.items())), "window": units.format_duration(window)}


def _annotations(spec: Spec, key: str, value: str, text: Any = templating.literal) -> dict[str, str]:
    definition = catalogue.RELIABILITY[key]
    target = units.format_duration(spec.reliability[key])
    window = units.format_duration(spec.reliability_window)
    word = "above" if key == "mttr" else "below"
    return {
        "summary": f"{definition.title} over {window} {word} its target of {target}",
        "description": f"{definition.title} over the last {window} is {value}, {word} the "
                       f"target of {target} (reliability.{key}). {definition.description}",
        "runbook_url": text(links.runbook_url(spec, key)),
        "dashboard_url": text(links.dashboard_url(spec, "overview")),
    }


def alert_labels(spec: Spec, key: str) -> dict[str, str]:
    """The labels every generated alert carries; the team is the one most signals have."""
    severity = alert_severity(spec)
    teams = Counter(s.team for s in spec.signals.values())
    team = teams.most_common(1)[0][0] if teams else "operations"
    return {"severity": severity.name, "priority": severity.priority, "team": team,
            "signal": key}


def groups(spec: Spec) -> list[dict[str, Any]]:
    keys = measured(spec)
    if not keys:
        return []
    rules: list[dict[str, Any]] = []
    for key in keys:
        for window in spec.reliability_windows():
            rules.append({"record": RECORDED[key], "expr": expr(spec, key, window),
                          "labels": _labels(spec, window)})
    sel = spec.matchers("incidents")
    rules.append({"record": SINCE_LAST,
                  "expr": f"time() - max by (severity) "
                          f"(vigil_incidents_last_opened_timestamp_seconds{{{sel}}})",
                  "labels": dict(sorted(spec.selectors.items()))})
    for kind, record in BREACHES.items():
        rules.append({"record": record,
                      "expr": f"sum by (priority) "
                              f"(vigil_incidents_{kind}_target_breaches_total{{{sel}}})",
                      "labels": dict(sorted(spec.selectors.items()))})
    window = units.format_duration(spec.reliability_window)
    matchers = promql.matchers([*sorted(spec.selectors.items()), ("window", window)])
    for key in keys:
        comparator = ">" if key == "mttr" else "<"
        rules.append({
            "alert": ALERTS[key],
            "expr": f"{RECORDED[key]}{{{matchers}}} {comparator} "
                    f"{units.format_number(spec.reliability[key])}",
            "for": units.format_duration(FOR),
            "labels": {k: templating.literal(v) for k, v in alert_labels(spec, key).items()},
            "annotations": _annotations(spec, key, value_template("seconds")),
        })
    return [{"name": f"{spec.name}.reliability", "rules": rules}]


def runbook_sections(spec: Spec) -> list[str]:
    sections = []
    for key in measured(spec):
        definition = catalogue.RELIABILITY[key]
        sections.append(f"## {key}\n\n**{definition.title}.** {definition.description}\n\n"
                        f"Target: {units.format_duration(spec.reliability[key])} "
                        f"(reliability.{key}).\n\n{definition.runbook}\n")
    return sections


# -- promtool unit tests ---------------------------------------------------------------
INSTANCE = "incidents-1:9735"
OBSERVED = 10 * 86400.0  # the test store was created this long before the evaluation


def _series(spec: Spec, name: str, severity: str, values: str) -> dict[str, str]:
    labels = {**spec.selectors, "job": spec.jobs["incidents"], "instance": INSTANCE}
    if severity:
        labels.update(severity=severity, priority=spec.severities[severity].priority)
    return {"series": f"{name}{{{promql.matchers(sorted(labels.items()))}}}", "values": values}


def _case(spec: Spec, mttr: float, failures: int, title: str) -> dict[str, Any]:
    """Resolved failures lasting `mttr` on average and `failures` started in OBSERVED;
    the other severities' incidents, far worse, must not count."""
    eval_seconds = FOR + 600.0
    samples = int(eval_seconds // 60) + 1
    counted = spec.failure_severities[0]
    other = next((s for s in spec.severities if s not in spec.failure_severities), None)

    def constant(value: float) -> str:
        return f"{value!r}x{samples}"

    inputs = [
        _series(spec, "vigil_incidents_time_to_resolve_seconds_sum", counted,
                constant(mttr * failures)),
        _series(spec, "vigil_incidents_time_to_resolve_seconds_count", counted,
                constant(float(failures))),
        _series(spec, "vigil_incidents_opened_total", counted, constant(float(failures))),
        _series(spec, "vigil_incidents_store_created_timestamp_seconds", "",
                constant(eval_seconds - OBSERVED)),
    ]
    if other is not None:
        inputs += [
            _series(spec, "vigil_incidents_time_to_resolve_seconds_sum", other,
                    constant(100 * 86400.0)),
            _series(spec, "vigil_incidents_time_to_resolve_seconds_count", other, constant(1.0)),
            _series(spec, "vigil_incidents_opened_total", other, constant(1000.0)),
        ]
    values = {"mttr": mttr, "mtbf": OBSERVED / failures}
    checks = []
    for key in measured(spec):
        fires = values[key] > spec.reliability[key] if key == "mttr" else \
            values[key] < spec.reliability[key]
        labels = {**spec.selectors, "window": units.format_duration(spec.reliability_window),
                  **alert_labels(spec, key)}
        expected = [{"exp_labels": labels,
                     "exp_annotations": _annotations(spec, key,
                                                     humanize_value("seconds", values[key]),
                                                     templating.verbatim)}] if fires else []
        checks.append({"eval_time": units.format_duration(eval_seconds),
                       "alertname": ALERTS[key], "exp_alerts": expected})
    return {"name": title, "interval": "1m", "input_series": inputs, "alert_rule_test": checks}


def unit_tests(spec: Spec) -> list[dict[str, Any]]:
    """Both targets missed, then both met; a failure-free window is covered by the rule
    itself (no value, no alert)."""
    keys = measured(spec)
    if not keys or not spec.failure_severities:
        return []
    mttr_target = spec.reliability.get("mttr", 3600.0)
    mtbf_target = spec.reliability.get("mtbf", OBSERVED)
    missed = max(2, int(OBSERVED // (mtbf_target / 2)))  # MTBF at half its target (or less)
    met = max(1, int(OBSERVED // (mtbf_target * 2)))
    met_mtbf = OBSERVED / met
    if met_mtbf < mtbf_target:  # the target is beyond what 10 days can show: skip the case
        met = 0
    cases = [_case(spec, mttr_target * 1.5, missed, "reliability: MTTR and MTBF miss their targets")]
    if met:
        cases.append(_case(spec, mttr_target * 0.5, met, "reliability: MTTR and MTBF meet their targets"))
    return cases
