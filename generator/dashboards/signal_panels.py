"""The panel of one spec signal: its catalogue query, its unit and its spec thresholds.

The panel's id is `Signal.panel_id`, which the alert rules' `dashboard_url` annotation
names, so a page lands on this panel. What the panel draws is what the alert
evaluates, with dashboard variables in place of the spec's selectors:

- most signals: the catalogue expression over `$__rate_interval`, thresholds as steps;
- counted events (`5/h`, `any`): `increase` over the threshold's own window (`[1h]`,
  `[5m]`), because the threshold is a count per that window. Thresholds per different
  windows (`warning: 100/h`, `critical: 20/5m`) get one query each, but only the first
  window's are drawn: per-series thresholds need a `byFrameRefID` override, which the
  dashboard schema rejects, and a legend with `{{instance}}` has no fixed name to match;
- `20% below average`: the recorded baseline (`vigil:<signal>:baseline`, the mean of
  the same moment over the last weeks, recorded by the alert rules) and the line the
  value must stay above, `(1 - 20%) × baseline`, in the severity's colour;
- `90% within 4h`: the recorded projection (`vigil:<signal>:predicted_4h_from_2h`,
  what the signal will read in 4 h on its current trend), dashed in the severity's
  colour: the alert fires when it crosses the forecast's line (drawn as a step);
- `anomaly 3σ`: the band's edges (recorded mean ± 3 recorded deviations, see
  generator/rules/anomaly.py), dotted in the severity's colour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from grafanalib.core import Target, TimeSeries

from generator import promql, units
from generator.dashboards import steps as threshold_steps
from generator.dashboards.context import Context, ref_ids, target
from generator.dashboards.panels.common import (
    by_name,
    dashed_line,
    fixed_colour,
)
from generator.dashboards.panels.timeseries import timeseries
from generator.model import Signal
from generator.rules import anomaly, forecast
from generator.thresholds import ANOMALY, BELOW_BASELINE, FORECAST, Threshold

NON_NEGATIVE_UNITS = frozenset({"ratio", "events", "count", "per_second", "bytes"})
BASELINE_LEGEND = "baseline"
SIGNAL_PANEL_WIDTH = 12
SIGNAL_PANEL_HEIGHT = 8


def baseline_series(ctx: Context, signal: Signal) -> str:
    """The recorded baseline, scoped by the selector variables (it has no job or instance)."""
    return ctx.query(f"vigil:{signal.name}:baseline{{$sel}}", None)


def legend(signal: Signal) -> str:
    return " ".join("{{" + label + "}}" for label in signal.definition.by) or signal.title


def _window(threshold: Threshold) -> float:
    """Events thresholds always carry their window (`any` counts over 5 minutes)."""
    if threshold.window is None:
        raise ValueError(f"events threshold {threshold.text!r} has no window")
    return threshold.window


def _describe(ctx: Context, signal: Signal, windows: list[float]) -> str:
    definition = signal.definition
    parts = [definition.description.rstrip(".") + "."]
    if windows:
        counted = ", ".join(units.format_duration(w) for w in windows)
        parts.append(f"Counted as the increase over {counted}: the window its thresholds "
                     "are written per, which is what the alert compares.")
    if any(t.kind == BELOW_BASELINE for t in signal.thresholds):
        parts.append(f"Dashed lines: the baseline (mean of the same time over the last "
                     f"{signal.baseline_weeks} weeks) and the level below which the alert "
                     "fires, in the severity's colour.")
    for threshold in signal.thresholds:
        if threshold.kind == FORECAST:
            ahead = units.format_duration(threshold.horizon or 0)
            parts.append(f"Dashed {threshold.severity}: the value {ahead} ahead on the trend "
                         "of the last "
                         f"{units.format_duration(threshold.lookback or 0)}; the forecast "
                         "alert fires when it crosses the line.")
        elif threshold.kind == ANOMALY:
            parts.append(f"Dotted {threshold.severity}: the usual band (mean ± "
                         f"{units.format_number(threshold.sigma or 0)}σ of the same hour over "
                         f"the last {threshold.seasons} seasons), outside which the anomaly "
                         "alert fires.")
    if signal.thresholds:
        parts.append(f"Thresholds from {ctx.spec.source.as_posix()} "
                     f"(signals.{signal.name}), in the severities' colours.")
    else:
        parts.append("No thresholds are set for this signal in the spec.")
    if not signal.enabled:
        parts.append("Alerting is disabled for this signal (enabled: false).")
    parts.append(f"Team: {signal.team}.")
    return " ".join(parts)


def signal_panel(ctx: Context, signal: Signal) -> TimeSeries:
    definition = signal.definition
    matchers = ctx.matchers(definition.exporter)
    fixed = threshold_steps.fixed(signal.thresholds)
    targets: list[Target] = []
    overrides = []
    names = iter(ref_ids())
    windows: list[float] = []
    if definition.is_counter and fixed:
        by_window: dict[float, list[Threshold]] = defaultdict(list)
        for threshold in fixed:
            by_window[_window(threshold)].append(threshold)
        windows = sorted(by_window)
        for window in windows:
            duration = units.format_duration(window)
            expr = promql.render(definition.expr, matchers, duration)
            targets.append(target(expr, next(names), f"{legend(signal)} (per {duration})"))
        panel_steps = threshold_steps.steps(ctx.spec, by_window[windows[0]])
    else:
        targets.append(target(promql.render(definition.expr, matchers, promql.DASHBOARD_WINDOW),
                              next(names), legend(signal)))
        panel_steps = threshold_steps.steps(ctx.spec, fixed)
    baseline = [t for t in signal.thresholds if t.kind == BELOW_BASELINE]
    if baseline:
        targets.append(target(baseline_series(ctx, signal), next(names), BASELINE_LEGEND))
        overrides.append(by_name(BASELINE_LEGEND, dashed_line(), fixed_colour("text")))
        for threshold in baseline:
            factor = units.format_number(round(1 - threshold.value, 12))
            name = f"{threshold.severity}: {threshold.text}"
            targets.append(target(f"{factor} * {baseline_series(ctx, signal)}", next(names), name))
            overrides.append(by_name(
                name, dashed_line(), fixed_colour(ctx.spec.severities[threshold.severity].colour)))
    _predictive(ctx, signal, targets, overrides, names)
    return timeseries(
        id=signal.panel_id, title=signal.title, description=_describe(ctx, signal, windows),
        unit=definition.grafana_unit, targets=targets,
        grid=ctx.place(SIGNAL_PANEL_WIDTH, SIGNAL_PANEL_HEIGHT),
        steps=panel_steps, overrides=overrides,
        minimum=0 if definition.unit in NON_NEGATIVE_UNITS else None,
    )


def _predictive(ctx: Context, signal: Signal, targets: list[Target], overrides: list[Any],
                names: Iterator[str]) -> None:
    """A forecast's projection and an anomaly's band, from the series the rules record."""
    for threshold in signal.thresholds:
        colour = fixed_colour(ctx.spec.severities[threshold.severity].colour)
        if threshold.kind == FORECAST:
            name = (f"{threshold.severity}: forecast in "
                    f"{units.format_duration(threshold.horizon or 0)}")
            series = ctx.query(f"{forecast.predicted_name(signal.name, threshold)}{{$sel}}", None)
            targets.append(target(series, next(names), name))
            overrides.append(by_name(name, dashed_line(), colour))
        elif threshold.kind == ANOMALY:
            mean_name, sd_name = anomaly.band_names(signal.name, threshold)
            mean = ctx.query(f"{mean_name}{{$sel}}", None)
            spread = f"{units.format_number(threshold.sigma or 0)} * {ctx.query(f'{sd_name}{{$sel}}', None)}"
            for edge, op in (("upper", "+"), ("lower", "-")):
                name = f"{threshold.severity}: usual band ({edge})"
                targets.append(target(f"{mean} {op} {spread}", next(names), name))
                overrides.append(by_name(name, dashed_line(), colour))
