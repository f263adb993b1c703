"""Forecast alerts: `90% within 4h` fires when the signal's trend will cross 90 % in 4 h.

The projection is recorded once per forecast, `vigil:<signal>:predicted_<horizon>_from_
<lookback>` = `predict_linear(vigil:<signal>[lookback], horizon)`, which the alert and
the signal's panel both read. The alert also asks that the signal is still on
its way: higher now than half a lookback ago (lower, for a signal whose bad side is
below). Without that second condition a short spike bends the fitted line for as long
as it stays in the late half of the lookback, and a spike that is over would keep the
forecast pending; with it, the forecast drops as soon as the spike is gone. The alert's
`for` is a quarter of the lookback (generator.thresholds.forecast_for), longer than
the spikes it must ignore and short next to the horizon it warns ahead of.

A flat signal just short of the line is not growing: its projection is itself, and
it does not fire. A signal already past the line and still growing does: it is the
plain threshold's job to say it is there, and the forecast's that it is getting worse.
The alert's `$value` is the projected value at the horizon.
"""

from __future__ import annotations

from collections.abc import Callable

from generator import units
from generator.thresholds import BELOW, Threshold

ALERT_SUFFIX = "Forecast"


def predicted_name(signal: str, threshold: Threshold) -> str:
    return (f"vigil:{signal}:predicted_{units.format_duration(threshold.horizon or 0.0)}"
            f"_from_{units.format_duration(threshold.lookback or 0.0)}")


def recording_rules(signal: str, series: str, thresholds: list[Threshold]) -> list[tuple[str, str]]:
    """(record, expr) per distinct horizon and lookback; `series` is the recorded signal
    with the spec's selector."""
    rules: dict[str, str] = {}
    for threshold in thresholds:
        lookback = units.format_duration(threshold.lookback or 0.0)
        horizon = units.format_number(threshold.horizon or 0.0)
        rules[predicted_name(signal, threshold)] = f"predict_linear({series}[{lookback}], {horizon})"
    return list(rules.items())


def alert_expr(signal: str, series: str, selector: str, threshold: Threshold) -> str:
    op = threshold.comparator()
    return (f"{predicted_name(signal, threshold)}{selector} {op} "
            f"{units.format_number(threshold.value)} and {series} {op} {series} offset "
            f"{units.format_duration((threshold.lookback or 0.0) / 2)}")


def describe(title: str, threshold: Threshold, value: str, on: str,
             text: Callable[[str], str]) -> tuple[str, str]:
    """(summary, description) of a forecast alert; `value` renders the projection."""
    word = "fall below" if threshold.side == BELOW else "reach"
    bound = text(threshold.text.split(" within ")[0].lstrip("<>= "))
    horizon = units.format_duration(threshold.horizon or 0.0)
    lookback = units.format_duration(threshold.lookback or 0.0)
    summary = f"{title} forecast to {word} {bound} within {horizon}{on}"
    description = (f"{title}, extrapolated from its trend over the last {lookback}, will be "
                   f"{value} in {horizon}: past the {threshold.severity} threshold of {bound}.")
    return summary, description
