"""Absent-data alerts: a threshold whose metric has gone silent must not stay silent.

A threshold alert reads its signal's recorded series; when an exporter stops exporting
a metric (a collector broke, a relabel rule drops it, a query was renamed), the series
is gone, the alert can never fire, and nothing says so. For every signal with a
threshold (unless `optional: true`) and every SLO, this module adds alerts that fire
when the data they need has been missing for `absent_for` (`defaults.absent_for`,
overridable per signal and SLO).

Which metrics: read off the signal's PromQL with the parser (generator.promql
.presence_clauses), never listed by hand. `a / b` needs both, `a or b` needs either,
so `replication_lag` (primary's view or the standby's own) alerts only when both are
missing. Counters are watched by name, other metrics with their equality matchers
(see generator.promql.Watched).

Per target, not per metric: `absent()` loses every label but the ones it was asked
for, so it cannot see one instance of several losing a series. Instead each rule
starts from the targets of the signal's exporter job that are up now and were
already scraped `absent_grace` ago, and removes those that export one of the
metrics:

    (up{job="J"} == 1 and count_over_time(up{job="J"}[10m]) > count_over_time(up{job="J"}[5m]))
      unless on (instance) metric{job="J"}

("scraped before the last 5m": a target with samples older than the grace has more in
twice the window; a new one has the same count in both. Not `up offset 5m`, which
reads like a baseline and would have generator/demo/history.py backfill `up`.)

so the alert names the instance, a target that is down is left to target-down alerts
(no double page), and a target that came up recently has `absent_grace` to produce its
series (a new exporter's first SQL query may take a while). A job with no target at
all has no `up` either: that is the target monitoring's to report. A custom signal
without an exporter has no job to compare with; its metrics are watched with
`absent()` as a whole, while some target is up.

An SLO is dead when its SLI returns no data, whatever the cause (no requests counter
at all, a selector that matches nothing such as a `le="0.3"` bucket the exporter does
not have): its recorded total rate is absent, or, for a good/total SLI, the error rate
(total − good) is. An error/total SLI's error rate may be absent just because nothing
has failed yet, so only its metrics are watched per target. SLI metrics a signal of
the same job already watches are not watched twice.

Every alert carries `category: monitoring`, the severity of the spec's `monitoring:` section (`warning`
by default), the owner's team, and the owner as `signal` or `slo`, with `metric`
naming what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator import links, promql, templating, units
from generator.model import Severity, Slo, Spec
from generator.rules.signals import alert_name
from generator.rules.slo import BASE_WINDOW, series_matchers

CATEGORY = ("category", "monitoring")
RUNBOOK_ANCHOR = "absent_data"
RUNBOOK = (
    "The data an alert needs is missing while its target is up, so that alert cannot "
    "fire. Open the target's `/metrics` and look for the metric the alert names: if the "
    "exporter does not export it, read the exporter's log and its `..._collector_success` "
    "series (a failing collector or query); if it does, look for a `metric_relabel_configs` "
    "rule that drops it or a selector that no longer matches. For an SLO, check its SLI "
    "expressions against the exporter's series. Mark a signal `optional: true` in the "
    "spec when its metrics may legitimately be missing."
)


@dataclass(frozen=True)
class Watch:
    """One absent-data alerting rule and what its unit tests need to know."""

    alertname: str
    owner: tuple[str, str]  # ("signal", name) or ("slo", name)
    title: str
    exporter: str | None
    clause: promql.Clause  # empty for an SLO's recorded-series rule
    absent_for: float
    team: str
    dashboard: str
    panel_id: int | None

    @property
    def metric(self) -> str:
        return " or ".join(w.text() for w in self.clause)


def severity(spec: Spec) -> Severity:
    """The spec's `monitoring.severity`, as for the other alerts about the monitoring."""
    return spec.severities[spec.monitoring.severity]


def _scope_labels(spec: Spec) -> list[str]:
    return ["job", *spec.selectors]


def watches(spec: Spec) -> list[Watch]:
    """Every per-target (or per-metric) absent-data rule of the spec, signals first."""
    result: list[Watch] = []
    seen: set[tuple[str | None, frozenset[promql.Watched]]] = set()
    for signal in spec.signals.values():
        if not signal.enabled or not signal.thresholds or signal.optional:
            continue
        definition = signal.definition
        expr = promql.render(definition.expr, "")
        for clause in promql.presence_clauses(expr, _scope_labels(spec)):
            seen.add((definition.exporter, frozenset(clause)))
            result.append(Watch(f"{alert_name(signal.name)}Absent", ("signal", signal.name),
                                signal.title, definition.exporter, clause, signal.absent_for,
                                signal.team, definition.dashboard, signal.panel_id))
    for slo in spec.slos.values():
        for expr in _sli_exprs(slo):
            for clause in promql.presence_clauses(promql.render(expr, ""), _scope_labels(spec)):
                key = (slo.exporter, frozenset(clause))
                if key in seen:
                    continue
                seen.add(key)
                result.append(Watch(_slo_alertname(slo.name), ("slo", slo.name), slo.title,
                                    slo.exporter, clause, slo.absent_for, slo.team, "slo", None))
    return result


def _sli_exprs(slo: Slo) -> list[str]:
    return [e for e in (slo.total_expr, slo.error_expr, slo.good_expr) if e]


def _slo_alertname(name: str) -> str:
    return f"{alert_name(name)}SliAbsent"


def targets(spec: Spec, exporter: str | None, instances: str = "") -> str:
    """Targets of the exporter's job that are up now and were scraped `absent_grace` ago.

    `instances` (an RE2 alternation) keeps only those instances.
    """
    pinned = f"instance=~{promql.quote(instances)}" if instances else ""
    up = f"up{{{','.join(m for m in (pinned, spec.matchers(exporter)) if m)}}}"
    grace = units.format_duration(spec.absent_grace)
    twice = units.format_duration(2 * spec.absent_grace)
    return f"({up} == 1 and count_over_time({up}[{twice}]) > count_over_time({up}[{grace}]))"


def watch_expr(spec: Spec, watch: Watch) -> str:
    scope = spec.matchers(watch.exporter)
    if watch.exporter is None:
        missing = " and on () ".join(f"absent({w.selector(scope)})" for w in watch.clause)
        return f"{missing} and on () count({targets(spec, None)}) > 0"
    present = " or ".join(w.selector(scope) for w in watch.clause)
    up = targets(spec, watch.exporter, _pinned_instances(watch.clause))
    return f"{up} unless on (instance) ({present})"


def _pinned_instances(clause: promql.Clause) -> str:
    """An expression pinned to instances (`x{instance="db1:9187"}`) expects only those."""
    pinned = [dict(w.matchers).get("instance") for w in clause]
    if not pinned or None in pinned:
        return ""
    return "|".join(promql.regex_literal(i) for i in dict.fromkeys(pinned) if i is not None)


def slo_expr(spec: Spec, slo: Slo) -> str:
    """The SLO's recorded rates are missing while its exporter's targets are up.

    Only the total rate can go missing: the recording rules write the errors as
    `... or 0 * total`, so a good (or bad) counter without series yet reads as no good
    (or no bad) events. A good selector that matches nothing therefore burns the budget
    loudly, and the per-target watches name the metric that is missing.
    """
    total = f"vigil_slo:total:rate5m{series_matchers(spec, slo)}"
    return f"absent({total}) and on () count({targets(spec, slo.exporter)}) > 0"


def labels(spec: Spec, watch: Watch) -> dict[str, str]:
    level = severity(spec)
    result = {"severity": level.name, "priority": level.priority, "team": watch.team,
              watch.owner[0]: watch.owner[1], CATEGORY[0]: CATEGORY[1]}
    if watch.clause:
        result["metric"] = watch.metric
    return result


def annotations(spec: Spec, watch: Watch, where: str,
                text: Callable[[str], str] = templating.literal) -> dict[str, str]:
    """Summary and description; `where` names the target (a template or its rendering).

    `text` as in signals.annotations: the rules pass templating.literal for the spec's
    own words, the unit tests templating.verbatim.
    """
    title = text(watch.title)
    waited = units.format_duration(watch.absent_for)
    alerts = "SLO's burn-rate alerts" if watch.owner[0] == "slo" else "alerts"
    if not watch.clause:
        summary = f"{title} SLO: its SLI returns no data"
        description = (f"The {title} SLO has recorded no error or total rate for {waited}: "
                       f"its SLI selects no series, so its {alerts} cannot fire.")
    else:
        summary = f"{title}: no data from {where}"
        expected = text(" or ".join(w.text() for w in watch.clause))
        job = f" (job {text(spec.jobs[watch.exporter])})" if watch.exporter else ""
        description = (f"{where}{job} has exported no {expected} for {waited} while up: "
                       f"the {title} {alerts} cannot fire.")
    return {
        "summary": summary,
        "description": description,
        "runbook_url": text(links.runbook_url(spec, RUNBOOK_ANCHOR)),
        "dashboard_url": text(links.dashboard_url(spec, watch.dashboard, watch.panel_id)),
    }


def _where(watch: Watch) -> str:
    return "{{ $labels.instance }}" if watch.exporter else "any target"


def _rule(spec: Spec, watch: Watch, expr: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": watch.alertname, "expr": expr}
    if watch.absent_for:
        rule["for"] = units.format_duration(watch.absent_for)
    rule["labels"] = {k: templating.literal(v) for k, v in labels(spec, watch).items()}
    rule["annotations"] = annotations(spec, watch, _where(watch))
    return rule


def slo_watch(slo: Slo) -> Watch:
    """The SLO's recorded-series rule, as a Watch without a clause."""
    return Watch(_slo_alertname(slo.name), ("slo", slo.name), slo.title, slo.exporter, (),
                 slo.absent_for, slo.team, "slo", None)


# Rules per absent-data group. Prometheus evaluates a group's rules one after another
# but groups side by side: at 10,000 signals one group of every absent-data rule took
# 8 s of its 30 s on two cores (bench/rules_bench.py); groups of this size take well
# under a second each.
MAX_RULES_PER_GROUP = 500


def groups(spec: Spec) -> list[dict[str, Any]]:
    """`<spec>.absent`, then `<spec>.absent.2`, ... of at most MAX_RULES_PER_GROUP rules each
    (no absent-data rule reads another's result, so how they are cut does not matter)."""
    rules = [_rule(spec, w, watch_expr(spec, w)) for w in watches(spec)]
    rules += [_rule(spec, slo_watch(slo), slo_expr(spec, slo)) for slo in spec.slos.values()]
    return [{"name": f"{spec.name}.absent" + (f".{n + 1}" if n else ""),
             "rules": rules[start:start + MAX_RULES_PER_GROUP]}
            for n, start in enumerate(range(0, len(rules), MAX_RULES_PER_GROUP))]


# -- promtool unit tests ------------------------------------------------------------------

MINUTE = 60.0
STEADY = "test-1:9000"  # exports everything throughout
LOSING = "test-2:9000"  # stops exporting every watched metric at `gone`, stays up
NEW = "test-3:9000"  # comes up at `gone` and never exports the metrics


def _minutes(seconds: float) -> float:
    """`for` and the grace take effect at the next whole-minute evaluation."""
    return -(-seconds // MINUTE) * MINUTE


def _series(name: str, labels: dict[str, str]) -> str:
    return f"{name}{{{promql.matchers(sorted(labels.items()))}}}"


def _values(samples: int, start: int = 0, stop: int | None = None) -> str:
    """`_` before sample `start`, 1 up to `stop` (a staleness marker there), `_` after."""
    stop = samples if stop is None else stop
    return " ".join("_" if i < start or i > stop else "stale" if i == stop else "1"
                    for i in range(samples))


def _target_labels(spec: Spec, exporter: str | None, instance: str) -> dict[str, str]:
    labels = dict(spec.selectors)
    if exporter is not None:
        labels["job"] = spec.jobs[exporter]
    return {**labels, "instance": instance}


def _expected(spec: Spec, watch: Watch, instance: str | None) -> dict[str, Any]:
    """The alert `watch` raises for `instance` (None: the SLO's or an exporter-less rule)."""
    if instance is not None:
        where = _target_labels(spec, watch.exporter, instance)
    elif watch.clause:  # absent() keeps the equality matchers of its first selector
        where = {**dict(watch.clause[0].matchers), **spec.selectors}
    else:
        where = {watch.owner[0]: watch.owner[1], **spec.selectors}
    return {"exp_labels": {**where, **labels(spec, watch)},
            "exp_annotations": annotations(spec, watch, instance or "any target",
                                           templating.verbatim)}


def _inputs(spec: Spec, all_watches: list[Watch], samples: int, gone: int,
            everything: bool) -> list[dict[str, str]]:
    """`up` of each job's targets and every watched metric on them.

    `everything`: every instance stops exporting at `gone` (the SLIs die); otherwise
    only LOSING does, and NEW comes up at `gone` without ever exporting.
    """
    series: dict[str, str] = {}
    for exporter in dict.fromkeys(w.exporter for w in all_watches):
        series[_series("up", _target_labels(spec, exporter, STEADY))] = _values(samples)
        series[_series("up", _target_labels(spec, exporter, LOSING))] = _values(samples)
        if not everything:
            series[_series("up", _target_labels(spec, exporter, NEW))] = _values(samples, gone)
    for watch in all_watches:
        for watched in watch.clause:
            for instance in (STEADY, LOSING):
                labels_ = {**_target_labels(spec, watch.exporter, instance),
                           **{k: v for k, v in watched.matchers if v}}
                stop = gone if everything or instance == LOSING else None
                series[_series(watched.name, labels_)] = _values(samples, stop=stop)
    return [{"series": name, "values": values} for name, values in series.items()]


def _check(spec: Spec, alertname: str, at: float, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": units.format_duration(at), "alertname": alertname, "exp_alerts": alerts}


def unit_tests(spec: Spec) -> list[dict[str, Any]]:
    """Two test groups for every absent-data rule of the spec (compact: `vigil check` time).

    1. One instance of several loses every watched metric while staying up: each rule
       fires for it after its `absent_for` and not a minute before; a target that came
       up at the same moment and never exports is quiet through `absent_grace`, then
       caught too; an optional or disabled signal raises nothing.
    2. Every instance loses every metric: each SLO's SLI returns no data and its alert
       fires after `absent_for` (counted from when the 5m rates run dry).
    """
    all_watches = watches(spec)
    slo_watches = [slo_watch(slo) for slo in spec.slos.values()]
    if not all_watches and not slo_watches:
        return []
    grace = _minutes(spec.absent_grace)
    gone = max(10 * MINUTE, grace + MINUTE)  # LOSING has been scraped for the grace by then
    by_name: dict[str, list[Watch]] = {}
    for watch in [*all_watches, *slo_watches]:
        by_name.setdefault(watch.alertname, []).append(watch)
    longest = max(_minutes(w.absent_for) for ws in by_name.values() for w in ws)

    checks = []
    for alertname, named in by_name.items():
        waited = max(_minutes(w.absent_for) for w in named)
        per_target = [w for w in named if w.exporter is not None and w.clause]
        fires = gone + waited
        checks.append(_check(spec, alertname, fires - MINUTE, []))
        checks.append(_check(spec, alertname, fires,
                             [_expected(spec, w, LOSING) for w in per_target]))
        # A target's grace ends at the first evaluation after `absent_grace` (Prometheus 3)
        # or the one after that (2.x, whose ranges include their left end).
        after_grace = gone + grace + MINUTE + waited
        checks.append(_check(spec, alertname, after_grace,
                             [_expected(spec, w, i) for w in per_target for i in (LOSING, NEW)]))
    quiet = [s for s in spec.signals.values()
             if s.thresholds and (s.optional or not s.enabled)
             and f"{alert_name(s.name)}Absent" not in by_name]
    end = gone + grace + MINUTE + longest
    checks += [_check(spec, f"{alert_name(s.name)}Absent", end, []) for s in quiet]
    samples = int(end // MINUTE) + 2
    tests = [{
        "name": "absent data: one instance loses its series, a new target has its grace",
        "interval": "1m",
        "input_series": _inputs(spec, all_watches, samples, int(gone // MINUTE), False),
        "alert_rule_test": checks,
    }]
    if slo_watches:
        dry = gone + units.parse_duration(BASE_WINDOW)
        slo_checks = []
        for alertname in dict.fromkeys(w.alertname for w in slo_watches):
            named = by_name[alertname]
            waited = max(_minutes(w.absent_for) for w in named)
            per_target = [w for w in named if w.exporter is not None and w.clause]
            expected = [_expected(spec, w, None) for w in named if not w.clause or w.exporter is None]
            expected += [_expected(spec, w, i) for w in per_target for i in (STEADY, LOSING)]
            slo_checks.append(_check(spec, alertname, gone + waited - MINUTE, []))
            slo_checks.append(_check(spec, alertname, dry + waited, expected))
        samples = int((dry + longest) // MINUTE) + 2
        tests.append({
            "name": "absent data: every series gone, each SLO's SLI returns no data",
            "interval": "1m",
            "input_series": _inputs(spec, all_watches, samples, int(gone // MINUTE), True),
            "alert_rule_test": slo_checks,
        })
    return tests
