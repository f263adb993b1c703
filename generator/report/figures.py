"""What the report measures: each figure a query over the period, now and one period ago.

Every expression comes from what the rules and dashboards already use: the SLOs'
SLI expressions, the catalogue's signal expressions and the signals' recorded series
(`vigil:<signal>`), with the period as the range, scoped by the spec's selectors.
A figure whose query returns nothing is `None` and is shown as "no data".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import catalogue, promql, units
from generator.model import Spec
from generator.report.prometheus import Prometheus
from generator.rules.signals import recorded_name, selector
from generator.thresholds import ABOVE, BELOW, BELOW_BASELINE


@dataclass
class Figure:
    """One number of the report, the same one period earlier, and its target."""

    label: str
    unit: str  # a catalogue unit kind
    now: float | None
    before: float | None = None
    target: float | None = None
    better: str = "lower"  # which way is good, for the comparison's colour
    target_text: str = ""
    currency: str = catalogue.DEFAULT_CURRENCY  # of a figure in `currency`


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    note: str = ""


def _window(period: float) -> str:
    return units.format_duration(period)


def _pair(prom: Prometheus, expr: str, end: float, period: float) -> tuple[float | None,
                                                                          float | None]:
    return prom.value(expr, end), prom.value(expr, end - period)


def _or_none(errors: str, total: str) -> str:
    """Errors, or 0 when there were none but there was traffic: a period without a single
    5xx has no 5xx series at all, and that is 100 %, not "no data"; without traffic
    (no total either) it stays no data."""
    return f"(({errors}) or on() (0 * ({total})))"


def _budget_left(sli: float | None, objective: float) -> float | None:
    """Share of the period's error budget not spent (negative when overspent)."""
    return None if sli is None else 1 - (1 - sli) / (1 - objective)


def slo_figures(spec: Spec, prom: Prometheus, end: float, period: float) -> list[Figure]:
    """Each SLO's SLI over the period and the error budget that leaves."""
    result = []
    window = _window(period)
    for slo in spec.slos.values():
        matchers = spec.matchers(slo.exporter)
        total = promql.render(slo.total_expr, matchers, window)
        if slo.error_expr:
            bad = f"{_or_none(promql.render(slo.error_expr, matchers, window), total)} / ({total})"
        else:
            bad = f"1 - ({promql.render(slo.good_expr or '', matchers, window)}) / ({total})"
        sli = f"1 - ({bad})"
        now, before = _pair(prom, sli, end, period)
        result.append(Figure(slo.title, "ratio", now, before, slo.objective, "higher",
                             f"objective {units.format_percent(slo.objective)}"))
        result.append(Figure(f"{slo.title} error budget left", "ratio",
                             _budget_left(now, slo.objective), _budget_left(before, slo.objective),
                             None, "higher"))
    return result


def signal_expr(spec: Spec, name: str, period: float, over_time: str = "avg") -> str | None:
    """`name` over the period: a counter's increase, else the recorded series' average."""
    signal = spec.signals.get(name)
    if signal is None:
        return None
    definition = signal.definition
    if definition.is_counter:
        return f"sum({promql.render(definition.expr, spec.matchers(definition.exporter), _window(period))})"
    return (f"{over_time}({over_time}_over_time({recorded_name(signal)}{selector(spec)}"
            f"[{_window(period)}]))")


def _signal(spec: Spec, prom: Prometheus, name: str, label: str, end: float, period: float,
            better: str = "lower", over_time: str = "avg") -> Figure | None:
    expr = signal_expr(spec, name, period, over_time)
    if expr is None:
        return None
    signal = spec.signals[name]
    now, before = _pair(prom, expr, end, period)
    threshold = next((t for t in signal.thresholds if t.kind in (ABOVE, BELOW)), None)
    return Figure(label, signal.definition.unit, now, before,
                  threshold.value if threshold else None, better,
                  f"{threshold.severity} at {threshold.text}" if threshold else "",
                  currency=signal.definition.currency)


def performance(spec: Spec, prom: Prometheus, end: float, period: float) -> Section:
    section = Section("Performance")
    matchers = spec.matchers("http")
    window = _window(period)
    bucket = f"sum by (le) (rate(vigil_http_request_duration_seconds_bucket{{{matchers}}}[{window}]))"
    for quantile in (0.5, 0.95, 0.99):
        now, before = _pair(prom, f"histogram_quantile({quantile}, {bucket})", end, period)
        section.figures.append(Figure(f"API response time P{round(quantile * 100)}", "seconds",
                                      now, before))
    if "error_rate" in spec.signals:
        total = f"sum(rate(vigil_http_requests_total{{{matchers}}}[{window}]))"
        errors = f'sum(rate(vigil_http_requests_total{{status_class="5xx",{matchers}}}[{window}]))'
        expr = f"{_or_none(errors, total)} / {total}"
        now, before = _pair(prom, expr, end, period)
        threshold = spec.signals["error_rate"].thresholds
        section.figures.append(Figure("Error rate", "ratio", now, before,
                                      threshold[0].value if threshold else None))
    now, before = _pair(prom, f"sum(rate(vigil_http_requests_total{{{matchers}}}[{window}]))",
                        end, period)
    section.figures.append(Figure("Throughput", "per_second", now, before, better="higher"))
    now, before = _pair(prom, f"sum(increase(vigil_http_requests_total{{{matchers}}}[{window}]))",
                        end, period)
    section.figures.append(Figure("Requests served", "count", now, before, better="higher"))
    for figure in (_signal(spec, prom, "query_time", "Database query time", end, period),):
        if figure:
            section.figures.append(figure)
    return section


def business(spec: Spec, prom: Prometheus, end: float, period: float) -> Section:
    section = Section("Business")
    for name, label, better, over in (("daily_revenue", "Daily revenue", "higher", "avg"),
                                      ("conversion_rate", "Conversion rate", "higher", "avg"),
                                      ("active_users", "Active users (peak)", "higher", "max"),
                                      ("customer_satisfaction", "Customer satisfaction",
                                       "higher", "avg")):
        figure = _signal(spec, prom, name, label, end, period, better, over)
        if figure is None:
            continue
        if any(t.kind == BELOW_BASELINE for t in spec.signals[name].thresholds):
            baseline = prom.value(f"avg(avg_over_time(vigil:{name}:baseline{selector(spec)}"
                                  f"[{_window(period)}]))", end)
            figure.target, figure.target_text = baseline, "its usual level (baseline)"
        section.figures.append(figure)
    return section


def security(spec: Spec, prom: Prometheus, end: float, period: float) -> Section:
    section = Section("Security")
    for name, label in (("failed_logins", "Failed logins"),
                        ("suspicious_activity", "Suspicious activity")):
        figure = _signal(spec, prom, name, label, end, period)
        if figure is not None:
            figure.target, figure.target_text = None, ""
            section.figures.append(figure)
    return section


def busiest(spec: Spec, prom: Prometheus, end: float, period: float, count: int = 3
            ) -> list[tuple[str, str, float]]:
    """(signal, instance, average over the period) of the busiest hosts per resource."""
    rows = []
    for name in ("cpu_usage", "memory_usage", "disk_usage"):
        signal = spec.signals.get(name)
        if signal is None:
            continue
        expr = (f"topk({count}, max by (instance) (avg_over_time({recorded_name(signal)}"
                f"{selector(spec)}[{_window(period)}])))")
        for labels, value in prom.vector(expr, end):
            rows.append((signal.title, labels.get("instance", "?"), value))
    return rows
