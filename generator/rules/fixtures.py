"""Synthetic exporter series that give a catalogue signal a chosen value.

The generated promtool tests feed these to the real rules, so a test exercises the
whole path an alert takes in production: exporter metrics → recording rule → alert.
Each fixture writes the metrics the way the exporters do (see exporters/README.md),
sampled every minute; all series are linear so that `rate`, `increase` and
`histogram_quantile` give exactly the value asked for.

A signal read from a standard exporter (`exporters:`) has its fixture in STANDARD,
written in that exporter's metrics; :func:`fixture` picks the one its definition reads.

A custom signal has no fixture (Vigil cannot invent inputs for arbitrary PromQL); its
tests feed the recorded series directly, which still proves the alert logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator.catalogue import VIGIL, SignalDefinition

Series = tuple[str, dict[str, str], str]  # metric name, extra labels, promtool values


@dataclass(frozen=True)
class Context:
    value: float  # the signal value wanted at evaluation time
    samples: int  # number of 1-minute steps in the series
    eval_seconds: float  # evaluation time, for time()-relative gauges
    window: float | None  # the threshold's window, for counted events


def _n(value: float) -> str:
    return repr(round(value, 12))


def gauge(name: str, labels: dict[str, str], value: float, ctx: Context) -> Series:
    return name, labels, f"{_n(value)}x{ctx.samples}"


def counter(name: str, labels: dict[str, str], per_minute: float, ctx: Context) -> Series:
    return name, labels, f"0+{_n(per_minute)}x{ctx.samples}"


def _events(name: str, labels: dict[str, str]) -> Callable[[Context], list[Series]]:
    """A counter growing so that its increase over the threshold's window is the value."""
    return lambda c: [counter(name, labels, c.value / ((c.window or 300.0) / 60.0), c)]


REQUEST = {"method": "GET", "route": "/checkout"}
ROOT_FS = {"device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4"}
PROBED = {"target": "https://shop.example/"}

Fixture = tuple[Callable[[Context], list[Series]], dict[str, str]]

FIXTURES: dict[str, Fixture] = {
    "cpu_usage": (lambda c: [counter("vigil_host_cpu_seconds_total", {"cpu": "0", "mode": "idle"},
                                     60 * (1 - c.value), c)], {}),
    "memory_usage": (lambda c: [gauge("vigil_host_memory_total_bytes", {}, 1e9, c),
                                gauge("vigil_host_memory_available_bytes", {}, (1 - c.value) * 1e9, c)],
                     {}),
    "disk_usage": (lambda c: [gauge("vigil_host_filesystem_used_ratio", ROOT_FS, c.value, c)],
                   {"mountpoint": "/"}),
    "network_latency": (lambda c: [gauge("vigil_host_tcp_connect_duration_seconds",
                                         {"target": "db:5432"}, c.value, c),
                                   gauge("vigil_host_tcp_connect_success", {"target": "db:5432"}, 1, c)],
                        {"target": "db:5432"}),
    "network_unreachable": (lambda c: [gauge("vigil_host_tcp_connect_success", {"target": "db:5432"},
                                             1 - c.value, c)], {"target": "db:5432"}),
    "full_backup_age": (lambda c: [gauge("vigil_host_backup_newest_timestamp_seconds", {"kind": "full"},
                                         c.eval_seconds - c.value, c)], {}),
    "incremental_backup_age": (lambda c: [gauge("vigil_host_backup_newest_timestamp_seconds",
                                                {"kind": "incremental"}, c.eval_seconds - c.value, c)],
                               {}),
    "wal_backup_age": (lambda c: [gauge("vigil_host_backup_newest_timestamp_seconds", {"kind": "wal"},
                                        c.eval_seconds - c.value, c)], {}),
    "tls_certificate_expiry": (lambda c: [gauge("vigil_host_tls_certificate_expiry_timestamp_seconds",
                                                {"path": "/etc/ssl/site.pem"},
                                                c.eval_seconds + c.value, c)],
                               {"path": "/etc/ssl/site.pem"}),
    "served_certificate_expiry": (lambda c: [gauge(
        "vigil_http_probe_tls_certificate_expiry_timestamp_seconds", PROBED,
        c.eval_seconds + c.value, c)], PROBED),
    "endpoint_down": (lambda c: [gauge("vigil_http_probe_success", PROBED, 1 - c.value, c)], PROBED),
    "response_time": (lambda c: [
        counter("vigil_http_request_duration_seconds_bucket", {**REQUEST, "le": _n(c.value / 0.95)},
                60, c),
        counter("vigil_http_request_duration_seconds_bucket", {**REQUEST, "le": "+Inf"}, 60, c),
    ], {}),
    "error_rate": (lambda c: [
        counter("vigil_http_requests_total", {**REQUEST, "status_class": "5xx"}, 100 * c.value, c),
        counter("vigil_http_requests_total", {**REQUEST, "status_class": "2xx"}, 100 * (1 - c.value), c),
    ], {}),
    "throughput": (lambda c: [counter("vigil_http_requests_total", {**REQUEST, "status_class": "2xx"},
                                      60 * c.value, c)], {}),
    "active_users": (lambda c: [gauge("vigil_business_active_users", {}, c.value, c)], {}),
    "query_time": (lambda c: [counter("vigil_pg_statements_calls_total", {}, 60, c),
                              counter("vigil_pg_statements_exec_seconds_total", {}, 60 * c.value, c)],
                   {}),
    "connection_pool_usage": (lambda c: [gauge("vigil_pg_connections", {"state": "active"}, 100 * c.value, c),
                                         gauge("vigil_pg_max_connections", {}, 100, c)], {}),
    "deadlocks": (_events("vigil_pg_deadlocks_total", {"datname": "shop"}), {}),
    "replication_lag": (lambda c: [gauge("vigil_pg_replication_lag_seconds", {}, c.value, c)], {}),
    "daily_revenue": (lambda c: [gauge("vigil_business_daily_revenue", {}, c.value, c)], {}),
    "conversion_rate": (lambda c: [gauge("vigil_business_conversion_ratio", {}, c.value, c)], {}),
    "order_processing_time": (lambda c: [gauge("vigil_business_order_processing_seconds", {},
                                               c.value, c)], {}),
    "customer_satisfaction": (lambda c: [gauge("vigil_business_customer_satisfaction_score", {},
                                               c.value, c)], {}),
    "failed_logins": (_events("vigil_business_failed_logins_total", {}), {}),
    "suspicious_activity": (_events("vigil_business_suspicious_activity_total", {}), {}),
}

# (standard exporter, signal) → the fixture in that exporter's metrics.
STANDARD: dict[tuple[str, str], Fixture] = {
    ("node_exporter", "cpu_usage"): (lambda c: [counter(
        "node_cpu_seconds_total", {"cpu": "0", "mode": "idle"}, 60 * (1 - c.value), c)], {}),
    ("node_exporter", "memory_usage"): (lambda c: [
        gauge("node_memory_MemTotal_bytes", {}, 1e9, c),
        gauge("node_memory_MemAvailable_bytes", {}, (1 - c.value) * 1e9, c)], {}),
    ("node_exporter", "disk_usage"): (lambda c: [
        gauge("node_filesystem_size_bytes", ROOT_FS, 1e9, c),
        gauge("node_filesystem_free_bytes", ROOT_FS, (1 - c.value) * 1e9, c),
        gauge("node_filesystem_avail_bytes", ROOT_FS, (1 - c.value) * 1e9, c)], {"mountpoint": "/"}),
    ("blackbox_exporter", "served_certificate_expiry"): (lambda c: [gauge(
        "probe_ssl_earliest_cert_expiry", PROBED, c.eval_seconds + c.value, c)], PROBED),
    ("blackbox_exporter", "endpoint_down"): (lambda c: [
        gauge("probe_success", PROBED, 1 - c.value, c)], PROBED),
    ("postgres_exporter", "query_time"): (lambda c: [gauge(
        "pg_stat_activity_max_tx_duration", {"datname": "shop", "state": "active"}, c.value, c)],
        {}),
    ("postgres_exporter", "connection_pool_usage"): (lambda c: [
        gauge("pg_stat_activity_count", {"datname": "shop", "state": "active"}, 100 * c.value, c),
        gauge("pg_settings_max_connections", {}, 100, c)], {}),
    ("postgres_exporter", "deadlocks"): (_events("pg_stat_database_deadlocks", {"datname": "shop"}),
                                         {}),
}


def fixture(definition: SignalDefinition) -> Fixture | None:
    """The series that give this definition a chosen value; None for a custom signal."""
    if definition.source == VIGIL:
        return FIXTURES.get(definition.name)
    if definition.source is None:
        return None
    return STANDARD.get((definition.source, definition.name))


# Series of a failed attempt whose duration reads `value` (the attempt's timeout): a
# signal listed here must stay silent on them, however long that duration is.
FAILED_ATTEMPTS: dict[str, Callable[[Context], list[Series]]] = {
    "network_latency": lambda c: [
        gauge("vigil_host_tcp_connect_duration_seconds", {"target": "db:5432"}, c.value, c),
        gauge("vigil_host_tcp_connect_success", {"target": "db:5432"}, 0, c)],
}
