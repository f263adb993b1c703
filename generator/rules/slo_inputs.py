"""Exporter-shaped input series for the generated SLO tests.

Why raw series: a test that feeds the recorded `vigil_slo:errors:rate5m` proves the
burn-rate arithmetic but not the SLI. An SLI that selects a bucket the exporter does
not have, a misspelt label value or a wrong metric name records nothing, and such a
test still passes. Here the test feeds what the http exporter exposes (see
exporters/README.md): `vigil_http_requests_total{method,route,status_class}` and the
whole `vigil_http_request_duration_seconds` histogram with the SLO's buckets, so the
recording rules run on the exporter's own shape and a dead SLI fails its test.

The traffic model: good requests are `2xx` and faster than the smallest bucket, bad
ones are `5xx` and slower than the largest; a status class nobody has seen yet has no
series, as in the exporter, so an availability SLI (`5xx` of all)
and a latency SLI (over any bucket) see the same error ratio. An SLI whose selectors
cannot see this model (another exporter's metrics, `4xx` as errors, a route filter
that excludes it) gets its recorded rates fed instead, as custom signals do.
"""

from __future__ import annotations

import re
from typing import Any

from generator import promql
from generator.latency import DEFAULT_BUCKETS, HTTP_EXPORTER, HTTP_HISTOGRAM, le_label
from generator.model import Slo, Spec
from generator.rules.slo import series_matchers

INSTANCE = "test-1:9000"
REQUEST = {"method": "GET", "route": "/checkout"}
Series = tuple[str, dict[str, str], float]  # name, labels, increase per minute


def _model(slo: Slo, good: float, bad: float) -> list[Series]:
    """The http exporter's series for `good` and `bad` requests a minute."""
    buckets = slo.latency.buckets if slo.latency else DEFAULT_BUCKETS
    total = good + bad
    # A status class appears once the exporter has counted one such request.
    series: list[Series] = [
        ("vigil_http_requests_total", {**REQUEST, "status_class": status}, per_minute)
        for status, per_minute in (("2xx", good), ("5xx", bad)) if per_minute > 0]
    series += [(f"{HTTP_HISTOGRAM}_bucket", {**REQUEST, "le": le_label(b)}, good) for b in buckets]
    series += [(f"{HTTP_HISTOGRAM}_bucket", {**REQUEST, "le": "+Inf"}, total),
               (f"{HTTP_HISTOGRAM}_count", REQUEST, total),
               (f"{HTTP_HISTOGRAM}_sum", REQUEST, good * buckets[0] / 2 + bad * buckets[-1] * 2)]
    return series


def _matches(matcher: Any, labels: dict[str, str]) -> bool:
    value = labels.get(matcher.name, "")
    op = str(matcher.op).rsplit(".", 1)[-1]
    if op == "Equal":
        return value == matcher.value
    if op == "NotEqual":
        return value != matcher.value
    found = re.fullmatch(matcher.value, value) is not None
    return found if op == "Re" else not found


def _sees(expr: str, series: list[tuple[str, dict[str, str]]]) -> bool:
    """Whether every selector of `expr` selects at least one of `series`."""
    for selector in promql.vector_selectors(expr):
        matchers = list(selector.matchers.matchers)
        if not any((selector.name is None or selector.name == name)
                   and all(_matches(m, {**labels, "__name__": name}) for m in matchers)
                   for name, labels in series):
            return False
    return True


def modelled(spec: Spec, slo: Slo) -> bool:
    """Whether the http exporter's model feeds this SLO's SLI (else: recorded rates)."""
    if slo.exporter != HTTP_EXPORTER:
        return False
    shaped = [(name, {**labels, **_scope(spec)}) for name, labels, _ in _model(slo, 1.0, 1.0)]
    matchers = spec.matchers(slo.exporter)
    expressions = [slo.total_expr, slo.error_expr or slo.good_expr or ""]
    return all(_sees(promql.render(e, matchers), shaped) for e in expressions)


def _scope(spec: Spec) -> dict[str, str]:
    return {**spec.selectors, "job": spec.jobs[HTTP_EXPORTER], "instance": INSTANCE}


def _text(name: str, labels: dict[str, str]) -> str:
    return f"{name}{{{promql.matchers(sorted(labels.items()))}}}"


def _values(per_minute: float, samples: int) -> str:
    return f"0+{round(per_minute, 12)!r}x{samples - 1}"


def input_series(spec: Spec, slo: Slo, total_per_second: float, error_ratio: float,
                 samples: int) -> list[dict[str, str]]:
    """`samples` one-minute samples of traffic at `total_per_second`, `error_ratio` bad."""
    total = total_per_second * 60
    bad = total * error_ratio
    if modelled(spec, slo):
        return [{"series": _text(name, {**labels, **_scope(spec)}),
                 "values": _values(per_minute, samples)}
                for name, labels, per_minute in _model(slo, total - bad, bad)]
    own = series_matchers(spec, slo)
    return [{"series": f"vigil_slo:errors:rate5m{own}", "values": f"{bad / 60!r}x{samples}"},
            {"series": f"vigil_slo:total:rate5m{own}", "values": f"{total / 60!r}x{samples}"}]
