"""Prometheus naming rules for metrics defined in a query config.

Why a checker: a business metric named by hand (``orders_ms``, ``logins``
as a counter, ``latency_seconds_total`` as a gauge) breaks the conventions
every dashboard and rule relies on, and Prometheus will not complain — it
stores whatever it is given. The rules enforced here are the ones from the
Prometheus "Metric and label naming" guide:

* names match ``[a-zA-Z_][a-zA-Z0-9_]*``; colons are reserved for recording
  rules;
* counters end in ``_total``, and nothing else does;
* ``_count``, ``_sum``, ``_bucket`` and ``_created`` belong to histograms,
  summaries and counters' series, so a plain metric may not end with them;
* a unit is a *base* unit (seconds, bytes, ratio…, never milliseconds or
  percent), and appears as the name's suffix, before ``_total``; a name
  that ends in a non-base unit is refused even without a declared unit;
* label names match ``[a-zA-Z_][a-zA-Z0-9_]*`` and do not start with ``__``.

Each function returns a list of problems (empty when the name is fine), so
the config loader can attach them to the exact key.
"""

from __future__ import annotations

import re

METRIC_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
UNIT_NAME = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$|^[a-z]$")

METRIC_TYPES = ("gauge", "counter")

# Units that have a base unit instead, and what to use.
NON_BASE_UNITS = {
    "milliseconds": "seconds", "microseconds": "seconds", "nanoseconds": "seconds",
    "ms": "seconds", "us": "seconds", "ns": "seconds", "minutes": "seconds",
    "hours": "seconds", "days": "seconds", "secs": "seconds", "sec": "seconds",
    "kilobytes": "bytes", "megabytes": "bytes", "gigabytes": "bytes", "kb": "bytes",
    "mb": "bytes", "gb": "bytes", "kib": "bytes", "mib": "bytes", "gib": "bytes",
    "percent": "ratio", "percentage": "ratio", "pct": "ratio",
    "kilometers": "meters", "kilograms": "grams",
}

RESERVED_SUFFIXES = ("_count", "_sum", "_bucket", "_created")


def metric_name_problems(name: str, metric_type: str, unit: str | None) -> list[str]:
    """Why ``name`` is not a good name for a ``metric_type`` with ``unit``."""
    problems: list[str] = []
    if ":" in name:
        return [f"{name!r}: colons are reserved for recording rules"]
    if not METRIC_NAME.match(name):
        return [f"{name!r} is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)"]
    if name.startswith("__"):
        problems.append(f"{name!r}: names starting with __ are reserved")
    if metric_type == "counter" and not name.endswith("_total"):
        problems.append(f"{name!r}: a counter's name must end with _total")
    if metric_type != "counter" and name.endswith("_total"):
        problems.append(f"{name!r}: only counters end with _total (use type: counter)")
    stem = name[: -len("_total")] if name.endswith("_total") else name
    for suffix in RESERVED_SUFFIXES:
        if stem.endswith(suffix):
            problems.append(
                f"{name!r}: the suffix {suffix} is reserved for histograms and summaries"
            )
    last_word = stem.rsplit("_", 1)[-1]
    if last_word in NON_BASE_UNITS:
        problems.append(
            f"{name!r}: use the base unit {NON_BASE_UNITS[last_word]!r},"
            f" not {last_word!r}"
        )
    if unit is not None:
        problems.extend(unit_problems(unit))
        if not stem.endswith("_" + unit):
            expected = f"..._{unit}_total" if metric_type == "counter" else f"..._{unit}"
            problems.append(f"{name!r}: the unit {unit!r} must be the name's suffix ({expected})")
    return problems


def unit_problems(unit: str) -> list[str]:
    if unit in NON_BASE_UNITS:
        return [f"unit {unit!r} is not a base unit; use {NON_BASE_UNITS[unit]!r}"]
    if not UNIT_NAME.match(unit):
        return [f"unit {unit!r} must be lower-case letters, digits and underscores"]
    return []


def label_name_problems(label: str) -> list[str]:
    if not LABEL_NAME.match(label):
        return [f"{label!r} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"]
    if label.startswith("__"):
        return [f"{label!r}: label names starting with __ are reserved"]
    return []
