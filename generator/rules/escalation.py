"""Escalation as rules plus routes.

Alertmanager cannot ask "has this alert been firing for 15 minutes?"; Prometheus can.
For each step of a severity's escalation matrix, an `AlertEscalated` rule selects the
`ALERTS` series of that severity's firing alerts with `for:` set to the step's delay.
When it fires it carries the original labels, the original name as
`escalated_alertname`, and `escalation_level`; Alertmanager routes it to the step's
receivers (deploy/alertmanager/alertmanager.yml). Escalations never escalate
themselves: they select only alerts without an `escalation_level`.

When the original alert resolves, its `ALERTS` series goes away and so does the
escalation. A Prometheus restart keeps the pending time (`for` state is restored from
`ALERTS_FOR_STATE`).
"""

from __future__ import annotations

from typing import Any

from generator import promql, units
from generator.model import Severity, Spec

ALERT_NAME = "AlertEscalated"


def escalation_expr(spec: Spec, severity: Severity) -> str:
    matchers = promql.matchers([("alertstate", "firing"), ("severity", severity.name),
                                ("escalation_level", ""), *sorted(spec.selectors.items())])
    renamed = f'label_replace(ALERTS{{{matchers}}}, "escalated_alertname", "$1", "alertname", "(.+)")'
    return f'label_replace({renamed}, "alertstate", "", "alertstate", ".*")'


def groups(spec: Spec) -> list[dict[str, Any]]:
    rules = []
    for severity in spec.severities.values():
        for step in severity.escalation:
            rules.append({
                "alert": ALERT_NAME,
                "expr": escalation_expr(spec, severity),
                "for": units.format_duration(step.after),
                "labels": {"severity": severity.name, "escalation_level": str(step.level)},
                "annotations": {
                    "summary": ("{{ $labels.escalated_alertname }} is still firing after "
                                f"{units.format_duration(step.after)}: escalated to level {step.level}"),
                    "description": (f"A {severity.name} ({severity.priority}) alert was not resolved "
                                    f"within {units.format_duration(step.after)}; notifying "
                                    f"{', '.join(step.notify)}."),
                },
            })
    if not rules:
        return []
    return [{"name": f"{spec.name}.escalation", "rules": rules}]
