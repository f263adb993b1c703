"""Access-log line parsers: nginx/Apache combined (+ request time), ALB, JSON lines.

Each parser turns one line into a ``Request`` or raises ``SkipLine(reason)``;
the reason becomes ``vigil_http_log_lines_skipped_total{reason}``.

- ``combined``: ``$remote_addr - $remote_user [$time_local] "$request" $status
  $body_bytes_sent "$http_referer" "$http_user_agent" $request_time`` — the
  duration is the last field after the user agent that reads as seconds
  (``0.123`` or ``rt=0.123``); without one the request is still counted but
  not observed in the histogram.
- ``alb``: AWS Application Load Balancer access logs; duration is the sum of
  the request, target and response processing times (absent when any is -1).
- ``json``: one object per line; field names are configurable (dotted paths
  reach nested objects), with common defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class SkipLine(ValueError):
    """The line is not a request we can count; ``reason`` is a short label value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    status: int
    duration: float | None


_COMBINED = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) \S+'
    r'(?: "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*")?(?P<rest>.*)$'
)
_ALB = re.compile(
    r'^\S+ \S+ \S+ \S+ \S+ (?P<rp>\S+) (?P<tp>\S+) (?P<sp>\S+) (?P<status>\S+) \S+ \S+ \S+ '
    r'"(?P<request>[^"]*)"'
)
_SECONDS = re.compile(r"^(?:[a-z_]+=)?(\d+(?:\.\d+)?)$")


def _split_request(request: str) -> tuple[str, str]:
    parts = request.split(" ")
    if len(parts) < 2 or not parts[0].isalpha():
        return "", ""
    return parts[0], parts[1]


def _status(text: str) -> int:
    if not text.isdigit() or not 100 <= int(text) <= 599:
        raise SkipLine("bad_status")
    return int(text)


def parse_combined(line: str) -> Request:
    match = _COMBINED.match(line)
    if not match:
        raise SkipLine("malformed")
    method, target = _split_request(match["request"])
    duration = None
    for token in reversed(match["rest"].split()):
        seconds = _SECONDS.match(token)
        if seconds:
            duration = float(seconds.group(1))
            break
    return Request(method, target, _status(match["status"]), duration)


def parse_alb(line: str) -> Request:
    match = _ALB.match(line)
    if not match:
        raise SkipLine("malformed")
    method, url = _split_request(match["request"])
    target = urlsplit(url).path if "://" in url else url
    try:
        times = [float(match[k]) for k in ("rp", "tp", "sp")]
    except ValueError:
        raise SkipLine("malformed") from None
    duration = sum(times) if min(times) >= 0 else None
    return Request(method, target, _status(match["status"]), duration)


DEFAULT_JSON_FIELDS = {
    "method": ["method", "request_method", "http.method"],
    "path": ["path", "uri", "request_uri", "url", "http.path"],
    "request": ["request"],
    "status": ["status", "status_code", "http.status"],
    "duration": ["request_time", "duration", "latency", "response_time"],
}
DURATION_UNITS = {"s": 1.0, "ms": 0.001, "us": 1e-6, "ns": 1e-9}


def _lookup(obj: dict[str, Any], dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def json_parser(
    fields: dict[str, list[str]] | None = None, duration_unit: str = "s"
) -> Callable[[str], Request]:
    """A JSON-lines parser reading the given field names (first present wins)."""
    names = {**DEFAULT_JSON_FIELDS, **(fields or {})}
    scale = DURATION_UNITS[duration_unit]

    def first(obj: dict[str, Any], kind: str) -> Any:
        for name in names[kind]:
            value = _lookup(obj, name)
            if value is not None:
                return value
        return None

    def parse(line: str) -> Request:
        try:
            obj = json.loads(line)
        except ValueError:
            raise SkipLine("malformed") from None
        if not isinstance(obj, dict):
            raise SkipLine("malformed")
        method, target = first(obj, "method"), first(obj, "path")
        if (method is None or target is None) and isinstance(first(obj, "request"), str):
            method, target = _split_request(first(obj, "request"))
        status = first(obj, "status")
        if status is None:
            raise SkipLine("missing_field")
        raw_duration = first(obj, "duration")
        duration = None
        if raw_duration is not None:
            try:
                duration = float(raw_duration) * scale
            except (TypeError, ValueError):
                raise SkipLine("bad_duration") from None
        if isinstance(target, str) and "://" in target:
            target = urlsplit(target).path
        return Request(str(method or ""), str(target or ""), _status(str(status)), duration)

    return parse


FORMATS = ("combined", "alb", "json")
