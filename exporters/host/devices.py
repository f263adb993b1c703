"""Disk I/O and network interface counters, per device.

Whole disks only, by default: partitions, loop and RAM devices are excluded
with node_exporter's default pattern, because their I/O is already counted on
the disk that holds them and they multiply series for nothing.
"""

from __future__ import annotations

import re

import psutil
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

PREFIX = "vigil_host"
DEFAULT_EXCLUDE_DISKS = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
DEFAULT_EXCLUDE_NETDEVS = r"^$"


def collect_disks(exclude: re.Pattern[str]) -> list[Metric]:
    fields = [
        ("disk_read_bytes_total", "Bytes read from the disk.", "read_bytes", 1.0),
        ("disk_written_bytes_total", "Bytes written to the disk.", "write_bytes", 1.0),
        ("disk_reads_completed_total", "Reads completed.", "read_count", 1.0),
        ("disk_writes_completed_total", "Writes completed.", "write_count", 1.0),
        ("disk_io_time_seconds_total", "Seconds the disk spent doing I/O.", "busy_time", 0.001),
    ]
    families = [CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=["device"])
                for name, doc, _, _ in fields]
    counters = psutil.disk_io_counters(perdisk=True, nowrap=True) or {}
    for device, io in sorted(counters.items()):
        if exclude.search(device):
            continue
        for family, (_, _, attr, scale) in zip(families, fields, strict=True):
            value = getattr(io, attr, None)
            if value is not None:
                family.add_metric([device], value * scale)
    return list(families)


def collect_network(exclude: re.Pattern[str]) -> list[Metric]:
    fields = [
        ("network_receive_bytes_total", "Bytes received.", "bytes_recv"),
        ("network_transmit_bytes_total", "Bytes transmitted.", "bytes_sent"),
        ("network_receive_errors_total", "Receive errors.", "errin"),
        ("network_transmit_errors_total", "Transmit errors.", "errout"),
    ]
    families = [CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=["device"])
                for name, doc, _ in fields]
    counters = psutil.net_io_counters(pernic=True, nowrap=True) or {}
    for device, io in sorted(counters.items()):
        if exclude.search(device):
            continue
        for family, (_, _, attr) in zip(families, fields, strict=True):
            family.add_metric([device], getattr(io, attr))
    return list(families)
