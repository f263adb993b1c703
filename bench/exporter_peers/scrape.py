"""Timed, sequential scrapes with the headers Prometheus sends.

The client keeps one HTTP/1.1 connection open, as Prometheus does; a server
that closes it after each response pays for the reconnect inside its own
timing, because Prometheus would pay for it too.
"""

from __future__ import annotations

import gzip
import http.client
import math
import statistics
import time
from dataclasses import dataclass, field

# What Prometheus 2.x sends (scrape.acceptHeader and Accept-Encoding: gzip).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class ScrapeError(RuntimeError):
    """A scrape answered something other than 200 or could not be read."""


class Scraper:
    """Scrapes one URL path on 127.0.0.1 over a persistent connection."""

    def __init__(self, port: int, path: str, use_gzip: bool = True, keepalive: bool = True,
                 timeout: float = 10.0) -> None:
        self.port = port
        self.path = path
        self.keepalive = keepalive
        self.timeout = timeout
        self.headers = {"Accept": PROMETHEUS_ACCEPT, "User-Agent": "vigil-bench/1"}
        if use_gzip:
            self.headers["Accept-Encoding"] = "gzip"
        if not keepalive:
            # A fresh TCP connection per scrape; its setup is counted in the scrape.
            self.headers["Connection"] = "close"
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def close(self) -> None:
        self._conn.close()

    def _fetch(self) -> tuple[int, bytes, str]:
        self._conn.request("GET", self.path, headers=self.headers)
        response = self._conn.getresponse()
        body = response.read()
        if not self.keepalive:
            # http.client keeps the socket unless the *response* says close.
            self._conn.close()
        return response.status, body, response.getheader("Content-Encoding", "")

    def scrape(self) -> tuple[float, int]:
        """One scrape: (seconds, body bytes on the wire). Raises ScrapeError unless 200."""
        start = time.perf_counter()
        try:
            status, body, _ = self._fetch()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection: retry once on a
            # fresh connection, and count the reconnect in this scrape's time.
            self._conn.close()
            status, body, _ = self._fetch()
        except OSError as exc:
            self._conn.close()
            raise ScrapeError(f"127.0.0.1:{self.port}{self.path}: {exc}") from exc
        elapsed = time.perf_counter() - start
        if status != 200:
            raise ScrapeError(f"127.0.0.1:{self.port}{self.path}: HTTP {status}")
        return elapsed, len(body)

    def samples(self) -> list[str]:
        """The sample lines of one scrape (comments left out), decompressed."""
        _, body, encoding = self._fetch()
        if encoding == "gzip":
            body = gzip.decompress(body)
        return [line for line in body.decode(errors="replace").splitlines()
                if line and line[0] != "#"]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of samples at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LatencySeries:
    """Latencies of one exporter's measured scrapes, in seconds."""

    values: list[float] = field(default_factory=list)
    bytes_total: int = 0
    errors: int = 0

    def add(self, seconds: float, nbytes: int) -> None:
        self.values.append(seconds)
        self.bytes_total += nbytes

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    @property
    def p99(self) -> float:
        return percentile(sorted(self.values), 0.99)

    @property
    def mean_bytes(self) -> float:
        return self.bytes_total / len(self.values) if self.values else math.nan
