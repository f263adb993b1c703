"""Request metrics from access logs: throughput, errors and latency for any app.

A background task polls each log (``poll_interval``) and folds new lines into
in-memory counters; scrapes render those counters, so scrape cost does not
depend on traffic. The counters live as long as the process (they are
counters: Prometheus handles restarts), and stay served while a log is
briefly missing during rotation; the task's own success reports the gap.

Series:
- ``vigil_http_requests_total{method,route,status_class}``; a route's ``5xx``
  series starts at 0 as soon as the route is seen. The error SLIs count 5xx,
  and a series born with its first error would lose that error to ``rate()``
  (no earlier sample to measure from) and wait one more scrape to show at all.
- ``vigil_http_request_duration_seconds{method,route}`` histogram; its buckets
  are ``request_duration_buckets`` of the config (default :data:`DEFAULT_BUCKETS`,
  which include 2 s because the latency objective is "response time under 2 s").
  A latency SLO can only count requests under a bound that is one of these
  buckets, so the spec's latency SLIs name the same list (generator/latency.py).
- ``vigil_http_log_lines_skipped_total{reason}``
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from exporters.common.tasks import CollectionError
from exporters.http.logformats import Request, SkipLine
from exporters.http.routes import RouteMapper
from exporters.http.tailer import LogTailer

PREFIX = "vigil_http"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)
ERROR_CLASS = "5xx"  # the status class the error SLIs count, served from a route's first request
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def bucket_label(bound: float) -> str:
    """The ``le`` value a bucket is exposed with (``2.0``, ``0.3``): the generator
    selects a latency SLO's bucket with this same function."""
    return floatToGoString(bound)


class RequestStats:
    """Counters and histograms of observed requests, shared by all logs; thread-safe."""

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.buckets = buckets
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._sums: Counter[tuple[str, str]] = Counter()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._skipped: Counter[str] = Counter()

    def observe(self, request: Request, route: str) -> None:
        method = request.method.upper() if request.method.upper() in METHODS else "OTHER"
        with self._lock:
            self._requests[(method, route, ERROR_CLASS)] += 0
            self._requests[(method, route, status_class(request.status))] += 1
            if request.duration is not None:
                key = (method, route)
                buckets = self._buckets.setdefault(key, [0] * len(self.buckets))
                index = bisect.bisect_left(self.buckets, request.duration)
                if index < len(self.buckets):
                    buckets[index] += 1
                self._sums[key] += request.duration
                self._counts[key] += 1

    def skip(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self._skipped[reason] += count

    def collect(self) -> list[Metric]:
        requests = CounterMetricFamily(
            f"{PREFIX}_requests_total", "Requests seen in the access log.",
            labels=["method", "route", "status_class"],
        )
        duration = HistogramMetricFamily(
            f"{PREFIX}_request_duration_seconds", "Request duration from the access log.",
            labels=["method", "route"],
        )
        skipped = CounterMetricFamily(
            f"{PREFIX}_log_lines_skipped_total", "Access-log lines that could not be counted.",
            labels=["reason"],
        )
        with self._lock:
            for key, value in sorted(self._requests.items()):
                requests.add_metric(list(key), value)
            for key, buckets in sorted(self._buckets.items()):
                cumulative, running = [], 0
                for bound, count in zip(self.buckets, buckets, strict=True):
                    running += count
                    cumulative.append((bucket_label(bound), running))
                cumulative.append(("+Inf", self._counts[key]))
                duration.add_metric(list(key), cumulative, self._sums[key])
            for reason, value in sorted(self._skipped.items()):
                skipped.add_metric([reason], value)
        return [requests, duration, skipped]


class AccessLog:
    """One followed log file feeding ``RequestStats``; ``poll`` is the task function."""

    def __init__(
        self, path: str, parse: Callable[[str], Request], routes: RouteMapper,
        stats: RequestStats, from_beginning: bool = False,
    ) -> None:
        self.path = path
        self.parse = parse
        self.routes = routes
        self.stats = stats
        self.tailer = LogTailer(path, from_beginning=from_beginning)
        self._too_long_reported = 0

    def poll(self) -> list[Metric]:
        lines = self.tailer.poll()
        for line in lines:
            if not line.strip():
                continue
            try:
                request = self.parse(line)
            except SkipLine as skip:
                self.stats.skip(skip.reason)
                continue
            self.stats.observe(request, self.routes.route(request.target))
        if self.tailer.too_long > self._too_long_reported:
            self.stats.skip("too_long", self.tailer.too_long - self._too_long_reported)
            self._too_long_reported = self.tailer.too_long
        if self.tailer.missing:
            raise CollectionError(f"{self.path}: no such file")
        return []
