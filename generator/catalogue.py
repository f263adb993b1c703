"""The signal catalogue: what each named signal means in PromQL, and how to show it.

This is the hinge of Vigil. An alert rule and a dashboard panel are both built from a
catalogue entry, so the threshold an engineer writes in the spec moves the alert and
the line on the graph together. Expressions are templates over the exporters'
metrics (see exporters/README.md) with two placeholders:

- `$sel`   – the label matchers that scope the query. The rules fill in the spec's
             selectors and the exporter's job; dashboards fill in `$job`, `$instance`
             and the environment variable. Written last inside braces, so an empty
             selector still parses (`x{mode="idle",}` is valid PromQL).
- `$window` – the range of `rate`/`increase`: `5m` in rules, `$__rate_interval` in
             dashboards, and the threshold's own window for `5/h`-style counts.

Counted events (unit `events`) are written with :func:`counted`, not `increase()`:
`increase` extrapolates to the window's edges, so five events read 5.02 or 5 depending
on how scrapes and evaluations happen to align, and a threshold of `5/h` fired on the
fifth event or on the sixth by chance. :func:`counted` is the difference between the
newest and oldest sample in the window (integers in, integers out), with a counter
reset read as "count what came after it".

A spec may declare a signal that is not here, with its own `expr` and `unit`.

A spec also chooses, per exporter role, whose metrics the catalogue reads (`exporters:`):
Vigil's own exporter, or the standard one an existing stack already runs
(node_exporter, postgres_exporter, blackbox_exporter). A signal keeps one name, title,
unit, dashboard and runbook; its `expr` is Vigil's exporter's and `sources` holds the
same measurement over each standard exporter's metrics (:func:`for_source`). A signal
without an entry for the chosen exporter cannot be measured from it, and the loader
refuses it by name rather than dropping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

# Unit kinds a signal can have. Each decides which threshold notations the spec accepts
# (see generator/thresholds.py) and which Grafana unit draws it.
UNIT_KINDS: dict[str, str] = {
    "ratio": "percentunit",
    "seconds": "s",
    "per_second": "reqps",
    "events": "short",
    "count": "short",
    "score": "short",
    "currency": "currencyUSD",
    "bytes": "bytes",
}

# Currencies of money signals (unit `currency`): ISO 4217 codes that Grafana has a
# `currency<CODE>` unit for (its value formats' currency category), so a dashboard
# shows the spec's currency. A spec sets `currency:` at the top or per signal.
CURRENCIES: tuple[str, ...] = (
    "USD", "EUR", "GBP", "JPY", "CHF", "CZK", "DKK", "ISK", "NOK", "SEK", "PLN", "BGN",
    "RUB", "UAH", "TRY", "ILS", "BRL", "PYG", "UYU", "ZAR", "INR", "KRW", "IDR", "PHP",
    "VND", "MYR", "XPF",
)
DEFAULT_CURRENCY = "USD"

DASHBOARDS: tuple[str, ...] = ("infrastructure", "application", "database", "business")
# `incidents` is the incident recorder (`vigil incidents`): scraped like an exporter, and
# the webhook every generated Alertmanager receiver also notifies.
EXPORTERS: tuple[str, ...] = ("host", "http", "postgres", "sql", "incidents")
# The exporter each signal dashboard's own panels (beside the signals') read.
DASHBOARD_EXPORTERS: dict[str, str] = {"infrastructure": "host", "application": "http",
                                       "database": "postgres", "business": "sql"}

VIGIL = "vigil"
# Role → the standard exporter a spec may read instead of Vigil's own (`exporters:`).
STANDARD_EXPORTERS: dict[str, str] = {"host": "node_exporter", "postgres": "postgres_exporter",
                                      "http": "blackbox_exporter"}
# What a user can do about a signal the standard exporter has no metric for.
STANDARD_HINTS: dict[str, str] = {
    "node_exporter": "node_exporter's textfile collector can export what a script measures; "
                     "read it in a custom signal with `expr`",
    "postgres_exporter": "postgres_exporter 0.11's custom queries (--extend.query-path) can "
                         "export it; read it in a custom signal with `expr`",
    "blackbox_exporter": "blackbox_exporter probes endpoints and sees no requests; keep Vigil's "
                         "http exporter for request metrics, or read them in a custom signal "
                         "with `expr`",
}


@dataclass(frozen=True)
class Source:
    """A signal measured from a standard exporter's metrics, and how that reading differs."""

    expr: str
    description: str | None = None  # replaces the signal's when the measurement differs


@dataclass(frozen=True)
class SignalDefinition:
    """A signal as the catalogue (or a custom spec entry) defines it, before thresholds."""

    name: str
    title: str
    unit: str
    expr: str
    dashboard: str
    description: str
    runbook: str
    exporter: str | None = None
    by: tuple[str, ...] = ("instance",)
    direction: str = ">"  # which side of the threshold is bad
    # standard exporter → the same signal over its metrics; `expr` is Vigil's exporter's
    sources: Mapping[str, Source] = field(default_factory=dict, compare=False, hash=False)
    source: str | None = VIGIL  # whose metrics `expr` reads; None for a custom signal
    currency: str = DEFAULT_CURRENCY  # of a `currency` signal: the spec's, or its own

    @property
    def grafana_unit(self) -> str:
        if self.unit == "currency":
            return f"currency{self.currency}"
        return UNIT_KINDS[self.unit]

    @property
    def is_counter(self) -> bool:
        """Events signals are increases of a counter over the threshold's window."""
        return self.unit == "events"


def _sig(**kwargs: object) -> SignalDefinition:
    return SignalDefinition(**kwargs)  # type: ignore[arg-type]


def for_source(definition: SignalDefinition, source: str) -> SignalDefinition | None:
    """The definition reading `source`'s metrics, or None when that exporter has none."""
    if source == VIGIL:
        return definition
    found = definition.sources.get(source)
    if found is None:
        return None
    return replace(definition, expr=found.expr, source=source,
                   description=found.description or definition.description)


_NODE_FS = 'fstype!~"tmpfs|ramfs",$sel'


def counted(selector: str, by: str = "") -> str:
    """The exact number of events a counter saw over `$window`, summed `by`.

    Without a reset in the window: newest sample minus oldest (the counter only grows,
    so these are its maximum and minimum), with no extrapolation, so the value is the
    same whichever way scrapes and evaluations are aligned. Events between the last
    sample before the window and the first inside it are not counted: the window
    starts at a scrape. With a reset (the exporter or the server restarted and the
    counter began again at 0): the value after it, i.e. the events since the restart,
    never more than happened. A series that appears with a large total counts from
    there (its oldest sample is that total).
    """
    window = f"{selector}[$window]"
    grouping = f" {by} " if by else " "
    return (f"sum{grouping}((max_over_time({window}) - min_over_time({window})"
            f" unless resets({window}) > 0)"
            f" or (last_over_time({window}) and resets({window}) > 0))")


_BUILTIN: tuple[SignalDefinition, ...] = (
    # Infrastructure -------------------------------------------------------------
    _sig(
        name="cpu_usage", title="CPU usage", unit="ratio", exporter="host",
        dashboard="infrastructure",
        expr='1 - avg by (instance) (rate(vigil_host_cpu_seconds_total{mode="idle",$sel}[$window]))',
        sources={"node_exporter": Source(
            '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",$sel}[$window]))')},
        description="Share of CPU time not idle, averaged over all cores of a host.",
        runbook="Find the busiest processes (top, pidstat). If the load is legitimate, "
                "scale out or up; if one process runs away, restart it and open an incident.",
    ),
    _sig(
        name="memory_usage", title="Memory usage", unit="ratio", exporter="host",
        dashboard="infrastructure",
        expr="1 - (sum by (instance) (vigil_host_memory_available_bytes{$sel})"
             " / sum by (instance) (vigil_host_memory_total_bytes{$sel}))",
        sources={"node_exporter": Source(
            "1 - (sum by (instance) (node_memory_MemAvailable_bytes{$sel})"
            " / sum by (instance) (node_memory_MemTotal_bytes{$sel}))")},
        description="Share of memory not available to new work (page cache counts as available).",
        runbook="Check the largest resident processes and swap activity. Restart a leaking "
                "service, or add memory before the OOM killer chooses for you.",
    ),
    _sig(
        name="disk_usage", title="Disk usage", unit="ratio", exporter="host",
        dashboard="infrastructure", by=("instance", "mountpoint"),
        expr="max by (instance, mountpoint) (vigil_host_filesystem_used_ratio{$sel})",
        # df's Use%, as Vigil's exporter computes it: used / (used + available to users).
        sources={"node_exporter": Source(
            f"max by (instance, mountpoint) (1 - node_filesystem_avail_bytes{{{_NODE_FS}}}"
            f" / (node_filesystem_size_bytes{{{_NODE_FS}}} - node_filesystem_free_bytes{{{_NODE_FS}}}"
            f" + node_filesystem_avail_bytes{{{_NODE_FS}}}))")},
        description="Share of each filesystem's space in use.",
        runbook="Find what grew (du -x, old logs, backups, WAL). Free space or extend the "
                "volume; a full disk stops databases from writing.",
    ),
    _sig(
        name="network_latency", title="Network latency", unit="seconds", exporter="host",
        dashboard="infrastructure", by=("instance", "target"),
        # A failed connect lasts until its timeout: that is not a latency, and it is
        # network_unreachable's to report.
        expr="max by (instance, target) (vigil_host_tcp_connect_duration_seconds{$sel}"
             " and on (job, instance, target) vigil_host_tcp_connect_success{$sel} == 1)",
        description="TCP connect time from each host to its configured targets, over "
                    "successful connects only (a failed one is network_unreachable).",
        runbook="Compare targets: one slow target points at that peer, all slow at the "
                "host's network. Check packet loss (mtr) and interface errors.",
    ),
    _sig(
        name="network_unreachable", title="Network target unreachable", unit="ratio",
        exporter="host", dashboard="infrastructure", by=("instance", "target"),
        expr="1 - min by (instance, target) (vigil_host_tcp_connect_success{$sel})",
        description="Whether the last TCP connect from each host to each configured target "
                    "failed (1) or succeeded (0): refused, timed out or not resolved.",
        runbook="Check that the target's service listens (ss -ltn on the peer), firewalls "
                "and security groups between the hosts, and DNS for the target's name.",
    ),
    _sig(
        name="full_backup_age", title="Full backup age", unit="seconds", exporter="host",
        dashboard="infrastructure",
        expr='time() - max by (instance) (vigil_host_backup_newest_timestamp_seconds{kind="full",$sel})',
        description="Time since the newest full database backup was written.",
        runbook="Check the backup job's last run and its logs, and the backup storage. "
                "Run a full backup by hand if the schedule missed.",
    ),
    _sig(
        name="incremental_backup_age", title="Incremental backup age", unit="seconds",
        exporter="host", dashboard="infrastructure",
        expr="time() - max by (instance) "
             '(vigil_host_backup_newest_timestamp_seconds{kind="incremental",$sel})',
        description="Time since the newest incremental backup was written.",
        runbook="Check the incremental backup job and its storage target.",
    ),
    _sig(
        name="wal_backup_age", title="Transaction log backup age", unit="seconds",
        exporter="host", dashboard="infrastructure",
        expr='time() - max by (instance) (vigil_host_backup_newest_timestamp_seconds{kind="wal",$sel})',
        description="Time since the newest transaction-log (WAL) archive: the recovery "
                    "point if the database were lost now.",
        runbook="WAL archiving has stalled: check archive_command failures in the PostgreSQL "
                "log and pg_stat_archiver. Past the recovery point objective, data is at risk.",
    ),
    _sig(
        name="tls_certificate_expiry", title="TLS certificate expiry", unit="seconds",
        exporter="host", dashboard="infrastructure", by=("instance", "path"), direction="<",
        expr="min by (instance, path) (vigil_host_tls_certificate_expiry_timestamp_seconds{$sel}) - time()",
        description="Time left before each configured certificate file expires.",
        runbook="Renew the certificate (certbot renew, or the issuing CA), deploy it and "
                "reload the service that serves it.",
    ),
    # Application ----------------------------------------------------------------
    _sig(
        name="response_time", title="Response time (p95)", unit="seconds", exporter="http",
        dashboard="application",
        expr="histogram_quantile(0.95, sum by (instance, le) "
             "(rate(vigil_http_request_duration_seconds_bucket{$sel}[$window])))",
        description="95th percentile of request duration from the access log.",
        runbook="Check which routes are slow, then the database (query time, locks) and "
                "upstream APIs. Roll back a recent deploy if it correlates.",
    ),
    _sig(
        name="error_rate", title="Error rate", unit="ratio", exporter="http",
        dashboard="application",
        expr='sum by (instance) (rate(vigil_http_requests_total{status_class="5xx",$sel}[$window]))'
             " / sum by (instance) (rate(vigil_http_requests_total{$sel}[$window]))",
        description="Share of requests answered with a 5xx status.",
        runbook="Read the application's error log for the failing routes; check dependencies "
                "(database, payment API). Roll back a recent deploy if it correlates.",
    ),
    _sig(
        name="throughput", title="Throughput", unit="per_second", exporter="http",
        dashboard="application",
        expr="sum by (instance) (rate(vigil_http_requests_total{$sel}[$window]))",
        description="Requests served per second.",
        runbook="High throughput is informational: confirm it is real traffic (not a crawler "
                "or attack) and that capacity keeps up.",
    ),
    _sig(
        name="served_certificate_expiry", title="TLS certificate expiry (served)", unit="seconds",
        exporter="http", dashboard="application", by=("instance", "target"), direction="<",
        expr="min by (instance, target) "
             "(vigil_http_probe_tls_certificate_expiry_timestamp_seconds{$sel}) - time()",
        # blackbox_exporter's probes are labelled with their URL as both `instance` and
        # `target` (generator/prometheus_config.py), so `by` is the same for both.
        sources={"blackbox_exporter": Source(
            "min by (instance, target) (probe_ssl_earliest_cert_expiry{$sel}) - time()",
            "Time left before the certificate chain served at each probed HTTPS URL expires "
            "(its earliest certificate), as blackbox_exporter reads it.")},
        description="Time left before the certificate served at each probed HTTPS URL expires "
                    "(the application's own endpoints and the third-party APIs it depends on).",
        runbook="Renew and deploy the certificate of our own endpoints; for a third-party API, "
                "tell the vendor and check that its new certificate chains to a trusted root.",
    ),
    _sig(
        name="endpoint_down", title="Endpoint down", unit="ratio", exporter="http",
        dashboard="application", by=("instance", "target"),
        expr="1 - min by (instance, target) (vigil_http_probe_success{$sel})",
        sources={"blackbox_exporter": Source(
            "1 - min by (instance, target) (probe_success{$sel})")},
        description="Whether the last probe of each probed URL failed (1) or succeeded (0): "
                    "no answer, a refused connection, or an unexpected status.",
        runbook="Check the endpoint's process and network; for a third-party API, its "
                "status page. The probe's own error is in the exporter's log.",
    ),
    _sig(
        name="active_users", title="Active users", unit="count", exporter="sql",
        dashboard="application", by=(),
        expr="max(vigil_business_active_users{$sel})",
        description="Distinct users with a session active in the last 15 minutes.",
        runbook="Informational: a peak of users. Watch response time and error rate.",
    ),
    # Database -------------------------------------------------------------------
    _sig(
        name="query_time", title="Query time", unit="seconds", exporter="postgres",
        dashboard="database",
        expr="(sum by (instance) (rate(vigil_pg_statements_exec_seconds_total{$sel}[$window]))"
             " / sum by (instance) (rate(vigil_pg_statements_calls_total{$sel}[$window]) > 0))"
             " or max by (instance) (vigil_pg_longest_query_seconds{$sel})",
        # postgres_exporter 0.11 reads no pg_stat_statements by default: the longest
        # running active transaction is what it has of Vigil's fallback.
        sources={"postgres_exporter": Source(
            'max by (instance) (pg_stat_activity_max_tx_duration{state="active",$sel})',
            "Age of the longest running active transaction (postgres_exporter's "
            "pg_stat_activity_max_tx_duration), which bounds the longest running query.")},
        description="Mean statement execution time from pg_stat_statements, or the longest "
                    "running query where that extension is not installed.",
        runbook="Find the slow statements (pg_stat_statements ordered by mean_exec_time, "
                "pg_stat_activity), check plans with EXPLAIN ANALYZE and missing indexes.",
    ),
    _sig(
        name="connection_pool_usage", title="Connection pool usage", unit="ratio",
        exporter="postgres", dashboard="database",
        expr="sum by (instance) (vigil_pg_connections{$sel})"
             " / max by (instance) (vigil_pg_max_connections{$sel})",
        sources={"postgres_exporter": Source(
            "sum by (instance) (pg_stat_activity_count{$sel})"
            " / max by (instance) (pg_settings_max_connections{$sel})")},
        description="Connections in use against max_connections.",
        runbook="Look for idle-in-transaction sessions and connection leaks in "
                "pg_stat_activity; put a pooler in front or raise max_connections.",
    ),
    _sig(
        name="deadlocks", title="Deadlocks", unit="events", exporter="postgres",
        dashboard="database",
        expr=counted("vigil_pg_deadlocks_total{$sel}", "by (instance)"),
        sources={"postgres_exporter": Source(
            counted("pg_stat_database_deadlocks{$sel}", "by (instance)"))},
        description="Deadlocks detected by PostgreSQL.",
        runbook="Read the deadlock reports in the PostgreSQL log; make the transactions "
                "involved take their locks in the same order.",
    ),
    _sig(
        name="replication_lag", title="Replication lag", unit="seconds", exporter="postgres",
        dashboard="database",
        # Both sides in one max: a primary's own series reads 0, so `max(own) or
        # max(replicas)` never looked at its standbys.
        expr="max by (instance) (vigil_pg_replication_lag_seconds{$sel}"
             ' or vigil_pg_replica_lag_seconds{kind="replay",$sel})',
        description="The worst replay delay the exporter sees: a standby's own (the age of "
                    "its last replayed transaction while it receives no WAL), or on a "
                    "primary the worst of its connected standbys.",
        runbook="Check the standby's I/O and the network, long queries on the standby "
                "holding replay back, and pg_stat_replication on the primary.",
    ),
    # Business -------------------------------------------------------------------
    _sig(
        name="daily_revenue", title="Daily revenue", unit="currency", exporter="sql",
        dashboard="business", by=(), direction="<",
        expr="sum(vigil_business_daily_revenue{$sel})",
        description="Revenue over the last 24 hours.",
        runbook="Check payment failures (payment provider status, error rate of the "
                "checkout routes) and marketing campaigns that ended.",
    ),
    _sig(
        name="conversion_rate", title="Conversion rate", unit="ratio", exporter="sql",
        dashboard="business", by=(), direction="<",
        expr="avg(vigil_business_conversion_ratio{$sel})",
        description="Orders per session over the last hour.",
        runbook="Check the checkout funnel for errors, a broken page or a pricing change.",
    ),
    _sig(
        name="order_processing_time", title="Order processing time", unit="seconds",
        exporter="sql", dashboard="business", by=(),
        expr="max(vigil_business_order_processing_seconds{$sel})",
        description="Average time from order placement to completion, over the last hour.",
        runbook="Check the fulfilment queue and its workers, and the payment capture step.",
    ),
    _sig(
        name="customer_satisfaction", title="Customer satisfaction", unit="score",
        exporter="sql", dashboard="business", by=(), direction="<",
        expr="avg(vigil_business_customer_satisfaction_score{$sel})",
        description="Average satisfaction rating (1–5) over the last 24 hours.",
        runbook="Read the recent low ratings and support tickets for a common cause.",
    ),
    _sig(
        name="failed_logins", title="Failed login attempts", unit="events", exporter="sql",
        dashboard="business", by=(),
        expr=counted("vigil_business_failed_logins_total{$sel}"),
        description="Failed login attempts.",
        runbook="Look for credential stuffing: source addresses and targeted accounts in the "
                "login log. Rate-limit or block sources; force resets on hit accounts.",
    ),
    _sig(
        name="suspicious_activity", title="Suspicious activity", unit="events", exporter="sql",
        dashboard="business", by=(),
        expr=counted("vigil_business_suspicious_activity_total{$sel}"),
        description="Events flagged as suspicious by the application.",
        runbook="Follow the security incident procedure: assess, contain (block, force "
                "logout), and keep evidence.",
    ),
)

BUILTIN: dict[str, SignalDefinition] = {s.name: s for s in _BUILTIN}

# Measured reliability, from the incident recorder's metrics (exporters/incidents).
# Not spec signals with thresholds of their own: their targets are the spec's
# `reliability` section, and generator/rules/reliability.py records them over each
# window (`$window`) and alerts on those targets. `$severities` is the regex of the
# severities that count as failures. Each is "what changed in the window": the
# counter now minus the counter a window ago, or the whole counter while history is
# shorter than the window (the recorder's counters start at zero with its store).
_IN_WINDOW = ("(sum(vigil_incidents_{m}{{severity=~\"$severities\",$sel}})"
              " - sum(vigil_incidents_{m}{{severity=~\"$severities\",$sel}} offset $window)"
              " or sum(vigil_incidents_{m}{{severity=~\"$severities\",$sel}}))")
RELIABILITY: dict[str, SignalDefinition] = {s.name: s for s in (
    _sig(
        name="mttr", title="MTTR", unit="seconds", exporter="incidents", dashboard="overview",
        by=(),
        expr=_IN_WINDOW.format(m="time_to_resolve_seconds_sum") + " / ("
             + _IN_WINDOW.format(m="time_to_resolve_seconds_count") + " > 0)",
        description="Mean time to recovery: the mean duration, from first firing to resolved, "
                    "of the incidents resolved in the window.",
        runbook="Recovery takes longer than the plan allows: read the longest incidents of the "
                "period (vigil report, the overview's incident table), see where time went "
                "(detection, acknowledgement, fix) and fix the slowest step: runbooks, "
                "escalation, automation.",
    ),
    _sig(
        name="mtbf", title="MTBF", unit="seconds", exporter="incidents", dashboard="overview",
        by=(), direction="<",
        expr="clamp_max(time() - max(vigil_incidents_store_created_timestamp_seconds{$sel}), "
             "$window_seconds) / (" + _IN_WINDOW.format(m="opened_total") + " > 0)",
        description="Mean time between failures: the time observed in the window (since the "
                    "incident store was created, at most the window) divided by the incidents "
                    "that started in it.",
        runbook="Failures come more often than the plan allows: group the period's incidents "
                "by signal and team (vigil report) and fix the most frequent cause first.",
    ),
)}
