"""Synthetic exporter series that give a catalogue signal a chosen value.

The generated promtool tests feed these to the real rules, so a test exercises the
whole path an alert takes in production: exporter metrics → recording rule → alert.
Each fixture writes the metrics the way the exporters do (see exporters/README.md),
sampled every minute; all series are linear so that `rate`, `increase` and
`histogram_quantile` give exactly the value asked for.

A custom signal has no fixture (Vigil cannot invent inputs for arbitrary PromQL); its
tests feed the recorded series directly, which still proves the alert logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

FIXTURES: dict[str, tuple[Callable[[Context], list[Series]], dict[str, str]]] = {
    "cpu_usage": (lambda c: [counter("vigil_host_cpu_seconds_total", {"cpu": "0", "mode": "idle"},
                                     60 * (1 - c.value), c)], {}),
    "memory_usage": (lambda c: [gauge("vigil_host_memory_total_bytes", {}, 1e9, c),
                                gauge("vigil_host_memory_available_bytes", {}, (1 - c.value) * 1e9, c)],
                     {}),
    "disk_usage": (lambda c: [gauge("vigil_host_filesystem_used_ratio",
                                    {"device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4"},
                                    c.value, c)], {"mountpoint": "/"}),
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
        "vigil_http_probe_tls_certificate_expiry_timestamp_seconds", {"target": "https://shop.example/"},
        c.eval_seconds + c.value, c)], {"target": "https://shop.example/"}),
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

# Series of a failed attempt whose duration reads `value` (the attempt's timeout): a
# signal listed here must stay silent on them, however long that duration is.
FAILED_ATTEMPTS: dict[str, Callable[[Context], list[Series]]] = {
    "network_latency": lambda c: [
        gauge("vigil_host_tcp_connect_duration_seconds", {"target": "db:5432"}, c.value, c),
        gauge("vigil_host_tcp_connect_success", {"target": "db:5432"}, 0, c)],
}
