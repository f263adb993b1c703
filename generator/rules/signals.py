"""Recording and alerting rules for the spec's signals.

Each signal is recorded once (`vigil:<signal>`), from the catalogue's PromQL scoped by
the spec's selectors, and every threshold alerts on that recorded series. Dashboards
draw the same catalogue expression, so the alert and the graph cannot disagree.

How each kind of threshold reads:
- `80%`, `2s`, `< 4.0`: the recorded value compared with the threshold.
- `5/h` (events): the exact count of events over the threshold's own window
  (generator.catalogue.counted), recorded as `vigil:<signal>:increase1h`, above the
  threshold: more than five in the hour fires, five does not, whatever the alignment
  of scrapes and evaluations. A drop is a counter reset and only what came after it
  counts, and a series that appears (an exporter restart) counts from its first
  sample, so neither raises a false alarm.
- `any`: a count above zero over ANY_WINDOW (15 minutes), so that an event seen by
  the first scrape after a gap of up to ANY_MAX_GAP still fires, for five minutes at
  least (generator.thresholds).
- `20% below average`: the value against `vigil:<signal>:baseline`, the mean of the
  same moment in each of the last N weeks (weeks with no data are left out of the
  mean rather than counted as zero). The alert needs both the value and a baseline
  above zero, so missing data or an empty history never fires it.
- `90% within 4h` (forecast) and `anomaly 3σ`: alerts of their own names
  (`DiskUsageForecast`, `ErrorRateAnomaly`) beside the signal's, built in
  generator/rules/forecast.py and generator/rules/anomaly.py from the same recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator import links, promql, templating, units
from generator.model import Signal, Spec
from generator.rules import anomaly, forecast
from generator.rules.humanize import value_template
from generator.thresholds import (
    ABOVE,
    ANOMALY,
    ANY,
    ANY_WINDOW,
    BELOW,
    BELOW_BASELINE,
    FORECAST,
    Threshold,
    forecast_for,
)


def alert_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def threshold_alert_name(signal: Signal, threshold: Threshold) -> str:
    """Forecasts and anomalies alert under names of their own, so that they can sit
    beside a plain threshold of the same severity and be silenced apart."""
    suffix = {FORECAST: forecast.ALERT_SUFFIX, ANOMALY: anomaly.ALERT_SUFFIX}
    return alert_name(signal.name) + suffix.get(threshold.kind, "")


def threshold_for(signal: Signal, threshold: Threshold) -> float:
    """The `for` of the threshold's alert: the signal's, longer for forecasts and anomalies."""
    if threshold.kind == FORECAST:
        return forecast_for(threshold, signal.for_)
    if threshold.kind == ANOMALY:
        return anomaly.anomaly_for(signal.for_)
    return signal.for_


def recorded_name(signal: Signal, threshold: Threshold | None = None) -> str:
    """The recorded series an alert on `threshold` reads."""
    if threshold is not None and threshold.window is not None:
        return f"vigil:{signal.name}:increase{units.format_duration(threshold.window)}"
    return f"vigil:{signal.name}"


def selector(spec: Spec) -> str:
    """Recorded series carry the spec's selector labels (not the job): match on those."""
    matchers = spec.matchers(None)
    return f"{{{matchers}}}" if matchers else ""


@dataclass(frozen=True)
class SignalAlert:
    """One alerting rule and what its unit tests need to know about it."""

    signal: Signal
    threshold: Threshold
    rule: dict[str, Any]


def recording_rules(spec: Spec, signal: Signal) -> list[dict[str, Any]]:
    definition = signal.definition
    labels = dict(sorted(spec.selectors.items()))
    matchers = spec.matchers(definition.exporter)
    rules: list[dict[str, Any]] = []
    if definition.is_counter:
        windows = sorted({t.window or ANY_WINDOW for t in signal.thresholds} or {ANY_WINDOW})
        for window in windows:
            duration = units.format_duration(window)
            rules.append(recording_rule(f"vigil:{signal.name}:increase{duration}",
                                 promql.render(definition.expr, matchers, duration), labels))
        return rules
    rules.append(recording_rule(recorded_name(signal), promql.render(definition.expr, matchers), labels))
    if any(t.kind == BELOW_BASELINE for t in signal.thresholds):
        rules.append(recording_rule(f"vigil:{signal.name}:baseline", _baseline_expr(spec, signal), {}))
    series = f"{recorded_name(signal)}{selector(spec)}"
    forecasts = [t for t in signal.thresholds if t.kind == FORECAST]
    anomalies = [t for t in signal.thresholds if t.kind == ANOMALY]
    for name, expr in (forecast.recording_rules(signal.name, series, forecasts)
                       + anomaly.recording_rules(signal.name, series, selector(spec), anomalies)):
        rules.append(recording_rule(name, expr, labels))
    return rules


def _baseline_expr(spec: Spec, signal: Signal) -> str:
    series = f"{recorded_name(signal)}{selector(spec)}"
    weeks = [
        f'label_replace({series} offset {week}w, "baseline_week", "{week}", "", "")'
        for week in range(1, signal.baseline_weeks + 1)
    ]
    return f"avg without (baseline_week) ({' or '.join(weeks)})"


def recording_rule(name: str, expr: str, labels: dict[str, str]) -> dict[str, Any]:
    """A recording rule; `labels` only when there are any (an empty map is noise in YAML)."""
    rule: dict[str, Any] = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def alert_expr(spec: Spec, signal: Signal, threshold: Threshold) -> str:
    series = f"{recorded_name(signal, threshold)}{selector(spec)}"
    value = units.format_number(threshold.value)
    if threshold.kind == FORECAST:
        return forecast.alert_expr(signal.name, series, selector(spec), threshold)
    if threshold.kind == ANOMALY:
        return anomaly.alert_expr(signal.name, series, selector(spec), threshold)
    if threshold.kind == BELOW_BASELINE:
        baseline = f"vigil:{signal.name}:baseline{selector(spec)}"
        factor = units.format_number(round(1 - threshold.value, 12))
        return f"{series} < {factor} * {baseline} and {baseline} > 0"
    if threshold.kind == ANY:
        return f"{series} > 0"
    return f"{series} {threshold.comparator()} {value}"


def annotations(spec: Spec, signal: Signal, threshold: Threshold, value: str,
                label: Callable[[str], str],
                text: Callable[[str], str] = templating.literal) -> dict[str, str]:
    """Summary and description, with `value` and `label(name)` filled in by the caller.

    The rules pass Go template placeholders and `templating.literal` for the spec's own
    words (a `{{` in a title must stay text); the generated unit tests pass the text
    Prometheus will render and `templating.verbatim`, so the two are built by the same
    words.
    """
    title = text(signal.title)
    where = " ".join(label(name) for name in signal.definition.by)
    on = f" on {where}" if where else ""
    written = text(threshold.text)
    if threshold.predictive:
        module = forecast if threshold.kind == FORECAST else anomaly
        summary, description = module.describe(title, threshold, value, on, text)
    elif threshold.kind == BELOW_BASELINE:
        summary = f"{title} {written}{on}"
        description = (f"{title} is {value}, more than {units.format_percent(threshold.value)} "
                       f"below its average at this time over the last "
                       f"{signal.baseline_weeks} weeks.")
    elif threshold.kind == ANY:
        summary = f"{title} detected{on}"
        description = (f"{title}: {value} new events in the last "
                       f"{units.format_duration(ANY_WINDOW)}; any is reported.")
    elif threshold.window is not None:
        summary = f"{title} above {written}{on}"
        description = (f"{title}: {value} in the last {units.format_duration(threshold.window)}, "
                       f"above the {threshold.severity} threshold of {written}.")
    else:
        word = {ABOVE: "above", BELOW: "below"}[threshold.kind]
        bound = text(threshold.text.lstrip("<>= "))
        summary = f"{title} {word} {bound}{on}"
        description = f"{title} is {value}, {word} the {threshold.severity} threshold of {bound}."
    return {
        "summary": summary,
        "description": description,
        "runbook_url": text(links.runbook_url(spec, signal.name)),
        "dashboard_url": text(links.dashboard_url(spec, signal.definition.dashboard,
                                                  signal.panel_id)),
    }


def alert_labels(spec: Spec, signal: Signal, threshold: Threshold) -> dict[str, str]:
    severity = spec.severities[threshold.severity]
    return {
        "severity": severity.name,
        "priority": severity.priority,
        "team": signal.team,
        "signal": signal.name,
    }


def alerting_rules(spec: Spec, signal: Signal) -> list[SignalAlert]:
    if not signal.enabled:
        return []
    alerts = []
    for threshold in signal.thresholds:
        rule: dict[str, Any] = {
            "alert": threshold_alert_name(signal, threshold),
            "expr": alert_expr(spec, signal, threshold),
        }
        if threshold_for(signal, threshold):
            rule["for"] = units.format_duration(threshold_for(signal, threshold))
        rule["labels"] = {k: templating.literal(v)
                          for k, v in alert_labels(spec, signal, threshold).items()}
        rule["annotations"] = annotations(
            spec, signal, threshold, value_template(signal.definition.unit,
                                                   signal.definition.currency),
            lambda name: f"{{{{ $labels.{name} }}}}",
        )
        alerts.append(SignalAlert(signal, threshold, rule))
    return alerts


def groups(spec: Spec) -> tuple[list[dict[str, Any]], list[SignalAlert]]:
    """One rule group per signal: its recordings first, then the alerts reading them.

    Rules in a group run in order, so an alert always sees this evaluation's recording.
    """
    result = []
    alerts: list[SignalAlert] = []
    for signal in spec.signals.values():
        signal_alerts = alerting_rules(spec, signal)
        alerts.extend(signal_alerts)
        result.append({
            "name": f"{spec.name}.signal.{signal.name}",
            "rules": recording_rules(spec, signal) + [a.rule for a in signal_alerts],
        })
    return result, alerts
