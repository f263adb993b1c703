"""Self-metrics every Vigil exporter serves, named ``<prefix>_...``.

Why: "the exporter answered" is not "the source worked". Each collector (one
source of data: ``cpu``, ``filesystem``, ``probe:shop``, a SQL query...) reports

- ``<prefix>_collector_success{collector}``: 1 if its last collection worked, else 0;
- ``<prefix>_collector_duration_seconds{collector}``: how long that collection took;

and the exporter reports ``<prefix>_build_info{version,python_version} 1``.
Prefixes are fixed by the metric contract: ``vigil_host``, ``vigil_http``,
``vigil_pg``, ``vigil_sql``.

Public API: ``CollectorStatus``, ``collector_families(prefix, statuses)``,
``build_info_family(prefix)``, ``vigil_version()``.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from prometheus_client.core import GaugeMetricFamily


@dataclass(frozen=True)
class CollectorStatus:
    """Outcome of one collector's most recent collection."""

    collector: str
    success: bool
    duration: float


@cache
def vigil_version() -> str:
    try:
        return metadata.version("vigil")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_info_family(prefix: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        f"{prefix}_build_info",
        "A metric with a constant '1' value labelled by the Vigil version and Python version.",
        labels=["version", "python_version"],
    )
    family.add_metric([vigil_version(), platform.python_version()], 1)
    return family


def collector_families(
    prefix: str, statuses: Iterable[CollectorStatus]
) -> list[GaugeMetricFamily]:
    success = GaugeMetricFamily(
        f"{prefix}_collector_success",
        "Whether the collector's last collection succeeded (1) or failed (0).",
        labels=["collector"],
    )
    duration = GaugeMetricFamily(
        f"{prefix}_collector_duration_seconds",
        "Duration of the collector's last collection.",
        labels=["collector"],
    )
    for status in statuses:
        success.add_metric([status.collector], 1 if status.success else 0)
        duration.add_metric([status.collector], status.duration)
    return [success, duration]
