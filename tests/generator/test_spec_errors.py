"""Invalid specs: each case asserts the exact message an engineer would read.

Table-driven, like promtool's good/bad fixtures: every case starts from the default
spec and breaks one thing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator.loader import SpecError, load_spec


def _set(path: str, value):
    def change(data):
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return change


def _delete(path: str):
    def change(data):
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        del node[last]
    return change


CASES = [
    ("unknown top-level key", _set("thresholds", {}),
     "thresholds: unknown key; expected one of: $schema, alertmanager, capacity, currency, defaults, "
     "duplicate_suppression, email, exporters, extends, grafana_url, jobs, kubernetes, "
     "maintenance, monitoring, name, probes, receivers, "
     "reliability, reports, runbook_url, selectors, severities, signals, slos, targets, teams, version"),
    ("wrong unit", _set("signals.cpu_usage.warning", "100ms"),
     "signals.cpu_usage.warning: expected a ratio threshold such as \"80%\", got '100ms'"),
    ("number without unit", _set("signals.cpu_usage.warning", 80),
     "signals.cpu_usage.warning: expected a ratio threshold such as \"80%\", got 80"),
    ("unknown key in a signal", _set("signals.cpu_usage.warnign", "80%"),
     "signals.cpu_usage.warnign: unknown key; expected a severity (critical, high, warning, info) "
     "or one of: absent_for, baseline_weeks, by, currency, dashboard, description, direction, "
     "enabled, "
     "exporter, expr, for, optional, recipients, runbook, team, title, unit"),
    ("warning stricter than critical", _set("signals.wal_backup_age.warning", "2h"),
     "signals.wal_backup_age.warning: 2h would fire after the critical threshold 1h; expected "
     "warning to be less strict than critical"),
    ("below signal, contradictory", _set("signals.tls_certificate_expiry.warning", "3d"),
     "signals.tls_certificate_expiry.warning: 3d would fire after the critical threshold 7d; "
     "expected warning to be less strict than critical"),
    ("counted events compared as rates",
     _set("signals.failed_logins", {"warning": "20/m", "critical": "100/h"}),
     "signals.failed_logins.warning: 20/m would fire after the critical threshold 100/h; expected "
     "warning to be less strict than critical"),
    ("objective of 100%", _set("slos.availability.objective", "100%"),
     "slos.availability.objective: expected a percentage above 0% and below 100%"),
    ("objective above 100%", _set("slos.latency.objective", "120%"),
     "slos.latency.objective: expected a percentage above 0% and below 100%"),
    ("unknown receiver", _set("severities.critical.recipients", ["on_call_engineer", "nobody"]),
     "severities.critical.recipients[1]: unknown receiver 'nobody'; expected one of: cto, "
     "cto_and_experts, customer_service, development_team, finance_team, it_admin, management, "
     "marketing_team, on_call_engineer, operations_team, product_manager, security_team, "
     "senior_developer, team_lead, technical_support"),
    ("unknown signal", _set("signals.cpu_usag", {"warning": "80%"}),
     "signals.cpu_usag: unknown signal; expected a catalogue signal (cpu_usage, memory_usage, "
     "disk_usage, network_latency, network_unreachable, full_backup_age, incremental_backup_age, "
     "wal_backup_age, "
     "tls_certificate_expiry, response_time, error_rate, throughput, served_certificate_expiry, "
     "endpoint_down, active_users, query_time, "
     "connection_pool_usage, deadlocks, replication_lag, daily_revenue, conversion_rate, "
     "order_processing_time, customer_satisfaction, failed_logins, suspicious_activity) or a "
     "custom signal with `expr` and `unit`"),
    ("custom signal without unit", _set("signals.queue_depth", {"expr": "sum(q{$sel})", "warning": 5}),
     "signals.queue_depth.unit: a custom signal needs a unit"),
    ("custom signal with broken PromQL",
     _set("signals.queue_depth", {"expr": "sum(q{$sel)", "unit": "count", "warning": 5}),
     "signals.queue_depth.expr: expected a PromQL expression: unexpected character inside braces: ')'"),
    ("SLI with broken PromQL", _set("slos.availability.sli.total", "sum(rate(x[$window])"),
     "slos.availability.sli.total: expected a PromQL expression: unclosed left parenthesis"),
    ("secret written in", _set("receivers.finance_team", {"pagerduty": {"routing_key": "abc123"}}),
     "receivers.finance_team.pagerduty.routing_key: expected a mapping, got 'abc123'"),
    ("bad time zone", _set("maintenance.timezone", "UTC+7"),
     'maintenance.timezone: expected an IANA time zone such as "Asia/Bangkok", got \'UTC+7\''),
    ("window crossing midnight", _set("maintenance.windows.daily.end", "01:00"),
     "maintenance.windows.daily.end: expected a time after start (02:00); split a window that "
     "crosses midnight in two"),
    ("bad weekday", _set("maintenance.windows.weekly.days", "sundays"),
     "maintenance.windows.weekly.days: expected \"every day\", \"sunday\" or \"first sunday\", "
     "got 'sundays'"),
    ("unknown burn severity", _set("slos.availability.windows",
                                   [{"long": "1h", "short": "5m", "budget": "2%", "severity": "page"}]),
     "slos.availability.windows[0].severity: unknown severity 'page'; expected one of: critical, "
     "high, warning, info"),
    ("SLI without window placeholder", _set("slos.availability.sli.total", "sum(rate(x[5m]))"),
     "slos.availability.sli.total: expected a `$window` placeholder in the range, e.g. "
     "rate(http_requests_total[$window])"),
    ("missing required key", _delete("severities.info.priority"),
     "severities.info.priority: required key is missing"),
    ("bad priority", _set("severities.info.priority", "P5"),
     "severities.info.priority: expected one of P0, P1, P2, P3, got 'P5'"),
    ("bad duration", _set("duplicate_suppression", "5 minutes"),
     "duplicate_suppression: expected a duration such as \"30s\", \"5m\" or \"1h\", got '5 minutes'"),
    ("escalation out of order", _set("severities.warning.escalation",
                                     [{"after": "2h", "notify": ["technical_support"]},
                                      {"after": "1h", "notify": ["senior_developer"]}]),
     "severities.warning.escalation[1].after: expected a later time than the previous escalation level"),
    # monitoring
    ("unknown severity", _set("monitoring.severity", "urgent"),
     "monitoring.severity: unknown severity 'urgent'; expected one of: critical, high, warning, info"),
    ("unknown target-down severity", _set("monitoring.target_down.severity", "page"),
     "monitoring.target_down.severity: unknown severity 'page'; expected one of: critical, high, "
     "warning, info"),
    ("info inhibitor on the most severe", _set("monitoring.info_inhibitor", "critical"),
     "monitoring.info_inhibitor: 'critical' is the most severe severity: nothing could ever let "
     "its alerts through"),
    ("self job named like an exporter's", _set("monitoring.prometheus.job", "vigil-host"),
     "monitoring.prometheus.job: job 'vigil-host' is also an exporter's; Prometheus needs a "
     "distinct name per scrape job"),
    ("heartbeat not a URL", _set("monitoring.heartbeat.url", "hc-ping.com/x"),
     "monitoring.heartbeat.url: expected an http(s) URL, got 'hc-ping.com/x'"),
    ("heartbeat repeat beyond a day", _set("monitoring.heartbeat.repeat_interval", "2d"),
     "monitoring.heartbeat.repeat_interval: expected a duration of at most 1d"),
    ("typo", _set("monitoring.hearbeat", {}),
     "monitoring.hearbeat: unknown key; expected one of: alertmanager, for, heartbeat, "
     "info_inhibitor, prometheus, severity, target_down, team"),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_spec_message(write_spec, change, message):
    path = write_spec(change)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: {re.escape(message)}", err.value.render()), \
        err.value.render()


def test_all_errors_are_reported_in_one_run(write_spec):
    def change(data):
        data["signals"]["cpu_usage"]["warning"] = "100ms"
        data["signals"]["memory_usage"]["warning"] = "lots"
        data["slos"]["availability"]["objective"] = "100%"
    path = write_spec(change)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert [p.path for p in err.value.problems] == [
        "slos.availability.objective", "signals.cpu_usage.warning", "signals.memory_usage.warning"]


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nsignals: [\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert err.value.render().startswith(f"{path}: line 3, column 1: not valid YAML")


def test_cli_exits_non_zero_and_leaves_outputs_untouched(write_spec, tmp_path):
    good = write_spec(name="good.yaml")
    out = tmp_path / "out"
    vigil = [sys.executable, "-m", "generator.cli"]
    root = Path(__file__).resolve().parents[2]
    subprocess.run([*vigil, "generate", "--skip-tool-checks", "--spec", str(good), "--out", str(out)],
                   check=True, cwd=root, capture_output=True)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = write_spec(_set("signals.cpu_usage.warning", "100ms"), name="bad.yaml")
    result = subprocess.run([*vigil, "generate", "--spec", str(bad), "--out", str(out)],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+: signals\.cpu_usage\.warning: expected a ratio "
                     r"threshold such as \"80%\", got '100ms'", result.stderr), result.stderr
    assert "nothing was written" in result.stderr
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_errors_point_at_the_line_of_the_key(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        "version: 1\n"
        "severities:\n"
        "  warning:\n"
        "    priority: P2\n"
        "    channels: [slack]\n"
        "    recipients: [team]\n"
        "receivers:\n"
        "  team:\n"
        "    slack: {webhook_url: {env: SLACK_URL}}\n"
        "signals:\n"
        "  memory_usage:\n"
        "    warning: 85%\n"
        "  cpu_usage:\n"
        "    for: 5m\n"
        "    warning: 80 percent\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert err.value.render() == (
        f"{path}:15: signals.cpu_usage.warning: expected a ratio threshold such as \"80%\", "
        "got '80 percent'")
