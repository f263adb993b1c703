"""TCP connect latency to configured targets: the "network latency" signal.

Each target is its own background task with its own interval and timeout,
so an unreachable host (whose connect waits for the full timeout) never slows
a scrape. An unreachable target is a measurement (``success 0``), not a
collector failure.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

PREFIX = "vigil_host"


@dataclass(frozen=True)
class TcpTarget:
    name: str
    host: str
    port: int
    timeout: float
    interval: float


def probe(target: TcpTarget) -> list[Metric]:
    """Connect once (name resolution included) and report success and duration."""
    started = time.monotonic()
    try:
        with socket.create_connection((target.host, target.port), timeout=target.timeout):
            ok = True
    except OSError:
        ok = False
    elapsed = time.monotonic() - started
    success = GaugeMetricFamily(f"{PREFIX}_tcp_connect_success",
                                "Whether the last TCP connect succeeded.", labels=["target"])
    success.add_metric([target.name], 1 if ok else 0)
    duration = GaugeMetricFamily(
        f"{PREFIX}_tcp_connect_duration_seconds",
        "Duration of the last TCP connect attempt, name resolution included.",
        labels=["target"],
    )
    duration.add_metric([target.name], elapsed)
    return [success, duration]
