"""Disk I/O and network interface counters, per device.

Whole disks only, by default: partitions, loop and RAM devices are excluded
with node_exporter's default pattern, because their I/O is already counted on
the disk that holds them and they multiply series for nothing.

Network counters are read from ``<proc>/1/net/dev``: the interfaces of
pid 1's network namespace, which is the host's even when this process runs
in a container with the host's root mounted (``rootfs``,
:mod:`exporters.host.procfs`). psutil reads ``/proc/net/dev``, the calling
process's namespace only, so that one file is parsed here (interface name,
then 16 counters: 8 receive, 8 transmit).
Disk counters stay with psutil: ``/proc/diskstats`` is not namespaced.
"""

from __future__ import annotations

import re

import psutil
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.host.procfs import pid1_lines

PREFIX = "vigil_host"
DEFAULT_EXCLUDE_DISKS = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
DEFAULT_EXCLUDE_NETDEVS = r"^$"
MAX_NETDEVS = 4096  # lines of net/dev read at most
# Column of each exported counter in a net/dev line, after the interface name.
_NETDEV_COLUMNS = {"bytes_recv": 0, "errin": 2, "bytes_sent": 8, "errout": 10}


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


def read_net_dev(proc: str = "/proc") -> dict[str, dict[str, int]]:
    """``{interface: {bytes_recv, errin, bytes_sent, errout}}`` from pid 1's ``net/dev``."""
    counters: dict[str, dict[str, int]] = {}
    for line in pid1_lines(proc, "net/dev", MAX_NETDEVS)[2:]:  # two header lines
        name, sep, rest = line.partition(b":")
        values = rest.split()
        if not sep or len(values) < 16:
            continue
        counters[name.strip().decode(errors="replace")] = {
            key: int(values[column]) for key, column in _NETDEV_COLUMNS.items()}
    return counters


def collect_network(exclude: re.Pattern[str], proc: str = "/proc") -> list[Metric]:
    fields = [
        ("network_receive_bytes_total", "Bytes received.", "bytes_recv"),
        ("network_transmit_bytes_total", "Bytes transmitted.", "bytes_sent"),
        ("network_receive_errors_total", "Receive errors.", "errin"),
        ("network_transmit_errors_total", "Transmit errors.", "errout"),
    ]
    families = [CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=["device"])
                for name, doc, _ in fields]
    for device, io in sorted(read_net_dev(proc).items()):
        if exclude.search(device):
            continue
        for family, (_, _, key) in zip(families, fields, strict=True):
            family.add_metric([device], io[key])
    return list(families)
