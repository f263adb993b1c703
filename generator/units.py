"""Quantities as people write them in the spec: `80%`, `100ms`, `2s`, `500/s`, `5/h`, `99.9%`.

The spec is read by people first, so it keeps their notation; everything downstream
(PromQL, Alertmanager, Grafana) wants base units. This module is the only place that
converts between the two, and it can also render a base value back into the same
notation, so that a description or a dashboard says "80%" exactly where the spec did.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

_DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
# The notations, unanchored: the parsers below anchor them, and the spec's JSON Schema
# (generator/spec_schema.py) gives them to editors, so both read the same strings.
DURATION_PATTERN = r"(?:(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y))+"
NUMBER_PATTERN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
PERCENT_PATTERN = r"(\d+(?:\.\d+)?)\s*%"
RATE_PATTERN = r"(\d+(?:\.\d+)?)\s*(?:req|requests|events)?\s*/\s*(s|m|h|d|sec|min|hour|day)"
_DURATION_RE = re.compile(f"^{DURATION_PATTERN}$")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_NUMBER_RE = re.compile(f"^{NUMBER_PATTERN}$")
_PERCENT_RE = re.compile(f"^{PERCENT_PATTERN}$")
_RATE_RE = re.compile(f"^{RATE_PATTERN}$")
_RATE_PER = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0,
             "d": 86400.0, "day": 86400.0}


class UnitError(ValueError):
    """A quantity that does not read as the unit the caller expected."""


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus-style duration (`90s`, `1h30m`, `100ms`)."""
    cleaned = str(text).strip()
    if not _DURATION_RE.match(cleaned):
        raise UnitError(f'expected a duration such as "30s", "5m" or "1h", got {text!r}')
    return sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART_RE.findall(cleaned))


@functools.lru_cache(maxsize=4096)  # every rule and test case writes the same few durations
def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for `seconds` (`3600` → `1h`, `1.5` → `1s500ms`).

    Prometheus, promtool and Alertmanager all accept this form, so it is what every
    generated file uses.
    """
    millis = round(seconds * 1000)
    if millis <= 0:
        return "0s"
    remaining, rest = divmod(millis, 1000)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if unit == "w" and remaining % size:
            continue  # `1w2d` is legal but `9d` reads better
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    if rest:
        parts.append(f"{rest}ms")  # `1s500ms`: Prometheus reads compound durations
    return "".join(parts)


def parse_percent(text: str) -> float:
    """A ratio in 0..1 from `80%` (never from a bare `0.8`: the spec says `%`)."""
    match = _PERCENT_RE.match(str(text).strip())
    if not match:
        raise UnitError(f'expected a percentage such as "80%", got {text!r}')
    return float(match.group(1)) / 100.0


def parse_number(value: object) -> float:
    """A plain number (`1000`, `4.0`); YAML may already have made it one."""
    if isinstance(value, bool):
        raise UnitError(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value):
            raise UnitError(f"expected a finite number, got {value!r}")
        return float(value)
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        return float(value.strip())
    raise UnitError(f'expected a number such as "1000" or "4.0", got {value!r}')


@dataclass(frozen=True)
class Rate:
    """`5/h`: a count over a window. Kept as written because `5/h` of a counter is an
    `increase(...[1h]) > 5` alert, which is not the same as `rate(...) > 0.00139`."""

    count: float
    per_seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.per_seconds


def parse_rate(text: str) -> Rate:
    """`500/s`, `5/h`, `100/hour`."""
    match = _RATE_RE.match(str(text).strip())
    if not match:
        raise UnitError(f'expected a rate such as "500/s" or "5/h", got {text!r}')
    return Rate(float(match.group(1)), _RATE_PER[match.group(2)])


def format_number(value: float) -> str:
    """`4.0` → `4`, `0.001` → `0.001`: stable, short, and valid PromQL."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(round(value, 12))


def format_percent(ratio: float) -> str:
    return f"{format_number(round(ratio * 100, 10))}%"
