"""Absent-data alerts: which metrics a signal needs, the spec keys, and the rules under promtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import promql
from generator.commands import render
from generator.loader import SpecError, load_spec
from generator.output import write_atomically
from generator.rules import absent

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool not installed")


def _texts(expr: str, ignored: tuple[str, ...] = ("job", "environment")) -> list[list[str]]:
    return [[w.text() for w in clause] for clause in promql.presence_clauses(expr, ignored)]


@pytest.mark.parametrize(("expr", "clauses"), [
    ("a / b", [["a"], ["b"]]),
    ("a or b", [["a", "b"]]),
    ("(a / (b > 0)) or c", [["a", "c"], ["b", "c"]]),
    ("a unless b", [["a"]]),
    ("a and b", [["a"], ["b"]]),
    ("x or vector(0)", []),
    ("time() - max(x)", [["x"]]),
    ("absent(x)", []),
    ("vector(1)", []),
    ("sum by (i) (rate(x_total[5m])) / sum by (i) (rate(x_total[5m]))", [["x_total"]]),
    ('rate(x_total{status_class="5xx"}[5m])', [["x_total"]]),
    ('x{kind="full",mode=~"a|b",route!="/"}', [['x{kind="full"}']]),
    ('x{job="j",environment="p",kind="wal"}', [['x{kind="wal"}']]),
    ('{__name__="x",kind="a"}', [['x{kind="a"}']]),
    ('label_replace(x, "a", "$1", "b", "(.*)") * on (i) group_left y', [["x"], ["y"]]),
    ("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))", [["h_bucket"]]),
    ("max_over_time(g[1h:1m])", [["g"]]),
])
def test_presence_clauses_follow_the_expression(expr, clauses):
    assert _texts(expr) == clauses


def test_every_catalogue_signal_of_the_default_spec_is_watched():
    spec = load_spec(Path("slo/spec.yaml"))
    watched = {w.owner[1] for w in absent.watches(spec) if w.owner[0] == "signal"}
    assert watched == {s.name for s in spec.signals.values() if s.thresholds}
    lag = [w for w in absent.watches(spec) if w.owner == ("signal", "replication_lag")]
    assert [w.metric for w in lag] == [
        'vigil_pg_replication_lag_seconds or vigil_pg_replica_lag_seconds{kind="replay"}']


def _custom(write_spec, **keys) -> Path:
    """The default spec plus a custom signal reading no metric (a key set to None is left out)."""
    def change(data):
        signal = {"expr": "vector(1)", "unit": "ratio", "warning": "50%", **keys}
        data["signals"]["constant"] = {k: v for k, v in signal.items() if v is not None}
    return write_spec(change)


def test_a_threshold_on_an_expression_without_a_metric_is_refused_with_its_line(write_spec):
    path = _custom(write_spec)
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if "vector(1)" in text)
    assert raised.value.render() == (
        f"{path}:{line}: signals.constant.expr: reads no metric by name, so no absent-data "
        "alert can watch it; select a metric by name (e.g. `my_metric{$sel}`) or set "
        "`optional: true`")


@pytest.mark.parametrize("signal", [{"optional": True}, {"enabled": False}, {"warning": None}])
def test_an_optional_disabled_or_thresholdless_expression_without_a_metric_is_accepted(
        write_spec, signal):
    spec = load_spec(_custom(write_spec, **signal))
    assert "constant" in spec.signals
    assert not [w for w in absent.watches(spec) if w.owner == ("signal", "constant")]


def test_absent_for_defaults_and_overrides_and_optional_signals_get_no_rule(write_spec):
    def change(data):
        data["defaults"]["absent_for"] = "20m"
        data["defaults"]["absent_grace"] = "3m"
        data["signals"]["cpu_usage"]["absent_for"] = "2m"
        data["signals"]["memory_usage"]["optional"] = True
        data["slos"]["latency"]["absent_for"] = "30m"
    groups = absent.groups(load_spec(write_spec(change)))
    rules = {(r["alert"], r["labels"].get("metric", "")): r for r in groups[0]["rules"]}
    assert rules[("CpuUsageAbsent", "vigil_host_cpu_seconds_total")]["for"] == "2m"
    assert rules[("DiskUsageAbsent", "vigil_host_filesystem_used_ratio")]["for"] == "20m"
    assert rules[("LatencySliAbsent", "")]["for"] == "30m"
    assert "[6m]) > count_over_time(" in rules[("CpuUsageAbsent",
                                                 "vigil_host_cpu_seconds_total")]["expr"]
    assert not [name for name, _ in rules if name == "MemoryUsageAbsent"]
    assert {r["labels"]["category"] for r in rules.values()} == {"monitoring"}


def test_absent_rules_carry_the_labels_and_annotations_of_every_generated_alert():
    spec = load_spec(Path("slo/spec.yaml"))
    for rule in absent.groups(spec)[0]["rules"]:
        assert {"severity", "priority", "team", "category"} <= rule["labels"].keys()
        assert {"signal", "slo"} & rule["labels"].keys()
        assert rule["annotations"].keys() == {"summary", "description", "runbook_url",
                                              "dashboard_url"}
    assert "## absent-data" in render(spec)["alert_rules/runbooks.md"]


def _promtool(root: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", "test", "rules", *files], cwd=root, capture_output=True,
                          text=True, timeout=600)


def _variant(write_spec) -> Path:
    """Per-signal `absent_for`, an optional signal, an exporter-less custom signal, and an
    SLO whose good selector matches nothing (a route the exporter never reports)."""
    def change(data):
        data["defaults"]["absent_grace"] = "2m"
        data["signals"]["cpu_usage"]["absent_for"] = "3m"
        data["signals"]["memory_usage"]["optional"] = True
        data["signals"]["queue_depth"] = {"expr": "max(queue_messages_ready{$sel})",
                                          "unit": "count", "warning": "100", "by": []}
        data["slos"]["checkout"] = {
            "objective": "99%",
            "sli": {"exporter": "http",
                    "good": 'sum(rate(vigil_http_request_duration_seconds_bucket{le="2.0",'
                            'route="/chekout",$sel}[$window]))',
                    "total": "sum(rate(vigil_http_request_duration_seconds_count{$sel}"
                             "[$window]))"},
        }
    return write_spec(change)


@needs_promtool
def test_generated_tests_pass_and_fail_when_the_rules_lose_the_grace_or_the_wait(
        write_spec, tmp_path):
    out = tmp_path / "out"
    write_atomically(out, render(load_spec(_variant(write_spec))))
    result = _promtool(out, "alert_rules/tests/absent.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = out / "alert_rules/vigil.rules.yml"
    original = rules.read_text()
    no_grace = re.sub(r" and count_over_time\(up\{[^}]*\}\[4m\]\) > "
                      r"count_over_time\(up\{[^}]*\}\[2m\]\)", "", original)
    for broken in (no_grace,  # no grace for new targets
                   original.replace("    for: 10m\n", "    for: 1m\n"),  # fires too early
                   original.replace("unless on (instance)", "unless on ()")):  # not per target
        assert broken != original
        rules.write_text(broken)
        assert _promtool(out, "alert_rules/tests/absent.test.yml").returncode != 0


@needs_promtool
def test_an_slo_whose_good_selector_matches_nothing_alerts(write_spec, tmp_path):
    """Exporter-shaped series (every request answered, the histogram with its buckets):
    the checkout SLO's good rate selects nothing: the per-target watch names the missing bucket
    (the SLO's whole-SLI alert stays quiet: its total is recorded, and no good events read as
    all errors)."""
    spec = load_spec(_variant(write_spec))
    out = tmp_path / "out"
    write_atomically(out, render(spec))
    target = {"job": "vigil-http", "instance": "app:9732", "environment": "production"}
    route = {**target, "method": "GET", "route": "/checkout"}

    def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
        return {"series": f"{name}{{{promql.matchers(sorted(labels.items()))}}}",
                "values": values}

    inputs = [series("up", target, "1x40"),
              series("vigil_http_request_duration_seconds_count", route, "0+60x40"),
              *(series("vigil_http_request_duration_seconds_bucket", {**route, "le": le},
                       "0+60x40") for le in ("0.5", "2.0", "+Inf"))]
    per_target = next(w for w in absent.watches(spec) if w.owner == ("slo", "checkout")
                      and "route" in w.metric)
    expected = [absent._expected(spec, per_target, "app:9732")]
    (out / "alert_rules/tests/dead.test.yml").write_text(yaml.safe_dump({
        "rule_files": ["../vigil.rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": inputs, "alert_rule_test": [
            {"eval_time": "9m", "alertname": "CheckoutSliAbsent", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "CheckoutSliAbsent", "exp_alerts": expected},
            {"eval_time": "30m", "alertname": "ResponseTimeAbsent", "exp_alerts": []},
        ]}],
    }))
    result = _promtool(out, "alert_rules/tests/dead.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected[0]["exp_labels"] == {"slo": "checkout", "environment": "production",
                                         "severity": "warning", "priority": "P2",
                                         "team": "operations", "category": "monitoring",
                                         "job": "vigil-http", "instance": "app:9732",
                                         "metric": per_target.metric}
    assert per_target.metric == 'vigil_http_request_duration_seconds_bucket{le="2.0",route="/chekout"}'


def test_an_expression_pinned_to_an_instance_expects_its_metric_there_only(write_spec):
    def change(data):
        data["signals"]["primary_connections"] = {
            "expr": 'max(vigil_pg_connections{instance="db-1:9733",$sel})', "unit": "count",
            "exporter": "postgres", "warning": "100", "by": []}
    spec = load_spec(write_spec(change))
    watch = next(w for w in absent.watches(spec) if w.owner == ("signal", "primary_connections"))
    expr = absent.watch_expr(spec, watch)
    assert expr.count('up{instance=~"db-1:9733",job="vigil-postgres"') == 3
    assert expr.endswith('unless on (instance) (vigil_pg_connections{instance="db-1:9733",'
                         'job="vigil-postgres",environment="production"})')


def test_many_absent_rules_are_spread_over_groups(monkeypatch):
    """Prometheus runs groups side by side: thousands of signals' absent-data rules are
    cut into groups of a bounded size, in order, none lost."""
    spec = load_spec(Path("slo/spec.yaml"))
    whole = absent.groups(spec)
    assert len(whole) == 1 and whole[0]["name"] == "vigil.absent"
    monkeypatch.setattr(absent, "MAX_RULES_PER_GROUP", 10)
    split = absent.groups(spec)
    assert [g["name"] for g in split] == ["vigil.absent"] + [
        f"vigil.absent.{n}" for n in range(2, len(split) + 1)]
    assert all(0 < len(g["rules"]) <= 10 for g in split)
    assert [r for g in split for r in g["rules"]] == whole[0]["rules"]
