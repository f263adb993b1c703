"""Where a dashboard lint rule does not apply, and why: one list, checked by the tests.

The dashboard linter's rules assume every query reads raw exporter series, scoped by
`job` and `instance`, over `$__rate_interval`. A few of Vigil's queries deliberately
do not, and each reason is written here rather than scattered through the lint code:

- `ALERTS` and `ALERTS_FOR_STATE` are written by Prometheus's rule evaluation with the
  alerting rule's labels (severity, team, signal/slo, selectors). An alert on a
  recorded or aggregated series has no job or instance to match.
- `vigil_slo:*` series are recorded by the SLO rules as sums over every instance of
  the service: an SLO is about the service, so job and instance are aggregated away.
  They keep the spec's selector labels, which the dashboards still match.
- `vigil:<signal>:baseline`, a forecast's projection (`:predicted_4h_from_2h`) and an
  anomaly band (`:band_mean_3x1w`, `:band_stddev_3x1w`) are recorded from the signal's
  recorded series, which carry the selector labels only; so are the capacity
  dashboard's `vigil:capacity:*` series.
- `vigil:mttr:seconds`, `vigil:mtbf:seconds` and `vigil:incidents:*` are recorded from
  the incident recorder over every incident of the service (reliability rules).
- The overview's monitoring health row reads every target's `up` and Prometheus's and
  Alertmanager's own series (jobs `monitoring.prometheus.job` / `.alertmanager.job`):
  the `job` and `instance` variables list the exporters' targets only, and a health
  view that a variable could narrow to "everything is fine" would hide the problem.
- Counted-events signals (`5/h`, `any`) draw their count over the threshold's own
  window, not `$__rate_interval`: the threshold is a count per that window, so the
  panel must show the number the alert compares with it. That count is the counter's
  newest sample minus its oldest in the window (generator.catalogue.counted), not
  `increase()`, whose extrapolation turns five events into 5.02: the counter is read
  by `max_over_time`, `min_over_time`, `last_over_time` and `resets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator import links
from generator.model import Spec


@dataclass(frozen=True)
class Exemption:
    rule: str
    reason: str
    metric: re.Pattern[str] | None = None  # series the rule does not apply to
    panels: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # (dashboard uid, panel id)

    def covers_metric(self, name: str | None) -> bool:
        return bool(self.metric and name and self.metric.fullmatch(name))

    def covers_panel(self, dashboard_uid: str, panel_id: int) -> bool:
        return (dashboard_uid, panel_id) in self.panels


_WITHOUT_JOB_INSTANCE: tuple[tuple[str, str], ...] = (
    ("ALERTS|ALERTS_FOR_STATE",
     "alert state carries the alerting rule's labels, not a scrape target's"),
    (r"vigil_slo:[a-z0-9_:]+",
     "recorded SLO series are aggregated over every instance of the service"),
    (r"vigil:[a-z0-9_]+:(baseline|predicted_[0-9a-z]+_from_[0-9a-z]+|band_(mean|stddev)_[0-9a-z]+)"
     r"|vigil:capacity:[a-z0-9_:]+",
     "recorded signal baselines, projections, bands and capacity series carry the spec's "
     "selector labels only"),
    (r"vigil:(mttr|mtbf):seconds|vigil:incidents:[a-z_]+",
     "MTTR, MTBF and target breaches are recorded over every incident of the service"),
    (r"up|prometheus_rule_evaluation_failures_total|prometheus_notifications_errors_total"
     r"|alertmanager_notifications_failed_total",
     "the monitoring health row covers every generated job, Prometheus and Alertmanager "
     "included, which the job and instance variables do not list"),
)


def exemptions(spec: Spec) -> tuple[Exemption, ...]:
    result = []
    for rule in ("target-job-rule", "target-instance-rule"):
        for pattern, reason in _WITHOUT_JOB_INSTANCE:
            result.append(Exemption(rule, reason, metric=re.compile(pattern)))
    counted = frozenset(
        (links.dashboard_uid(spec, s.definition.dashboard), s.panel_id)
        for s in spec.signals.values() if s.definition.is_counter and s.thresholds
    )
    result.append(Exemption(
        "target-counter-agg-rule",
        "counted events are exact differences of the counter's samples over their threshold's "
        "window (the count the alert compares), not extrapolated rates",
        panels=counted,
    ))
    return tuple(result)
