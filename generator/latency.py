"""Latency SLIs: "requests answered within T" from a histogram's buckets.

Why a first-class SLI instead of a hand-written `_bucket{le="0.3"}`: a histogram can
only say how many requests took at most one of its bucket bounds. A threshold that
is not a bound matches no series, so the SLO records total traffic and nothing else
(no error ratio, no burn rate, no alert) while every check passes. Here the
threshold is looked up in the buckets the exporter is configured with, and
`vigil generate` refuses one that is not among them.

How the generator knows the buckets: the spec says so. `sli.latency.buckets` lists
the histogram's bounds as its exporter is configured (the http exporter's
`request_duration_buckets`); left out, it is the http exporter's default list, which
is what an http exporter config without `request_duration_buckets` exposes. The `le`
label is written by the function the http exporter exposes it with
(`exporters.http.accesslog.bucket_label`: `2.0`, `0.3`), the form Prometheus 3
normalises every exporter's `le` to.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporters.http import MAX_BUCKETS
from exporters.http.accesslog import DEFAULT_BUCKETS, bucket_label
from generator import promql

HTTP_HISTOGRAM = "vigil_http_request_duration_seconds"
HTTP_EXPORTER = "http"
__all__ = ["DEFAULT_BUCKETS", "MAX_BUCKETS"]  # re-exported: the spec schema's defaults and bound


def bound(value: float) -> float:
    """A bucket bound as the http exporter stores it: `300ms` and `0.3s` are one bound."""
    return round(value, 9)


def le_label(value: float) -> str:
    """The `le` label of the bucket bounded by `value`, as the http exporter writes it."""
    return bucket_label(bound(value))


def seconds(value: float) -> str:
    """`0.3s`, `2.5s`: bounds as the exporter config writes them, for messages."""
    return f"{bound(value):g}s"


@dataclass(frozen=True)
class LatencySli:
    threshold: float  # seconds; one of `buckets`
    metric: str  # the histogram's name, without `_bucket`/`_count`
    selector: str  # extra label matchers, e.g. `route!="/healthz"`, or ""
    buckets: tuple[float, ...]  # the bounds the histogram is exported with

    def _selector(self, *first: str) -> str:
        parts = [*first, *([self.selector] if self.selector else []), "$sel"]
        return "{" + ",".join(parts) + "}"

    @property
    def default_exporter(self) -> str | None:
        """The http exporter's histogram is scoped to its job; another one to none."""
        return HTTP_EXPORTER if self.metric == HTTP_HISTOGRAM else None

    @property
    def le(self) -> str:
        return le_label(self.threshold)

    @property
    def good_expr(self) -> str:
        """Requests within the threshold: the cumulative bucket whose bound it is."""
        le = f"le={promql.quote(self.le)}"
        return f"sum(rate({self.metric}_bucket{self._selector(le)}[$window]))"

    @property
    def total_expr(self) -> str:
        return f"sum(rate({self.metric}_count{self._selector()}[$window]))"


def threshold_problem(sli: LatencySli) -> str | None:
    """Why `sli.threshold` cannot be counted, or None when it is one of the buckets."""
    if bound(sli.threshold) in {bound(b) for b in sli.buckets}:
        return None
    listed = ", ".join(seconds(b) for b in sli.buckets)
    return (f"{seconds(sli.threshold)} is not a bucket of {sli.metric} "
            f"(buckets: {listed}), so this SLO would count no request as good; expected "
            "one of them, or add the bound to the exporter's request_duration_buckets "
            "and to sli.latency.buckets")


def buckets_problem(buckets: tuple[float, ...]) -> tuple[int, str] | None:
    """(index, message) of the first bound not above the one before it, as the exporter
    refuses it: a spec that lists buckets no exporter accepts describes no exporter."""
    for index in range(1, len(buckets)):
        if bound(buckets[index]) <= bound(buckets[index - 1]):
            return index, (f"expected buckets in increasing order, got "
                           f"{seconds(buckets[index])} after {seconds(buckets[index - 1])}")
    return None


def raw_bucket_problem(template: str) -> str | None:
    """A hand-written SLI on the http exporter's histogram with an `le` it does not have.

    `_bucket{le="0.3"}` written by hand used to be accepted and record nothing; the
    default buckets are all such an SLI can know of, so any other bound is refused in
    favour of `latency:`, which checks it against the buckets the exporter is given.
    """
    try:
        selectors = promql.vector_selectors(promql.render(template, "", "5m"))
    except ValueError:
        return None  # reported as a PromQL error
    known = {le_label(b) for b in DEFAULT_BUCKETS} | {"+Inf"}
    for selector in selectors:
        if selector.name != f"{HTTP_HISTOGRAM}_bucket":
            continue
        for matcher in selector.matchers.matchers:
            equal = str(matcher.op).rsplit(".", 1)[-1] == "Equal"
            if matcher.name == "le" and equal and matcher.value not in known:
                return (f'le="{matcher.value}" is not a bucket of the http exporter\'s '
                        f"{HTTP_HISTOGRAM} (default buckets: "
                        f"{', '.join(sorted(known - {'+Inf'}, key=float))}), so this SLI "
                        "would select nothing; expected `latency: {threshold: ...}` (with "
                        "`buckets:` as the exporter is configured) instead")
    return None
