"""Spec thresholds become panel thresholds in the severities' colours, and only there.

The table below is the contract of `steps`: for each set of thresholds, the Grafana
steps (base first) that colour a value by the most severe threshold it breaks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.dashboards import dashboards, outputs
from generator.dashboards.steps import ANY_STEP, steps
from generator.loader import load_spec
from generator.thresholds import ABOVE, ANY, BELOW, BELOW_BASELINE, Threshold
from tests.dashboards.conftest import panel

DAY = 86400.0

STEP_CASES: list[tuple[str, list[Threshold], list[tuple[str, float | None]]]] = [
    ("no thresholds", [], [("green", None)]),
    ("one above", [Threshold("warning", ABOVE, 0.8, "80%")], [("green", None), ("yellow", 0.8)]),
    ("two above", [Threshold("critical", ABOVE, 0.9, "90%"), Threshold("warning", ABOVE, 0.8, "80%")],
     [("green", None), ("yellow", 0.8), ("red", 0.9)]),
    ("one below: bad side first", [Threshold("warning", BELOW, 4.0, "< 4.0")],
     [("yellow", None), ("green", 4.0)]),
    ("two below", [Threshold("critical", BELOW, 7 * DAY, "7d"), Threshold("warning", BELOW, 14 * DAY, "14d")],
     [("red", None), ("yellow", 7 * DAY), ("green", 14 * DAY)]),
    ("any increase", [Threshold("critical", ANY, 0.0, "any", window=300.0)],
     [("green", None), ("red", ANY_STEP)]),
    ("baseline has no fixed step", [Threshold("warning", BELOW_BASELINE, 0.2, "20% below average")],
     [("green", None)]),
    ("mixed comparators", [Threshold("critical", BELOW, 300.0, "< 5m"),
                           Threshold("warning", ABOVE, 3600.0, "> 1h")],
     [("red", None), ("green", 300.0), ("yellow", 3600.0)]),
    ("same value: most severe wins", [Threshold("warning", ABOVE, 0.9, "90%"),
                                      Threshold("critical", ABOVE, 0.9, "90%")],
     [("green", None), ("red", 0.9)]),
    ("info is a colour too", [Threshold("info", ABOVE, 500.0, "500/s")], [("green", None), ("blue", 500.0)]),
]


@pytest.mark.parametrize(("case", "thresholds", "expected"), STEP_CASES, ids=[c[0] for c in STEP_CASES])
def test_steps(spec, case, thresholds, expected):
    assert [(s["color"], s["value"]) for s in steps(spec, thresholds)] == expected


def _steps(panel_json: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel_json["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def _signal_panel(spec, built, name: str) -> dict[str, Any]:
    signal = spec.signals[name]
    return panel(built[signal.definition.dashboard], signal.panel_id)


@pytest.mark.parametrize(("signal", "expected"), [
    ("cpu_usage", [("green", None), ("yellow", 0.8)]),
    ("disk_usage", [("green", None), ("red", 0.9)]),
    ("wal_backup_age", [("green", None), ("yellow", 1800.0), ("red", 3600.0)]),
    ("tls_certificate_expiry", [("red", None), ("yellow", 7 * DAY), ("green", 14 * DAY)]),
    ("customer_satisfaction", [("yellow", None), ("green", 4.0)]),
    ("deadlocks", [("green", None), ("red", 5.0)]),
    ("suspicious_activity", [("green", None), ("red", ANY_STEP)]),
    ("throughput", [("green", None), ("blue", 500.0)]),
])
def test_default_spec_signal_thresholds(spec, built, signal, expected):
    drawn = _signal_panel(spec, built, signal)
    assert _steps(drawn) == expected
    assert drawn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"


@pytest.mark.parametrize(("signal", "window"), [("deadlocks", "[1h]"), ("failed_logins", "[1h]"),
                                                ("suspicious_activity", "[15m]")])
def test_counted_events_use_the_thresholds_window(spec, built, signal, window):
    """The panel draws the exact count the alert compares, over the threshold's window."""
    (target,) = _signal_panel(spec, built, signal)["targets"]
    assert "increase(" not in target["expr"]
    assert target["expr"].count(f"{window})") == 5  # max, min, last and two resets


def test_rates_use_rate_interval(spec, built):
    (target,) = _signal_panel(spec, built, "cpu_usage")["targets"]
    assert "[$__rate_interval]" in target["expr"]


def test_below_baseline_draws_the_baseline_not_a_step(spec, built):
    drawn = _signal_panel(spec, built, "daily_revenue")
    assert _steps(drawn) == [("green", None)]
    exprs = {t["legendFormat"]: t["expr"] for t in drawn["targets"]}
    assert exprs["baseline"] == 'vigil:daily_revenue:baseline{environment=~"$environment"}'
    assert exprs["warning: 20% below average"] == \
        '0.8 * vigil:daily_revenue:baseline{environment=~"$environment"}'
    colours = {o["matcher"]["options"]["names"][0]: o["properties"]
               for o in drawn["fieldConfig"]["overrides"]}
    assert {"id": "color", "value": {"mode": "fixed", "fixedColor": "yellow"}} in \
        colours["warning: 20% below average"]


def test_baseline_series_is_what_the_rules_record(spec):
    from generator.rules import rule_groups

    recorded = {r["record"] for g in rule_groups(spec) for r in g["rules"] if "record" in r}
    for signal in spec.signals.values():
        if any(t.kind == BELOW_BASELINE for t in signal.thresholds):
            assert f"vigil:{signal.name}:baseline" in recorded


def test_colours_come_from_the_spec(write_spec):
    def change(data):
        data["severities"]["warning"]["colour"] = "purple"
        data["severities"]["critical"]["colour"] = "#ff0000"
    spec = load_spec(write_spec(change))
    built = dashboards(spec)
    assert _steps(_signal_panel(spec, built, "wal_backup_age")) == [
        ("green", None), ("purple", 1800.0), ("#ff0000", 3600.0)]
    icons = {a["name"]: a["iconColor"] for a in built["infrastructure"]["annotations"]["list"]}
    assert icons["Warning alerts (P2)"] == "purple"


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _flatten(value, f"{prefix}/{key}").items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data) for k, v in _flatten(value, f"{prefix}/{i}").items()}
    return {prefix: data}


def test_one_threshold_changes_one_panel_threshold_and_one_alert(write_spec):
    """Edit `cpu_usage: warning: 80%` to 75 % in a copy of the spec and diff what it generates."""
    from generator.rules import rule_groups

    before_spec = load_spec(write_spec())
    before = outputs(before_spec)
    before_rules = rule_groups(before_spec)

    def change(data):
        assert data["signals"]["cpu_usage"]["warning"] == "80%"
        data["signals"]["cpu_usage"]["warning"] = "75%"
    after_spec = load_spec(write_spec(change))  # same path: the spec's name in the files is unchanged
    after = outputs(after_spec)

    assert before.keys() == after.keys()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"dashboards/infrastructure.json"}
    old = _flatten(json.loads(before["dashboards/infrastructure.json"]))
    new = _flatten(json.loads(after["dashboards/infrastructure.json"]))
    diff = {k: (old.get(k), new.get(k)) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    index = [p["id"] for p in json.loads(after["dashboards/infrastructure.json"])["panels"]].index(
        after_spec.signals["cpu_usage"].panel_id)
    assert diff == {f"/panels/{index}/fieldConfig/defaults/thresholds/steps/1/value": (0.8, 0.75)}

    after_rules = rule_groups(after_spec)
    changed_rules = [(a["alert"], a["expr"]) for g_b, g_a in zip(before_rules, after_rules, strict=True)
                     for b, a in zip(g_b["rules"], g_a["rules"], strict=True) if a != b]
    assert len(changed_rules) == 1
    name, expr = changed_rules[0]
    assert name == "CpuUsage" and expr.endswith("> 0.75")
