"""promtool tests of forecast and anomaly thresholds, on histories instead of values.

Both read the recorded signal (`vigil:<signal>`), so the tests feed that series
directly: what is tested is the forecast or anomaly logic on top of a recording the
other tests already check. Each kind gets its own rule file (only the groups of the
signals tested, see unit_tests.rule_groups_for), because promtool evaluates every rule
at every step and these histories are long.

Forecast (`90% within 4h`), every minute:
- a straight fill that crosses the line a horizon after the forecast may first fire:
  it fires while the value is still below the line (checked by a PromQL test at the
  same time), so before any plain threshold at that level could;
- a flat line just short of the line stays silent;
- a spike beyond the line for half the forecast's `for` stays silent, during it and
  for the lookback after it.

Anomaly (`anomaly 3σ`), every 30 minutes over N seasons and half a day, in one test for
all signals (weeks of steps are what costs): four series of each signal side by side,
told apart by an `anomaly_case` label. All follow a daily triangle cycle (a steady rise
over 12 hours and a fall over 12); `shift` leaves it for a level well outside it 6
hours before the check and fires; `cycle` keeps to it and stays silent even at the
cycle's peak; `young` has the shift but only one season (and two hours) of history and
stays silent; `zero` reads 0 throughout and stays silent.
"""

from __future__ import annotations

from typing import Any

from generator import templating, units
from generator.model import Signal, Spec
from generator.rules import anomaly, forecast, signals
from generator.rules.humanize import humanize_value
from generator.rules.unit_tests import _alert_labels, _by_labels, _series_text
from generator.thresholds import ABOVE, ANOMALY, FORECAST, Threshold

ANOMALY_STEP = 1800.0  # anomaly tests sample and evaluate every 30 minutes
CASE_LABEL = "anomaly_case"


def _series_labels(spec: Spec, signal: Signal) -> dict[str, str]:
    return {**spec.selectors, **_by_labels(signal)}


def _n(value: float) -> str:
    return repr(round(value, 12))


def _expected(spec: Spec, signal: Signal, threshold: Threshold, value: float,
              extra: dict[str, str] | None = None) -> dict[str, Any]:
    labels = {**_alert_labels(spec, signal, threshold), **(extra or {})}
    return {
        "exp_labels": labels,
        "exp_annotations": signals.annotations(
            spec, signal, threshold, humanize_value(signal.definition.unit, value,
                                                  signal.definition.currency),
            lambda name, lab=labels: lab[name], templating.verbatim),
    }


def _check(signal: Signal, threshold: Threshold, at: float,
           alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": units.format_duration(at),
            "alertname": signals.threshold_alert_name(signal, threshold), "exp_alerts": alerts}


# Forecasts ----------------------------------------------------------------------------
def _minutes(seconds: float) -> int:
    return int(-(-seconds // 60))


def forecast_cases(spec: Spec, signal: Signal, threshold: Threshold) -> list[dict[str, Any]]:
    lookback, horizon = threshold.lookback or 0.0, threshold.horizon or 0.0
    hold = signals.threshold_for(signal, threshold)
    value, up = threshold.value, threshold.side == ABOVE
    sign = 1.0 if up else -1.0
    series = _series_text(signals.recorded_name(signal), _series_labels(spec, signal))
    label = f"{signal.name} {threshold.severity} ({threshold.text})"

    # The fill crosses the line at `cross`; the forecast may fire from `cross - horizon`
    # (and once half a lookback of growth exists), after its `for`.
    cross = lookback / 2 + hold + horizon
    start = value * (0.5 if up else 1.5)
    per_minute = (value - start) / (cross / 60)
    fires = (_minutes(lookback / 2) + 2 * _minutes(hold) + 2) * 60.0
    now = start + per_minute * fires / 60
    projected = now + per_minute * horizon / 60
    step = f"+{_n(per_minute)}" if up else f"-{_n(-per_minute)}"
    fill = {
        "name": f"{label}: a steady fill fires before it reaches the line",
        "interval": "1m",
        "input_series": [{"series": series, "values": f"{_n(start)}{step}x{int(fires // 60)}"}],
        "alert_rule_test": [_check(signal, threshold, fires,
                                   [_expected(spec, signal, threshold, projected)])],
        "promql_expr_test": [{
            "expr": f"count({signals.recorded_name(signal)}{signals.selector(spec)} "
                    f"{'<' if up else '>'} {units.format_number(value)})",
            "eval_time": units.format_duration(fires),
            "exp_samples": [{"labels": "{}", "value": 1}],
        }],
    }
    if (now >= value) if up else (now <= value):
        raise AssertionError(f"{label}: the fill reached the line before the forecast fired")

    near = value * (1 - sign * 0.02)
    flat_end = (_minutes(lookback) + _minutes(hold) + 5) * 60.0
    flat = {
        "name": f"{label}: a flat line just short of it stays silent",
        "interval": "1m",
        "input_series": [{"series": series, "values": f"{_n(near)}x{int(flat_end // 60)}"}],
        "alert_rule_test": [_check(signal, threshold, flat_end, [])],
    }

    base = value * (0.9 if up else 1.1)
    peak = value * (1 + sign * 0.05)
    if signal.definition.unit == "ratio" and up:
        peak = min(peak, (value + 1) / 2)
    before, spike = _minutes(lookback), max(1, _minutes(hold) // 2)
    after = _minutes(lookback) + _minutes(hold)
    values = f"{_n(base)}x{before - 1} {_n(peak)}x{spike - 1} {_n(base)}x{after}"
    checks = [(before + spike - 1) * 60, (before + spike + _minutes(hold)) * 60,
              (before + _minutes(lookback / 2) + spike) * 60, (before + spike + after - 1) * 60]
    spiked = {
        "name": f"{label}: a spike beyond it for half its `for` stays silent",
        "interval": "1m",
        "input_series": [{"series": series, "values": values}],
        "alert_rule_test": [_check(signal, threshold, float(at), []) for at in checks],
    }
    return [fill, flat, spiked]


# Anomalies ----------------------------------------------------------------------------
def _levels(signal: Signal) -> tuple[float, float]:
    """The cycle's trough and peak: a share for ratios, a plain level otherwise."""
    return (0.1, 0.3) if signal.definition.unit == "ratio" else (100.0, 300.0)


def _cycle(low: float, high: float, period_steps: int, end: int, start: int = 0) -> list[str]:
    """Samples `start` to `end` of a triangle cycle that starts at 0 on `low`, as
    promtool runs (`a+bxn`): one run per rising or falling half, cut where asked."""
    half = period_steps // 2
    rise = (high - low) / half
    runs: list[str] = []
    index = start
    while index < end:
        phase = index % period_steps
        rising = phase < half
        first = low + rise * phase if rising else high - rise * (phase - half)
        count = min(half - phase % half, end - index)
        runs.append(f"{_n(first)}{'+' if rising else '-'}{_n(rise)}x{count - 1}")
        index += count
    return runs


def _anomaly_series(spec: Spec, signal: Signal,
                    thresholds: list[Threshold]) -> tuple[float, list[dict[str, str]],
                                                          list[dict[str, Any]]]:
    """(check time, the four input series, the alerts expected then) for one signal,
    on the timeline of its longest history."""
    longest = max(thresholds, key=lambda t: (t.seasons or 0) * (t.season or 0.0))
    season, seasons = longest.season or 0.0, longest.seasons or 0
    day = 86400.0
    period = day if season % day == 0 else season
    period_steps = int(period // ANOMALY_STEP)
    at = seasons * season + period / 2  # the check falls on the cycle's peak
    total = int(at // ANOMALY_STEP) + 1
    shift_from = total - int(6 * 3600 // ANOMALY_STEP)
    low, high = _levels(signal)
    up = longest.side == ABOVE
    shifted = high * 1.6 if up else low * 0.4
    if signal.definition.unit == "ratio":
        shifted = min(shifted, 0.95)
    shift_tail = f"{_n(shifted)}x{total - shift_from - 1}"
    # One season of history and two hours: the older seasons the band needs are missing.
    young_from = int((at - season - 7200) // ANOMALY_STEP)
    cases = {
        "shift": " ".join([*_cycle(low, high, period_steps, shift_from), shift_tail]),
        "cycle": " ".join(_cycle(low, high, period_steps, total)),
        "young": " ".join([f"_x{young_from}",
                           *_cycle(low, high, period_steps, shift_from, young_from),
                           shift_tail]),
        "zero": f"0x{total - 1}",
    }
    labels = _series_labels(spec, signal)
    series = [{"series": _series_text(signals.recorded_name(signal), {**labels, CASE_LABEL: case}),
               "values": values} for case, values in cases.items()]
    expected = []
    for threshold in thresholds:
        needs = (threshold.seasons or 0) * (threshold.season or 0.0) + 1800
        for case, start in (("shift", 0.0), ("young", young_from * ANOMALY_STEP)):
            if at - start >= needs:
                expected.append(_expected(spec, signal, threshold, shifted, {CASE_LABEL: case}))
    return at, series, expected


def anomaly_test(spec: Spec, thresholds: dict[str, list[Threshold]]) -> dict[str, Any]:
    """One test for every anomaly threshold: each signal's series, checked at its time."""
    inputs, checks = [], []
    for name, found in thresholds.items():
        signal = spec.signals[name]
        at, series, expected = _anomaly_series(spec, signal, found)
        inputs.extend(series)
        checks.append({"eval_time": units.format_duration(at),
                       "alertname": signals.threshold_alert_name(signal, found[0]),
                       "exp_alerts": expected})
    return {
        "name": "anomalies: a level shift fires; a daily cycle, a short history and zero "
                "data stay silent",
        "interval": units.format_duration(ANOMALY_STEP),
        "input_series": inputs,
        "alert_rule_test": checks,
    }


def _predictive_rules(spec: Spec, signal: Signal) -> set[str]:
    """Names of the records and alerts a signal's forecasts and anomalies add."""
    names = set()
    for t in signal.thresholds:
        if t.kind == ANOMALY:
            names |= {anomaly.avg_name(signal.name), anomaly.stddev_name(signal.name),
                      *anomaly.band_names(signal.name, t), signals.threshold_alert_name(signal, t)}
        elif t.kind == FORECAST:
            names |= {forecast.predicted_name(signal.name, t),
                      signals.threshold_alert_name(signal, t)}
    return names


def without_predictive(spec: Spec, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups without forecast and anomaly rules: other tests over weeks (baselines)
    need not evaluate them at every step."""
    names = set().union(*(_predictive_rules(spec, s) for s in spec.signals.values()))
    result = []
    for group in groups:
        rules = [r for r in group["rules"] if r.get("record", r.get("alert")) not in names]
        # an untouched group stays the same object: its text is written once
        result.append(group if len(rules) == len(group["rules"]) else {**group, "rules": rules})
    return result


def anomaly_groups(spec: Spec, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The anomaly rules alone, out of each signal's group: the tests feed the recorded
    signal, and the other rules of the group would only add to weeks of steps."""
    result = []
    for signal in spec.signals.values():
        alerts = {signals.threshold_alert_name(signal, t) for t in signal.thresholds
                  if t.kind == ANOMALY}
        if not alerts or not signal.enabled:
            continue
        group = next(g for g in groups if g["name"] == f"{spec.name}.signal.{signal.name}")
        records = {anomaly.avg_name(signal.name), anomaly.stddev_name(signal.name),
                   *(n for t in signal.thresholds if t.kind == ANOMALY
                     for n in anomaly.band_names(signal.name, t))}
        result.append({**group, "rules": [r for r in group["rules"]
                                          if r.get("record") in records
                                          or r.get("alert") in alerts]})
    return result


def tests(spec: Spec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(forecast cases, anomaly cases) for every enabled signal's thresholds."""
    forecasts: list[dict[str, Any]] = []
    anomalies: dict[str, list[Threshold]] = {}
    for signal in spec.signals.values():
        if not signal.enabled:
            continue
        for threshold in signal.thresholds:
            if threshold.kind == FORECAST:
                forecasts.extend(forecast_cases(spec, signal, threshold))
            elif threshold.kind == ANOMALY:
                anomalies.setdefault(signal.name, []).append(threshold)
    return forecasts, [anomaly_test(spec, anomalies)] if anomalies else []
