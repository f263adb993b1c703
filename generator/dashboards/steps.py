"""A signal's spec thresholds as Grafana threshold steps, in the severities' colours.

Grafana colours a value with the last step whose value it reaches, starting from a
base step that covers everything below the first. That reads naturally for a signal
whose bad side is above (`green`, then `yellow` from 80 %, `red` from 90 %). A signal
whose bad side is below (certificate expiry, satisfaction `< 4.0`) needs the order
reversed: `red` as the base, `yellow` from the critical value, `green` from the
warning value. Rather than special-casing directions, `steps` samples each interval
between threshold values and colours it with the most severe threshold it breaks, so
mixed comparators (a `> 1h` and a `< 5m` on one signal) also come out right.

`any` (a counter that must not increase) breaks from just above zero. A
`20% below average` threshold is relative: it has no fixed step and is drawn as a
series next to the baseline instead (see signal_panels.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from generator.model import Spec
from generator.thresholds import ABOVE, ANOMALY, ANY, BELOW, BELOW_BASELINE, FORECAST, Threshold

OK_COLOUR = "green"
# `any` fires on an increase above zero; Grafana steps start *at* their value, so the
# step sits just above zero to leave an exact zero in the OK colour.
ANY_STEP = 0.001


def clean(value: float) -> float:
    """0.999, not 0.9990000000000001 (99.9 % parsed as 99.9 / 100): what the spec says."""
    return round(value, 12)


def bound(threshold: Threshold) -> float:
    return ANY_STEP if threshold.kind == ANY else clean(threshold.value)


def breaks(threshold: Threshold, value: float) -> bool:
    """Whether `value` is coloured as breaking `threshold` (steps include their value)."""
    kind = threshold.side if threshold.kind == FORECAST else threshold.kind
    if kind in (ABOVE, ANY):
        return value >= bound(threshold)
    if kind == BELOW:
        return value < threshold.value
    return False


def fixed(thresholds: Iterable[Threshold]) -> list[Threshold]:
    """Thresholds drawn as steps: a forecast's line is its value (the projection is drawn
    as a series beside it); a baseline or an anomaly band moves, and is drawn as series."""
    return [t for t in thresholds if t.kind not in (BELOW_BASELINE, ANOMALY)]


def steps(spec: Spec, thresholds: Iterable[Threshold]) -> list[dict[str, Any]]:
    """Threshold steps, base first, for the fixed thresholds of one signal."""
    chosen = fixed(thresholds)
    rank = {name: index for index, name in enumerate(spec.severities)}

    def colour(value: float) -> str:
        broken = [t for t in chosen if breaks(t, value)]
        if not broken:
            return OK_COLOUR
        worst = min(broken, key=lambda t: rank.get(t.severity, len(rank)))
        return spec.severities[worst.severity].colour

    bounds = sorted({bound(t) for t in chosen})
    if not bounds:
        return [{"color": OK_COLOUR, "value": None}]
    result = [{"color": colour(bounds[0] - 1.0), "value": None}]
    for value in bounds:
        current = colour(value)
        if current != result[-1]["color"]:
            result.append({"color": current, "value": value})
    return result
