"""`exporters:`: whose metrics each role's signals read, and only what a spec reads generated.

Every case starts from slo/examples/standard-exporters.yaml (node_exporter,
postgres_exporter and blackbox_exporter) and changes one thing. Refusals name the
signal or key, the exporter and the spec line; what is generated follows the choice.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import blackbox, dashboards, prometheus_config, rules
from generator.commands import render
from generator.loader import SpecError, load_spec
from generator.output import write_atomically
from generator.rules import monitoring

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "slo/examples/standard-exporters.yaml"
BASE = yaml.safe_load(EXAMPLE.read_text())


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _spec(tmp_path: Path, **changes: Any) -> Any:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return load_spec(_write(tmp_path, data))


def _problems(tmp_path: Path, **changes: Any) -> str:
    with pytest.raises(SpecError) as err:
        _spec(tmp_path, **changes)
    return err.value.render()


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_signal_the_standard_exporter_cannot_provide_is_refused_by_name(tmp_path):
    data = copy.deepcopy(BASE)
    data["signals"]["wal_backup_age"] = {"warning": "30m"}
    data["signals"]["replication_lag"] = {"warning": "30s"}
    path = _write(tmp_path, data)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    lines = err.value.render().splitlines()
    assert lines[0].startswith(
        f"{path}:{_line(path, 'wal_backup_age:')}: signals.wal_backup_age: node_exporter "
        "(exporters.host) has no metric for signal wal_backup_age: node_exporter's textfile "
        "collector")
    assert lines[1].startswith(
        f"{path}:{_line(path, 'replication_lag:')}: signals.replication_lag: postgres_exporter "
        "(exporters.postgres) has no metric for signal replication_lag")
    assert "`exporters.postgres: vigil`" in lines[1]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"exporters": {**BASE["exporters"], "host": "node"}},
     "exporters.host: expected one of vigil, node_exporter, got 'node'"),
    ({"exporters": {**BASE["exporters"], "sql": "sql_exporter"}},
     "exporters.sql: unknown key; expected one of: host, http, postgres"),
    ({"probes": None}, "exporters.http: blackbox_exporter needs the URLs it probes: set "
                       "`probes.urls`"),
    ({"exporters": {"host": "node_exporter", "postgres": "postgres_exporter"}},
     "probes: only read with `exporters.http: blackbox_exporter`"),
    ({"probes": {"urls": ["https://a.example/"], "ca_file": "/etc/ca.pem"}},
     "probes.ca_file: http_2xx is a stock module of blackbox_exporter"),
    ({"probes": {"urls": ["http://a.example/"]}},
     "probes.urls[0]: http://a.example/ serves no certificate, so served_certificate_expiry "
     "would report its data absent"),
    ({"probes": {"urls": ["ftp://a.example/"]}}, "probes.urls[0]: expected an http(s) URL"),
    ({"targets": {"http": ["bb-1:9115", "bb-2:9115"]}},
     "targets.http: expected one blackbox_exporter address"),
])
def test_invalid_choices_are_reported_with_their_path(tmp_path, changes, expected):
    assert expected in _problems(tmp_path, **changes)


def test_a_custom_signal_on_vigil_metrics_of_a_standard_role_is_refused(tmp_path):
    data = copy.deepcopy(BASE)
    data["signals"]["load"] = {"expr": "max(vigil_host_load1{$sel})", "unit": "count",
                               "exporter": "host", "warning": 8}
    path = _write(tmp_path, data)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert (f"{path}:{_line(path, 'expr: max(vigil_host_load1')}: signals.load.expr: reads "
            "vigil_host_load1, a metric of Vigil's host exporter, but `exporters.host` is "
            "node_exporter") in err.value.render()


def test_rules_dashboards_and_runbooks_read_the_chosen_exporters(tmp_path):
    spec = _spec(tmp_path)
    text = rules.outputs(spec)
    rule_file = text[rules.RULES_FILE]
    assert 'rate(node_cpu_seconds_total{mode="idle",job="node",environment="production"}' \
        in rule_file
    assert "pg_stat_activity_max_tx_duration" in rule_file
    assert "probe_ssl_earliest_cert_expiry" in rule_file
    assert "vigil_host_" not in rule_file and "vigil_pg_" not in rule_file
    # Absent-data rules read the standard metric names out of the same expressions,
    # per target: blackbox's targets are the probed URLs.
    assert ('unless on (instance) (node_memory_MemAvailable_bytes{job="node",'
            'environment="production"})') in rule_file
    assert ('unless on (instance) (probe_ssl_earliest_cert_expiry{job="blackbox",'
            'environment="production"})') in rule_file
    runbooks = text["alert_rules/runbooks.md"]
    assert "longest running active transaction" in runbooks
    database = dashboards.dashboards(spec)["database"]
    exprs = [t["expr"] for p in database["panels"] for t in p.get("targets", [])]
    assert any("pg_up{" in e for e in exprs) and not any("vigil_pg_" in e for e in exprs)
    assert "Sessions waiting for locks" not in {p.get("title") for p in database["panels"]}


def test_blackbox_probes_follow_the_multi_target_pattern(tmp_path):
    spec = _spec(tmp_path)
    job = next(j for j in prometheus_config.config(spec)["scrape_configs"]
               if j["job_name"] == "blackbox")
    assert job["metrics_path"] == "/probe"
    assert job["params"] == {"module": ["http_2xx"]}
    assert job["static_configs"][0]["targets"] == list(BASE["probes"]["urls"])
    assert job["relabel_configs"] == [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"source_labels": ["__param_target"], "target_label": "target"},
        {"target_label": "__address__", "replacement": "blackbox-exporter:9115"},
    ]
    assert blackbox.outputs(spec) == {}  # the stock module: nothing to write


def test_a_module_of_its_own_is_written_with_its_ca(tmp_path):
    spec = _spec(tmp_path, probes={"urls": ["https://a.example/"], "module": "internal_2xx",
                                   "ca_file": "/etc/vigil/ca.pem"})
    written = yaml.safe_load(blackbox.outputs(spec)[blackbox.CONFIG_FILE])
    assert written == {"modules": {"internal_2xx": {
        "prober": "http", "timeout": "9s",
        "http": {"preferred_ip_protocol": "ip4", "valid_status_codes": [],
                 "tls_config": {"ca_file": "/etc/vigil/ca.pem"}}}}}


def test_a_probes_only_spec_gets_only_what_it_uses(tmp_path):
    data = copy.deepcopy(BASE)
    data["signals"] = {k: v for k, v in data["signals"].items()
                       if k in ("served_certificate_expiry", "endpoint_down")}
    data.pop("jobs")
    spec = load_spec(_write(tmp_path, data))
    jobs = [j["job_name"] for j in prometheus_config.config(spec)["scrape_configs"]]
    assert jobs == ["blackbox", "vigil-incidents", "prometheus", "alertmanager"]
    assert set(dashboards.dashboards(spec)) == {"overview", "application"}
    names = {a.name for a in monitoring.alerts(spec)}
    assert not names & {"ExporterCollectorFailing", "ExporterDatabaseUnreachable",
                        "ExporterSamplesDropped", "SqlQueryFailing", "SqlQueryStale"}
    target_down = next(a for a in monitoring.alerts(spec) if a.name == "TargetDown")
    assert 'job=~"blackbox|vigil-incidents|prometheus|alertmanager"' in target_down.expr
    links = {link["title"] for link in dashboards.dashboards(spec)["overview"]["links"]}
    assert links == {"Application"}


def test_the_standard_exporters_health_alerts(tmp_path):
    alerts = {a.name: a for a in monitoring.alerts(_spec(tmp_path))}
    collector = alerts["ExporterCollectorFailing"].expr
    assert 'node_scrape_collector_success{collector=~"cpu|diskstats|filesystem|loadavg|' \
           'meminfo|netdev",job="node"' in collector
    assert 'pg_scrape_collector_success{job="postgres",environment="production"} == 0 unless ' \
           'on (job, instance) pg_up{job="postgres"' in collector
    assert "vigil_" not in collector
    assert alerts["ExporterDatabaseUnreachable"].expr == \
        'pg_up{job="postgres",environment="production"} == 0'


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_the_generated_monitoring_tests_pass_for_the_standard_exporters(tmp_path):
    """Their health alerts fire on their own inputs, and a failing postgres_exporter
    collector of an unreachable database is left to ExporterDatabaseUnreachable."""
    out = tmp_path / "out"
    write_atomically(out, render(load_spec(EXAMPLE)))
    tests = yaml.safe_load((out / "alert_rules/tests/monitoring.test.yml").read_text())
    fired = {check["alertname"]: check["exp_alerts"] for check in
             tests["tests"][0]["alert_rule_test"]}
    assert {a["exp_labels"]["instance"] for a in fired["ExporterCollectorFailing"]} == {
        "node:1", "pgexp:1"}
    result = subprocess.run(["promtool", "test", "rules", "alert_rules/tests/monitoring.test.yml"],
                            cwd=out, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
