"""Infrastructure: CPU, memory, disk, network latency and backup freshness, per host.

The detail panels read the exporter the spec chose for host (`exporters.host`): with
node_exporter, load, disk and network come from its metrics (QUERIES), and the TCP
connect and backup panels, which only Vigil's host exporter measures, are left out.
"""

from __future__ import annotations

from typing import Any

from generator import catalogue
from generator.dashboards.context import Context, target
from generator.dashboards.domain import signal_dashboard
from generator.dashboards.panels.bargauge import bargauge
from generator.dashboards.panels.row import row
from generator.dashboards.panels.timeseries import timeseries
from generator.model import Spec

EXPORTER = "host"
# panel → its query template per exporter; `{m}` is load1, load5 or load15
QUERIES: dict[str, dict[str, str]] = {
    "vigil": {
        "load": "max by (instance) (vigil_host_{m}{{$sel}})",
        "disk_busy": "sum by (instance, device) (rate(vigil_host_disk_io_time_seconds_total"
                     "{$sel}[$window]))",
        "receive": "sum by (instance, device) (rate(vigil_host_network_receive_bytes_total"
                   "{$sel}[$window]))",
        "transmit": "sum by (instance, device) (rate(vigil_host_network_transmit_bytes_total"
                    "{$sel}[$window]))",
    },
    "node_exporter": {
        "load": "max by (instance) (node_{m}{{$sel}})",
        "disk_busy": "sum by (instance, device) (rate(node_disk_io_time_seconds_total"
                     "{$sel}[$window]))",
        "receive": "sum by (instance, device) (rate(node_network_receive_bytes_total"
                   "{$sel}[$window]))",
        "transmit": "sum by (instance, device) (rate(node_network_transmit_bytes_total"
                    "{$sel}[$window]))",
    },
}


def _extras(ctx: Context) -> list[Any]:
    source = ctx.spec.source_of(EXPORTER)
    queries = QUERIES[source]
    q = ctx.query
    panels = [
        row(ctx, "Host detail"),
        timeseries(
            id=ctx.ids(), title="Load average", unit="short", grid=ctx.place(8, 8),
            description="1, 5 and 15 minute load averages: runnable and waiting tasks. "
                        "Compare with the host's core count.",
            targets=[target(q(queries["load"].format(m=m), EXPORTER), ref,
                            f"{{{{instance}}}} {m}")
                     for ref, m in (("A", "load1"), ("B", "load5"), ("C", "load15"))],
        ),
        timeseries(
            id=ctx.ids(), title="Disk busy time", unit="percentunit", grid=ctx.place(8, 8),
            description="Share of time each disk had I/O in flight; near 100 % the disk is "
                        "saturated and latency grows.",
            targets=[target(q(queries["disk_busy"], EXPORTER), "A", "{{instance}} {{device}}")],
            minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Network traffic", unit="Bps", grid=ctx.place(8, 8),
            description="Bytes received and sent per second on each interface.",
            targets=[
                target(q(queries["receive"], EXPORTER), "A", "{{instance}} {{device}} in"),
                target(q(queries["transmit"], EXPORTER), "B", "{{instance}} {{device}} out"),
            ],
            minimum=0,
        ),
    ]
    if source != catalogue.VIGIL:
        return panels
    return [
        *panels,
        timeseries(
            id=ctx.ids(), title="TCP connect success", unit="percentunit", grid=ctx.place(12, 8),
            description="Whether each host reaches its configured TCP targets (1 = connected). "
                        "The connect time itself is the network latency signal.",
            targets=[target(q("min by (instance, target) (vigil_host_tcp_connect_success{$sel})",
                              EXPORTER), "A", "{{instance}} → {{target}}")],
            minimum=0, maximum=1,
        ),
        bargauge(
            id=ctx.ids(), title="Backup freshness", unit="s", grid=ctx.place(12, 8),
            description="Age of the newest backup of each kind (full, incremental, transaction "
                        "log). The alerting thresholds are on the backup age signal panels; the "
                        "transaction-log age is the current recovery point.",
            targets=[target(q("time() - max by (instance, kind) "
                              "(vigil_host_backup_newest_timestamp_seconds{$sel})", EXPORTER),
                            "A", "{{instance}} {{kind}}", instant=True)],
        ),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    return signal_dashboard(spec, "infrastructure",
                            "Host resources, disks, network latency, backups and certificates.",
                            _extras, [EXPORTER])
