"""CPU, memory/swap and load: cheap kernel counters read on every scrape.

CPU time is exported as per-mode seconds counters (like node_exporter's
``node_cpu_seconds_total``) rather than a percentage: a rate over any window
is then computed by Prometheus, and no sample is lost between scrapes.
"""

from __future__ import annotations

import os

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

PREFIX = "vigil_host"
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def collect_cpu() -> list[Metric]:
    family = CounterMetricFamily(
        f"{PREFIX}_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
        labels=["cpu", "mode"],
    )
    for index, times in enumerate(psutil.cpu_times(percpu=True)):
        for mode in CPU_MODES:
            value = getattr(times, mode, None)
            if value is not None:
                family.add_metric([str(index), mode], value)
    return [family]


def read_meminfo(path: str = "/proc/meminfo") -> dict[str, int]:
    """``/proc/meminfo`` as ``{field: bytes}``, read once.

    Why not ``psutil.virtual_memory()`` and ``psutil.swap_memory()``: together
    they read meminfo twice plus ``/proc/vmstat`` (for swap-in/out counts this
    exporter does not serve), three times the work of one read on every scrape.
    """
    fields: dict[str, int] = {}
    with open(path, "rb") as f:
        for line in f:
            name, _, rest = line.partition(b":")
            value = rest.split()
            if value:
                fields[name.decode()] = int(value[0]) * 1024  # kB, even without a unit
    return fields


def collect_memory(proc: str = "/proc") -> list[Metric]:
    meminfo = read_meminfo(os.path.join(proc, "meminfo"))
    available = meminfo.get("MemAvailable")
    if available is None:  # kernels before 3.14: psutil's estimate
        available = psutil.virtual_memory().available
    swap_total = meminfo.get("SwapTotal", 0)
    values = [
        ("memory_total_bytes", "Total physical memory.", meminfo["MemTotal"]),
        ("memory_available_bytes",
         "Memory available for new work without swapping (MemAvailable).", available),
        ("swap_total_bytes", "Total swap space.", swap_total),
        ("swap_used_bytes", "Swap space in use.", swap_total - meminfo.get("SwapFree", 0)),
    ]
    return [GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=v) for name, doc, v in values]


def read_loadavg(path: str = "/proc/loadavg") -> tuple[float, float, float]:
    """The three load averages from ``loadavg``; ``os.getloadavg`` knows only ``/proc``."""
    with open(path, "rb") as f:
        fields = f.read(256).split()
    return float(fields[0]), float(fields[1]), float(fields[2])


def collect_load(proc: str = "/proc") -> list[Metric]:
    load1, load5, load15 = read_loadavg(os.path.join(proc, "loadavg"))
    return [
        GaugeMetricFamily(f"{PREFIX}_load1", "1-minute load average.", value=load1),
        GaugeMetricFamily(f"{PREFIX}_load5", "5-minute load average.", value=load5),
        GaugeMetricFamily(f"{PREFIX}_load15", "15-minute load average.", value=load15),
    ]
