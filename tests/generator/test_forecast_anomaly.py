"""Forecast (`90% within 4h`) and anomaly (`anomaly 3σ`) thresholds: the spec forms,
their errors, the rules they generate and the promtool tests that prove them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.commands import render
from generator.loader import SpecError, load_spec
from generator.output import write_atomically
from generator.rules import predictive_tests, signals
from generator.thresholds import ANOMALY, BELOW, FORECAST

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool not installed (Debian prometheus)")


def _set(signal: str, key: str, value):
    def change(data):
        data["signals"].setdefault(signal, {})[key] = value
    return change


ERRORS = [
    ("wrong unit", _set("disk_usage", "high", "2s within 4h"),
     "signals.disk_usage.high: expected a ratio threshold such as \"80%\", got '2s'"),
    ("missing horizon", _set("disk_usage", "high", "90% within"),
     "signals.disk_usage.high: expected a horizon after `within`, such as \"90% within 4h\", "
     "got '90% within'"),
    ("horizon not a duration", _set("disk_usage", "high", "90% within soon"),
     "signals.disk_usage.high: expected a horizon duration such as \"4h\", got 'soon'"),
    ("horizon too long", _set("disk_usage", "high", "90% within 30d"),
     "signals.disk_usage.high: expected a horizon of at most 1w (longer trends are the capacity "
     "dashboard's projections), got '30d'"),
    ("lookback too short", _set("disk_usage", "high", "90% within 5m over 1m"),
     "signals.disk_usage.high: expected a lookback of at least 2m, got '1m'"),
    ("lookback too long", _set("disk_usage", "high", "90% within 4h over 3d"),
     "signals.disk_usage.high: expected a lookback of at most 1d (every evaluation reads the "
     "whole lookback), got '3d'"),
    ("line beyond 100%", _set("disk_usage", "high", "100% within 4h"),
     "signals.disk_usage.high: '100%' can never fire: a ratio is never above 100%"),
    ("forecast of counted events", _set("deadlocks", "warning", "5/h within 4h"),
     "signals.deadlocks.warning: a forecast needs a level that grows, not counted events"),
    ("anomaly without sigma", _set("error_rate", "warning", "anomaly 3"),
     "signals.error_rate.warning: expected an anomaly threshold such as \"anomaly 3σ\" or "
     "\"anomaly 3σ, season 1d, 4 seasons\", got 'anomaly 3'"),
    ("anomaly season too short", _set("error_rate", "warning", "anomaly 3σ, season 1h"),
     "signals.error_rate.warning: expected a season of at least 2h (the band compares one-hour "
     "windows), got '1h'"),
    ("anomaly history beyond retention", _set("error_rate", "warning", "anomaly 3σ, 8 seasons"),
     "signals.error_rate.warning: 8 seasons of 1w need more history than 6w; Prometheus keeps "
     "45 days by default here"),
    ("anomaly mapping typo", _set("error_rate", "warning", {"anomaly": {"sigma": 3, "seasn": "1w"}}),
     "signals.error_rate.warning: unknown anomaly setting 'seasn'; expected sigma, season or "
     "seasons"),
    ("anomaly of counted events", _set("deadlocks", "warning", "anomaly 3σ"),
     "signals.deadlocks.warning: an anomaly needs a level to compare, not counted events; write "
     "a count such as \"5/h\" instead"),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_forms_name_file_line_and_path(write_spec, change, message):
    path = write_spec(change)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: {re.escape(message)}", err.value.render()), \
        err.value.render()


def test_forms_read_in_base_units(write_spec):
    def change(data):
        data["signals"]["disk_usage"]["high"] = "90% within 4h over 1h30m"
        data["signals"]["customer_satisfaction"]["high"] = "< 3.5 within 2h"
        data["signals"]["conversion_rate"]["info"] = {"anomaly": {"sigma": 2.5, "season": "1d",
                                                                  "seasons": 4}}
    spec = load_spec(write_spec(change))
    disk = next(t for t in spec.signals["disk_usage"].thresholds if t.kind == FORECAST)
    assert (disk.value, disk.horizon, disk.lookback) == (0.9, 14400.0, 5400.0)
    satisfaction = next(t for t in spec.signals["customer_satisfaction"].thresholds
                        if t.kind == FORECAST)
    assert (satisfaction.side, satisfaction.lookback) == (BELOW, 3600.0)  # default max(1h, 2h/2)
    conversion = next(t for t in spec.signals["conversion_rate"].thresholds if t.kind == ANOMALY)
    assert (conversion.sigma, conversion.season, conversion.seasons, conversion.side) == (
        2.5, 86400.0, 4, BELOW)


def test_default_spec_uses_them_where_the_plans_ask():
    spec = load_spec(Path(__file__).resolve().parents[2] / "slo" / "spec.yaml")
    kinds = {name: {t.kind for t in s.thresholds} for name, s in spec.signals.items()}
    for name in ("disk_usage", "memory_usage", "connection_pool_usage"):
        assert FORECAST in kinds[name], name
    for name in ("error_rate", "response_time", "throughput", "daily_revenue", "conversion_rate"):
        assert ANOMALY in kinds[name], name


def test_rules_record_once_and_alert_under_their_own_names():
    spec = load_spec(Path(__file__).resolve().parents[2] / "slo" / "spec.yaml")
    groups, alerts = signals.groups(spec)
    disk = next(g for g in groups if g["name"].endswith(".disk_usage"))
    records = [r["record"] for r in disk["rules"] if "record" in r]
    assert records == ["vigil:disk_usage", "vigil:disk_usage:predicted_4h_from_2h"]
    forecast = next(r for r in disk["rules"] if r.get("alert") == "DiskUsageForecast")
    assert forecast["expr"].startswith(
        'vigil:disk_usage:predicted_4h_from_2h{environment="production"} > 0.9 and ')
    assert forecast["for"] == "30m"  # a quarter of the 2h lookback
    error = next(g for g in groups if g["name"].endswith(".error_rate"))
    band = next(r for r in error["rules"] if r.get("record") == "vigil:error_rate:band_mean_3x1w")
    # the same hour of each of the last three weeks, centred on now, all three needed
    assert [o for o in re.findall(r"offset ([0-9dhm]+)", band["expr"])][:3] == [
        "6d23h30m", "13d23h30m", "20d23h30m"]
    assert band["expr"].endswith("== 3")
    names = {a.rule["alert"] for a in alerts}
    assert {"DiskUsage", "DiskUsageForecast", "ErrorRate", "ErrorRateAnomaly"} <= names
    for alert in alerts:
        assert set(alert.rule["labels"]) >= {"severity", "priority", "team"}
        assert set(alert.rule["annotations"]) == {"summary", "description", "runbook_url",
                                                  "dashboard_url"}


def test_every_forecast_and_anomaly_has_its_generated_cases():
    spec = load_spec(Path(__file__).resolve().parents[2] / "slo" / "spec.yaml")
    forecasts, anomalies = predictive_tests.tests(spec)
    names = [t["name"] for t in forecasts]
    (anomaly_test,) = anomalies
    checked = {c["alertname"]: c["exp_alerts"] for c in anomaly_test["alert_rule_test"]}
    for signal in spec.signals.values():
        for threshold in signal.thresholds:
            label = f"{signal.name} {threshold.severity} ({threshold.text})"
            if threshold.kind == FORECAST:
                for case in ("a steady fill fires before it reaches the line",
                             "a flat line just short of it stays silent",
                             "a spike beyond it for half its `for` stays silent"):
                    assert f"{label}: {case}" in names
            elif threshold.kind == ANOMALY:
                fired = checked[signals.threshold_alert_name(signal, threshold)]
                assert [a["exp_labels"]["anomaly_case"] for a in fired] == ["shift"], label


def _generate(tmp_path: Path, spec: Path) -> Path:
    out = tmp_path / "out"
    write_atomically(out, render(load_spec(spec)))
    return out / "alert_rules" / "tests"


@needs_promtool
def test_forecast_tests_pass_on_any_signal_and_fail_without_the_growth_check(write_spec,
                                                                                tmp_path):
    """A catalogue signal whose bad side is below and a custom signal get forecasts whose
    generated tests pass; the same tests on rules without the "still growing" condition
    fail (the spike would fire)."""
    def change(data):
        data["signals"] = {
            "customer_satisfaction": {"warning": "< 4.0/5.0", "high": "< 3.5 within 2h"},
            "queue_depth": {"expr": "sum(app_queue_depth{$sel})", "unit": "count",
                            "critical": "5000 within 1h over 20m"},
        }
        data.pop("slos", None)
    folder = _generate(tmp_path, write_spec(change))
    run = ["promtool", "test", "rules", "forecast.test.yml"]
    passed = subprocess.run(run, cwd=folder, capture_output=True, text=True, timeout=300)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    rules = yaml.safe_load((folder / "forecast.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert", "").endswith("Forecast"):
                rule["expr"] = rule["expr"].split(" and ")[0]
    (folder / "forecast.rules.yml").write_text(yaml.safe_dump(rules))
    failed = subprocess.run(run, cwd=folder, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0
    assert "a spike beyond it for half its `for` stays silent" in failed.stdout + failed.stderr
