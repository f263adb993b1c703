"""How an alert shows its current value, in Go template form and in Python.

Annotations render `$value` with Prometheus's humanize functions; the generated
promtool unit tests must predict that text exactly, so the Python twins below follow
Prometheus's template functions (template/template.go) to the character.
"""

from __future__ import annotations

import math

# unit kind → Prometheus template function that formats a value of that kind
_TEMPLATE_FUNCTION = {
    "ratio": "humanizePercentage",
    "seconds": "humanizeDuration",
    "per_second": "humanize",
    "events": "humanize",
    "count": "humanize",
    "score": "humanize",
    "currency": "humanize",
    "bytes": "humanize1024",
}
_SUFFIX = {"per_second": "/s"}


def _suffix(unit: str, currency: str) -> str:
    """`/s` after a rate; after money, its ISO code (`12.5k EUR`)."""
    if unit == "currency" and currency:
        return f" {currency}"
    return _SUFFIX.get(unit, "")


def value_template(unit: str, currency: str = "") -> str:
    """`{{ $value | humanizePercentage }}` and the like, for annotations."""
    return f"{{{{ $value | {_TEMPLATE_FUNCTION[unit]} }}}}{_suffix(unit, currency)}"


def humanize_value(unit: str, value: float, currency: str = "") -> str:
    """What `value_template(unit)` renders to for `value`."""
    function = {
        "humanizePercentage": _percentage,
        "humanizeDuration": _duration,
        "humanize": _si,
        "humanize1024": _binary,
    }[_TEMPLATE_FUNCTION[unit]]
    return function(value) + _suffix(unit, currency)


def _g(value: float) -> str:
    """Go's `%.4g` (same rules as Python's for finite values)."""
    return f"{value:.4g}"


def _percentage(value: float) -> str:
    return f"{_g(value * 100)}%"


def _si(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g(value)
    prefix = ""
    if abs(value) >= 1:
        for candidate in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = candidate, value / 1000
        return f"{_g(value)}{prefix}"
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return f"{_g(value)}{prefix}"


def _binary(value: float) -> str:
    if abs(value) <= 1:
        return _g(value)
    prefix = ""
    for candidate in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(value) < 1024:
            break
        prefix, value = candidate, value / 1024
    return f"{_g(value)}{prefix}"


def _duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return _g(value)
    if value == 0:
        return f"{_g(value)}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        total = int(abs(value))
        seconds, minutes = total % 60, (total // 60) % 60
        hours, days = (total // 3600) % 24, total // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g(abs(value))}s"
    prefix = ""
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return f"{_g(value)}{prefix}s"
