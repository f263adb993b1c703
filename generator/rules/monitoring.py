"""Alerts about the monitoring itself: when these stay quiet, the other alerts can be trusted.

A threshold alert whose metric has gone away never fires, and nobody notices. So the
pipeline watches itself, every alert labelled `category: monitoring`:

- **Watchdog**, the dead man's switch: `vector(1)`, always firing, routed to its own
  heartbeat receiver (deploy/alertmanager/alertmanager.yml). An outside service
  (Healthchecks.io, Dead Man's Snitch, a PagerDuty heartbeat) pages when its posts
  stop, which is the one failure nothing inside can report: Prometheus, its rules,
  Alertmanager or the network between them gone.
- **Targets and scrapes** of every generated job (the four exporters, Prometheus and
  Alertmanager): a target down (severity from the spec), flapping, scraping close to
  its timeout, samples dropped by the exporter's output bounds, scrapes discarded at a
  limit, samples rejected.
- **Each exporter's own health**, from its self-metrics (exporters/README.md): a
  failing collector (a probe that cannot run, an unreadable file), the database the
  postgres exporter cannot reach, a business query failing (with its reason) or not
  having succeeded for twice its interval. A role read from a standard exporter
  (`exporters:`) is watched through that exporter's own metrics: node_exporter's
  `node_scrape_collector_success` for the collectors Vigil's signals and panels read
  (not all: several report failure on any host without that hardware), and
  postgres_exporter's `pg_up` and `pg_scrape_collector_success`. blackbox_exporter
  has no collector: a failed probe is the `endpoint_down` signal, not a monitoring fault.

Only the exporters a spec reads (Spec.used_exporters) are watched: a spec without
database signals has no alert about a postgres exporter it does not run.
- **Prometheus and Alertmanager**, as the prometheus and alertmanager mixins watch
  them: rule evaluation failures, missed and slow rule groups, configuration reloads,
  the notification queue, errors sending to and discovering Alertmanager, TSDB
  compactions, WAL corruption; failed notifications per integration, cluster peers.
- **InfoInhibitor** (kube-prometheus's): fires while an alert of the info severity
  fires and no more severe one does in the same deployment (the spec's selector
  labels). Alertmanager routes it nowhere and lets it inhibit info alerts, so info
  alerts stay on the dashboards and out of every receiver, pager included, until a
  real problem gives them context.

Each alert carries the test inputs that make it fire and those that keep it quiet;
generator/rules/monitoring_tests.py turns them into promtool tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator import catalogue, links, promql, templating, units
from generator.model import Spec
from generator.prometheus_config import SCRAPE_TIMEOUT

CATEGORY = "monitoring"
WATCHDOG = "Watchdog"
INFO_INHIBITOR = "InfoInhibitor"
NO_SEVERITY = "none"  # Watchdog and InfoInhibitor: routed by name, never escalated
SLOW_SCRAPE_SHARE = 0.8  # of the scrape timeout
FLAPPING_WINDOW = "15m"
FLAPPING_CHANGES = 3  # more state changes than this in the window is flapping
EXPOSITION_PREFIXES = {"host": "vigil_host", "http": "vigil_http", "postgres": "vigil_pg",
                       "sql": "vigil_sql"}
COLLECTING = ("host", "http", "postgres")  # Vigil's exporters with `..._collector_success`
# node_exporter collectors behind the host signals and the infrastructure dashboard.
NODE_COLLECTORS = ("cpu", "diskstats", "filesystem", "loadavg", "meminfo", "netdev")

# metric, labels, promtool values: "{n}" is replaced by the number of samples, or a
# function of that number gives the values.
Series = tuple[str, dict[str, str], "str | Callable[[int], str]"]


@dataclass(frozen=True)
class MonitoringAlert:
    """One alerting rule, what to do about it, and the series its tests feed."""

    name: str
    expr: str
    summary: str  # Go templates over $labels only, so tests can render them exactly
    description: str
    runbook: str
    kind: str  # "down" (target down), "meta" (other monitoring alerts) or "none"
    fire: tuple[Series, ...] = ()
    calm: tuple[Series, ...] = ()
    fired: tuple[dict[str, str], ...] = field(default_factory=tuple)  # labels of each alert
    category: bool = True

    @property
    def anchor(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()


def _sel(spec: Spec, job: str | None = None, job_regex: list[str] | None = None) -> str:
    parts = []
    if job is not None:
        parts.append(f"job={promql.quote(job)}")
    if job_regex is not None:
        parts.append(f"job=~{promql.quote('|'.join(promql.regex_literal(j) for j in job_regex))}")
    selectors = promql.matchers(sorted(spec.selectors.items()))
    return "{" + ",".join(p for p in (*parts, selectors) if p) + "}"


def _by(spec: Spec, *labels: str) -> str:
    return ", ".join((*labels, *sorted(spec.selectors)))


def exporter_jobs(spec: Spec) -> list[str]:
    return [spec.jobs[e] for e in spec.used_exporters()]


def _vigil_roles(spec: Spec, roles: tuple[str, ...]) -> list[str]:
    """The roles among `roles` the spec reads from Vigil's own exporters."""
    return [e for e in spec.used_exporters() if e in roles and spec.source_of(e) == catalogue.VIGIL]


def scrape_jobs(spec: Spec) -> list[str]:
    """Every job of the generated prometheus.yml: the exporters', Prometheus', Alertmanager's."""
    return [*exporter_jobs(spec), spec.monitoring.jobs["prometheus"],
            spec.monitoring.jobs["alertmanager"]]


def _targets(spec: Spec) -> list[MonitoringAlert]:
    jobs, host = scrape_jobs(spec), exporter_jobs(spec)[0]
    up = f"up{_sel(spec, job_regex=jobs)}"
    timeout = units.format_duration(SCRAPE_TIMEOUT)
    slow = units.format_number(SLOW_SCRAPE_SHARE * SCRAPE_TIMEOUT)
    where = "{{ $labels.instance }} (job {{ $labels.job }})"

    def flapping(n: int) -> str:
        return " ".join("1" if i % 2 == 0 else "0" for i in range(n | 1))

    return [*[
        MonitoringAlert(
            "TargetDown", f"{up} == 0",
            f"Scrape target {where} is down",
            f"Prometheus cannot scrape {where}: the signals it exports have no data and "
            "their alerts cannot fire.",
            "Check that the process runs and listens on that address (Prometheus's "
            "Targets page shows the scrape error); restart it, then watch the alert resolve.",
            "down",
            fire=(("up", {"job": host, "instance": "down:1"}, "0x{n}"),),
            calm=(("up", {"job": host, "instance": "down:1"}, "1x{n}"),),
            fired=({"job": host, "instance": "down:1"},)),
        MonitoringAlert(
            "TargetFlapping", f"changes({up}[{FLAPPING_WINDOW}]) > {FLAPPING_CHANGES}",
            f"Scrape target {where} is flapping",
            f"{where} went down and up again more than {FLAPPING_CHANGES} times in "
            f"{FLAPPING_WINDOW}: its data has gaps and alerts on it may flicker.",
            "Look for restarts (crash loop, out-of-memory kills) or a network path that "
            "drops scrapes.",
            "meta",
            fire=(("up", {"job": host, "instance": "flapping:1"}, flapping),),
            calm=(("up", {"job": host, "instance": "flapping:1"}, "1x{n}"),),
            fired=({"job": host, "instance": "flapping:1"},)),
        MonitoringAlert(
            "ScrapeSlow",
            f"max_over_time(scrape_duration_seconds{_sel(spec, job_regex=jobs)}[5m]) > {slow}",
            f"Scrapes of {where} are close to their {timeout} timeout",
            f"A scrape of {where} took more than {slow}s in the last 5m, "
            f"{units.format_percent(SLOW_SCRAPE_SHARE)} of the {timeout} scrape timeout: "
            "a little slower and the target reads as down.",
            "Exporters serve their last results, so a slow scrape means an overloaded "
            "host or network, or an exporter stuck in rendering: check its CPU and logs.",
            "meta",
            fire=(("scrape_duration_seconds", {"job": host, "instance": "slow:1"}, "9x{n}"),),
            calm=(("scrape_duration_seconds", {"job": host, "instance": "slow:1"}, "0.1x{n}"),),
            fired=({"job": host, "instance": "slow:1"},)),
    ], *_samples_dropped(spec)]


def _samples_dropped(spec: Spec) -> list[MonitoringAlert]:
    """Vigil's exporters' output bound; the standard exporters have none."""
    roles = _vigil_roles(spec, tuple(EXPOSITION_PREFIXES))
    if not roles:
        return []
    exporters = [spec.jobs[e] for e in spec.used_exporters() if spec.source_of(e) == catalogue.VIGIL]
    prefixes = "|".join(sorted(EXPOSITION_PREFIXES.values()))
    job, metric = spec.jobs[roles[0]], f"{EXPOSITION_PREFIXES[roles[0]]}_exposition_samples_dropped_total"
    where = "{{ $labels.instance }} (job {{ $labels.job }})"
    return [
        MonitoringAlert(
            "ExporterSamplesDropped",
            f'increase({{__name__=~"({prefixes})_exposition_samples_dropped_total",'
            f'{_sel(spec, job_regex=exporters)[1:-1]}}}[15m]) > 0',
            f"{where} drops samples at its output bound",
            f"The exporter at {where} left series out of its scrapes in the last 15m "
            "because its response would exceed its size bound: some signals are missing.",
            "A source returns far more series than expected (a query without LIMIT, a "
            "label with unbounded values): find it in the exporter's log and bound it.",
            "meta",
            fire=((metric, {"job": job, "instance": "drops:1"}, "0+5x{n}"),),
            calm=((metric, {"job": job, "instance": "drops:1"}, "0x{n}"),),
            fired=({"job": job, "instance": "drops:1"},)),
    ]


def _collector_parts(spec: Spec) -> list[tuple[str, tuple[Series, ...], tuple[Series, ...],
                                                tuple[dict[str, str], ...]]]:
    """(expr, firing series, healthy series, fired labels) per kind of exporter read.

    A collector that fails only because its database is unreachable is left to
    ExporterDatabaseUnreachable; the firing inputs include one such collector.
    """
    parts = []
    vigil = [spec.jobs[e] for e in _vigil_roles(spec, COLLECTING)]
    source = spec.source_of("postgres")
    pg = spec.jobs["postgres"] if "postgres" in spec.used_exporters() else None
    if vigil:
        first = _vigil_roles(spec, COLLECTING)[0]
        metric = f"{EXPOSITION_PREFIXES[first]}_collector_success"
        labels = {"job": spec.jobs[first], "instance": "collector:1", "collector": "filesystem"}
        expr = f'{{__name__=~"vigil_[a-z]+_collector_success",{_sel(spec, job_regex=vigil)[1:-1]}}} == 0'
        fire: tuple[Series, ...] = ((metric, labels, "0x{n}"),)
        if pg is not None and source == catalogue.VIGIL:
            expr += f" unless on (job, instance) vigil_pg_up{_sel(spec, job=pg)} == 0"
            fire += (("vigil_pg_collector_success", {"job": pg, "instance": "pg:1",
                                                     "collector": "locks"}, "0x{n}"),)
        parts.append((expr, fire, ((metric, labels, "1x{n}"),), (labels,)))
    if "host" in spec.used_exporters() and spec.source_of("host") != catalogue.VIGIL:
        labels = {"job": spec.jobs["host"], "instance": "node:1", "collector": "filesystem"}
        collectors = promql.quote("|".join(NODE_COLLECTORS))
        parts.append((f"node_scrape_collector_success{{collector=~{collectors},"
                      f"{_sel(spec, job=spec.jobs['host'])[1:-1]}}} == 0",
                      (("node_scrape_collector_success", labels, "0x{n}"),),
                      (("node_scrape_collector_success", labels, "1x{n}"),), (labels,)))
    if pg is not None and source != catalogue.VIGIL:
        labels = {"job": pg, "instance": "pgexp:1", "collector": "database"}
        parts.append((f"pg_scrape_collector_success{_sel(spec, job=pg)} == 0"
                      f" unless on (job, instance) pg_up{_sel(spec, job=pg)} == 0",
                      (("pg_scrape_collector_success", labels, "0x{n}"),
                       ("pg_scrape_collector_success", {**labels, "instance": "pg:1"}, "0x{n}")),
                      (("pg_scrape_collector_success", labels, "1x{n}"),), (labels,)))
    return parts


def _exporters(spec: Spec) -> list[MonitoringAlert]:
    used = spec.used_exporters()
    pg, sql = spec.jobs["postgres"], spec.jobs["sql"]
    where = "{{ $labels.instance }} (job {{ $labels.job }})"
    stale = f"vigil_sql_query_last_success_timestamp_seconds{_sel(spec, job=sql)}"
    result = []
    parts = _collector_parts(spec)
    if parts:
        exprs = [p[0] for p in parts]
        result.append(MonitoringAlert(
            "ExporterCollectorFailing",
            exprs[0] if len(exprs) == 1 else " or ".join(f"({e})" for e in exprs),
            "Collector {{ $labels.collector }} fails on " + where,
            "The last run of collector {{ $labels.collector }} on " + where + " failed: "
            "its series are withheld, so the signals built on them have no data.",
            "The exporter's log names the cause (a probe that cannot run, a file it may "
            "not read, a missing privilege); the collector recovers on its own once fixed.",
            "meta",
            fire=tuple(s for p in parts for s in p[1]),
            calm=tuple(s for p in parts for s in p[2]),
            fired=tuple(labels for p in parts for labels in p[3])))
    if "postgres" in used:
        vigil = spec.source_of("postgres") == catalogue.VIGIL
        up = "vigil_pg_up" if vigil else "pg_up"
        result.append(MonitoringAlert(
            "ExporterDatabaseUnreachable", f"{up}{_sel(spec, job=pg)} == 0",
            "The postgres exporter at " + where + " cannot reach its database",
            "The postgres exporter at " + where + " could not connect or got no answer: "
            "every database signal has no data.",
            "Check that PostgreSQL runs and accepts the exporter's role from that host "
            "(pg_hba.conf, password secret); the exporter reconnects "
            + ("with a backoff." if vigil else "at the next scrape."),
            "meta",
            fire=((up, {"job": pg, "instance": "pg:1"}, "0x{n}"),),
            calm=((up, {"job": pg, "instance": "pg:1"}, "1x{n}"),),
            fired=({"job": pg, "instance": "pg:1"},)))
    if "sql" not in used:
        return result
    return [
        *result,
        MonitoringAlert(
            "SqlQueryFailing", f"vigil_sql_query_last_error_info{_sel(spec, job=sql)} == 1",
            "Business query {{ $labels.query }} fails ({{ $labels.reason }})",
            "The last run of query {{ $labels.query }} on " + where + " failed with reason "
            "{{ $labels.reason }}: the metrics it exports are withheld. not_one_statement "
            "and read_only mean the query tried to write.",
            "The sql exporter's log has one line per failure with the server's message; "
            "fix the query or the role's privileges.",
            "meta",
            fire=(("vigil_sql_query_last_error_info", {"job": sql, "instance": "sql:1",
                                                       "query": "orders", "reason": "timeout"},
                   "1x{n}"),),
            fired=({"job": sql, "instance": "sql:1", "query": "orders", "reason": "timeout"},)),
        MonitoringAlert(
            "SqlQueryStale",
            f"time() - {stale} > 2 * vigil_sql_query_interval_seconds{_sel(spec, job=sql)}"
            f" and {stale} > 0",
            "Business query {{ $labels.query }} has not succeeded for two of its intervals",
            "Query {{ $labels.query }} on " + where + " last succeeded more than twice its "
            "interval ago: its metrics are old or missing.",
            "A query that keeps timing out or a stuck exporter task: see the exporter's "
            "log and the query's duration.",
            "meta",
            fire=(("vigil_sql_query_last_success_timestamp_seconds",
                   {"job": sql, "instance": "sql:1", "query": "revenue"}, "60x{n}"),
                  ("vigil_sql_query_interval_seconds",
                   {"job": sql, "instance": "sql:1", "query": "revenue"}, "60x{n}")),
            calm=(("vigil_sql_query_last_success_timestamp_seconds",
                   {"job": sql, "instance": "sql:1", "query": "revenue"}, "0+60x{n}"),
                  ("vigil_sql_query_interval_seconds",
                   {"job": sql, "instance": "sql:1", "query": "revenue"}, "60x{n}")),
            fired=({"job": sql, "instance": "sql:1", "query": "revenue"},)),
    ]


def _counter_alert(name: str, metric: str, sel: str, window: str, summary: str,
                   description: str, runbook: str, labels: dict[str, str]) -> MonitoringAlert:
    """A counter of failures that must not grow."""
    return MonitoringAlert(
        name, f"increase({metric}{sel}[{window}]) > 0", summary, description, runbook, "meta",
        fire=((metric, labels, "0+1x{n}"),), calm=((metric, labels, "0x{n}"),),
        fired=(labels,))


def _reload_failed(component: str, check: str, sel: str, me: dict[str, str],
                   where: str) -> MonitoringAlert:
    """Prometheus's and Alertmanager's reload alerts: the same metric name, their own tool."""
    metric = f"{component}_config_last_reload_successful"
    return MonitoringAlert(
        f"{component.capitalize()}ConfigReloadFailed",
        f"max_over_time({metric}{sel}[5m]) == 0",
        f"{where} failed to reload its configuration",
        f"{where} runs on an older configuration: its last reload failed.",
        f"Run `{check}` on the file; `vigil check` catches this before "
        "deploying generated files.",
        "meta",
        fire=((metric, me, "0x{n}"),),
        calm=((metric, me, "1x{n}"),),
        fired=(me,))


def _prometheus(spec: Spec) -> list[MonitoringAlert]:
    job = spec.monitoring.jobs["prometheus"]
    sel = _sel(spec, job=job)
    me = {"job": job, "instance": spec.monitoring.targets["prometheus"][0]}
    group = {**me, "rule_group": "example.rules;example"}
    am = {**me, "alertmanager": "http://alertmanager:9093/api/v2/alerts"}
    where = "Prometheus {{ $labels.instance }}"
    limits = ("prometheus_target_scrapes_exceeded_sample_limit_total",
              "prometheus_target_scrapes_exceeded_body_size_limit_total")
    rejected = ("prometheus_target_scrapes_sample_out_of_order_total",
                "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                "prometheus_target_scrapes_sample_out_of_bounds_total")

    def summed(metrics: tuple[str, ...]) -> str:
        return " + ".join(f"sum by ({_by(spec, 'job', 'instance')}) (increase({m}{sel}[5m]))"
                          for m in metrics)

    return [
        _counter_alert(
            "PrometheusRuleFailures", "prometheus_rule_evaluation_failures_total", sel, "5m",
            "Rules of {{ $labels.rule_group }} fail to evaluate",
            f"{where} failed to evaluate rules of group {{{{ $labels.rule_group }}}} in the "
            "last 5m: those alerts cannot fire and those series are not recorded.",
            "Prometheus's Rules page shows each rule's last error (e.g. many-to-many "
            "matching in a custom signal's expression): fix the expression in the spec.",
            group),
        _counter_alert(
            "PrometheusMissedRuleEvaluations", "prometheus_rule_group_iterations_missed_total",
            sel, "5m", "Rule group {{ $labels.rule_group }} misses evaluations",
            f"{where} skipped evaluations of {{{{ $labels.rule_group }}}} in the last 5m "
            "because the previous one was still running: alerts fire late.",
            "Prometheus is short of CPU or a rule is too expensive: see the group's "
            "evaluation time on the Rules page.",
            group),
        MonitoringAlert(
            "PrometheusRuleGroupSlow",
            f"prometheus_rule_group_last_duration_seconds{sel}"
            f" > prometheus_rule_group_interval_seconds{sel}",
            "Rule group {{ $labels.rule_group }} takes longer than its interval",
            f"The last evaluation of {{{{ $labels.rule_group }}}} on {where} took longer "
            "than the group's interval: evaluations will be missed.",
            "Find the slow rule on the Rules page; give Prometheus more CPU or make the "
            "expression cheaper.",
            "meta",
            fire=(("prometheus_rule_group_last_duration_seconds", group, "40x{n}"),
                  ("prometheus_rule_group_interval_seconds", group, "30x{n}")),
            calm=(("prometheus_rule_group_last_duration_seconds", group, "1x{n}"),
                  ("prometheus_rule_group_interval_seconds", group, "30x{n}")),
            fired=(group,)),
        _reload_failed("prometheus", "promtool check config", sel, me, where),
        MonitoringAlert(
            "PrometheusNotificationQueueFilling",
            f"predict_linear(prometheus_notifications_queue_length{sel}[5m], 1800)"
            f" > min_over_time(prometheus_notifications_queue_capacity{sel}[5m])",
            f"{where}'s alert notification queue will be full within 30m",
            f"Alerts queue up in {where} faster than Alertmanager takes them; when the "
            "queue is full, alerts are dropped.",
            "Check that Alertmanager is up and reachable from Prometheus and not slow to "
            "answer.",
            "meta",
            fire=(("prometheus_notifications_queue_length", me, "0+10x{n}"),
                  ("prometheus_notifications_queue_capacity", me, "100x{n}")),
            calm=(("prometheus_notifications_queue_length", me, "0x{n}"),
                  ("prometheus_notifications_queue_capacity", me, "100x{n}")),
            fired=(me,)),
        MonitoringAlert(
            "PrometheusErrorSendingAlerts",
            f"rate(prometheus_notifications_errors_total{sel}[5m])"
            f" / rate(prometheus_notifications_sent_total{sel}[5m]) > 0.01",
            f"{where} fails to send alerts to {{{{ $labels.alertmanager }}}}",
            f"More than 1% of the alerts {where} sent to {{{{ $labels.alertmanager }}}} in "
            "the last 5m failed.",
            "Check that Alertmanager runs and is reachable at that address.",
            "meta",
            fire=(("prometheus_notifications_errors_total", am, "0+1x{n}"),
                  ("prometheus_notifications_sent_total", am, "0+10x{n}")),
            calm=(("prometheus_notifications_errors_total", am, "0x{n}"),
                  ("prometheus_notifications_sent_total", am, "0+10x{n}")),
            fired=(am,)),
        MonitoringAlert(
            "PrometheusAlertmanagerDiscoveryLost",
            f"max_over_time(prometheus_notifications_alertmanagers_discovered{sel}[5m]) < 1",
            f"{where} knows no Alertmanager",
            f"{where} has no Alertmanager to send alerts to: no alert reaches anyone.",
            "Check the `alerting` section of prometheus.yml (the spec's `alertmanager` "
            "addresses) and that the names resolve.",
            "meta",
            fire=(("prometheus_notifications_alertmanagers_discovered", me, "0x{n}"),),
            calm=(("prometheus_notifications_alertmanagers_discovered", me, "1x{n}"),),
            fired=(me,)),
        _counter_alert(
            "PrometheusTsdbCompactionsFailing", "prometheus_tsdb_compactions_failed_total", sel,
            "3h", f"{where} fails to compact its storage",
            f"{where} failed to compact blocks in the last 3h: disk use grows and queries "
            "slow down.",
            "Prometheus's log says why (often a full disk or a corrupt block).", me),
        _counter_alert(
            "PrometheusWalCorruption", "prometheus_tsdb_wal_corruptions_total", sel, "3h",
            f"{where} found its write-ahead log corrupt",
            f"{where} found corruption in its write-ahead log in the last 3h: recent samples "
            "may be lost.",
            "Check the disk for errors; Prometheus repairs the log by dropping what follows "
            "the corruption.", me),
        MonitoringAlert(
            "PrometheusScrapeLimitHit", f"{summed(limits)} > 0",
            f"{where} discards scrapes at a limit",
            f"{where} discarded whole scrapes in the last 5m because a target exceeded its "
            "sample_limit or body_size_limit.",
            "Find the target on the Targets page (its error names the limit) and bound "
            "what it exports, or raise the limit.",
            "meta",
            fire=((limits[0], me, "0+1x{n}"), (limits[1], me, "0x{n}")),
            calm=((limits[0], me, "0x{n}"), (limits[1], me, "0x{n}")),
            fired=(me,)),
        MonitoringAlert(
            "PrometheusSamplesRejected", f"{summed(rejected)} > 0",
            f"{where} rejects scraped samples",
            f"{where} dropped samples with out-of-order, duplicate or out-of-bounds "
            "timestamps in the last 5m.",
            "Two targets exporting the same series, or an exporter writing timestamps: "
            "find them with the prometheus_target_scrapes_sample_* counters.",
            "meta",
            fire=((rejected[0], me, "0x{n}"), (rejected[1], me, "0+1x{n}"),
                  (rejected[2], me, "0x{n}")),
            calm=tuple((m, me, "0x{n}") for m in rejected),
            fired=(me,)),
    ]


def _alertmanager(spec: Spec) -> list[MonitoringAlert]:
    job = spec.monitoring.jobs["alertmanager"]
    sel = _sel(spec, job=job)
    me = {"job": job, "instance": "alertmanager-1:9093"}
    peer = {"job": job, "instance": "alertmanager-2:9093"}
    hook = {**me, "integration": "webhook"}
    where = "Alertmanager {{ $labels.instance }}"
    deployment = _by(spec)
    return [
        MonitoringAlert(
            "AlertmanagerNotificationsFailing",
            f"rate(alertmanager_notifications_failed_total{sel}[5m]) / ignoring (reason)"
            f" group_left rate(alertmanager_notifications_total{sel}[5m]) > 0.01",
            f"{where} fails to deliver {{{{ $labels.integration }}}} notifications",
            f"More than 1% of the {{{{ $labels.integration }}}} notifications {where} sent "
            "in the last 5m failed: someone is not being told.",
            "Alertmanager's log names the receiver and the error (a revoked key, an "
            "unreachable gateway); fix the receiver's secret or address.",
            "meta",
            fire=(("alertmanager_notifications_failed_total", hook, "0+1x{n}"),
                  ("alertmanager_notifications_total", hook, "0+2x{n}")),
            calm=(("alertmanager_notifications_failed_total", hook, "0x{n}"),
                  ("alertmanager_notifications_total", hook, "0+2x{n}")),
            fired=(hook,)),
        _reload_failed("alertmanager", "amtool check-config", sel, me, where),
        MonitoringAlert(
            "AlertmanagerClusterPeersLost",
            f"max_over_time(alertmanager_cluster_members{sel}[5m]) < on ({deployment})"
            f" group_left count by ({deployment}) (max_over_time(alertmanager_cluster_members"
            f"{sel}[5m]))",
            f"{where} has lost cluster peers",
            f"{where} sees fewer cluster members than there are Alertmanagers: a "
            "partitioned cluster may send notifications twice or not at all.",
            "Check the cluster port (9094) between the Alertmanagers and each one's "
            "--cluster.peer flags.",
            "meta",
            fire=(("alertmanager_cluster_members", me, "1x{n}"),
                  ("alertmanager_cluster_members", peer, "2x{n}")),
            calm=(("alertmanager_cluster_members", me, "2x{n}"),
                  ("alertmanager_cluster_members", peer, "2x{n}")),
            fired=(me,)),
    ]


def _watchdog(spec: Spec) -> list[MonitoringAlert]:
    return [MonitoringAlert(
        WATCHDOG, "vector(1)", "Watchdog: the alerting pipeline is alive",
        "This alert always fires. It is delivered to the heartbeat service every "
        f"{units.format_duration(spec.monitoring.heartbeat.repeat_interval)}; if it stops, "
        "the outside service pages: Prometheus, its rules, Alertmanager or the network "
        "between them is down.",
        "If the heartbeat service paged: check that Prometheus and Alertmanager run, that "
        "Prometheus evaluates its rules, and that Alertmanager reaches the heartbeat URL.",
        NO_SEVERITY, fired=({},))]


def info_inhibitor_severities(spec: Spec) -> tuple[str, list[str]] | None:
    """(the info severity, the more severe ones) or None when there is no InfoInhibitor."""
    info = spec.monitoring.info_severity
    if info is None:
        return None
    rank = spec.severities[info].rank
    return info, [s.name for s in spec.severities.values() if s.rank < rank]


def _info_inhibitor(spec: Spec) -> list[MonitoringAlert]:
    found = info_inhibitor_severities(spec)
    if found is None:
        return []
    info, stronger = found
    deployment = _by(spec)
    selectors = promql.matchers(sorted(spec.selectors.items()))
    extra = f",{selectors}" if selectors else ""
    stronger_re = promql.quote("|".join(promql.regex_literal(s) for s in stronger))
    return [MonitoringAlert(
        INFO_INHIBITOR,
        f"count by ({deployment}) (ALERTS{{severity={promql.quote(info)}{extra}}})"
        f" unless on ({deployment}) count by ({deployment}) (ALERTS{{alertstate=\"firing\","
        f"severity=~{stronger_re}{extra}}})",
        "Alerts of the least severe kind are held back",
        "Alerts of the spec's monitoring.info_inhibitor severity fire and nothing more "
        "severe does: Alertmanager holds them back (they stay on the dashboards) until a "
        "more severe alert gives them context.",
        "Nothing to do: this alert only inhibits, and is routed to no one.",
        NO_SEVERITY, fired=({},), category=False)]


def alerts(spec: Spec) -> list[MonitoringAlert]:
    return (_watchdog(spec) + _targets(spec) + _exporters(spec) + _prometheus(spec)
            + _alertmanager(spec) + _info_inhibitor(spec))


def alert_labels(spec: Spec, alert: MonitoringAlert) -> dict[str, str]:
    """The labels the rule sets (the series add theirs)."""
    monitoring = spec.monitoring
    if alert.kind == NO_SEVERITY:
        labels = {"severity": NO_SEVERITY, "priority": NO_SEVERITY}
    else:
        severity = spec.severities[monitoring.target_down_severity if alert.kind == "down"
                                   else monitoring.severity]
        labels = {"severity": severity.name, "priority": severity.priority}
    labels["team"] = monitoring.team
    if alert.category:
        labels["category"] = CATEGORY
    if alert.name == WATCHDOG:  # vector(1) has no labels: give it the deployment's
        labels.update(sorted(spec.selectors.items()))
    return labels


def alert_for(spec: Spec, alert: MonitoringAlert) -> float:
    if alert.kind == NO_SEVERITY:
        return 0.0
    return spec.monitoring.target_down_for if alert.kind == "down" else spec.monitoring.for_


def annotations(spec: Spec, alert: MonitoringAlert,
                text: Callable[[str], str] = templating.literal) -> dict[str, str]:
    return {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": text(links.runbook_url(spec, alert.anchor)),
        "dashboard_url": text(links.dashboard_url(spec, "overview")),
    }


def rule(spec: Spec, alert: MonitoringAlert) -> dict[str, Any]:
    body: dict[str, Any] = {"alert": alert.name, "expr": alert.expr}
    wait = alert_for(spec, alert)
    if wait:
        body["for"] = units.format_duration(wait)
    body["labels"] = {k: templating.literal(v) for k, v in alert_labels(spec, alert).items()}
    body["annotations"] = annotations(spec, alert)
    return body


def groups(spec: Spec) -> list[dict[str, Any]]:
    return [{"name": f"{spec.name}.monitoring", "rules": [rule(spec, a) for a in alerts(spec)]}]


def runbooks(spec: Spec) -> list[str]:
    """Sections of alert_rules/runbooks.md, one per monitoring alert."""
    return [f"## {a.anchor.replace('_', '-')}\n\n**{a.name}** (monitoring the monitoring). "
            f"{a.runbook}\n" for a in alerts(spec)]
