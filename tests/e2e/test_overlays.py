"""The end-to-end overlays are valid specs, and the maintenance one really covers now."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from generator import alertmanager
from generator.loader import load_spec
from tests.e2e import overlays

DEMO_SPEC = Path(__file__).resolve().parents[2] / "slo/examples/demo.yaml"


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 12, 1, 10, 15, 42, tzinfo=UTC),
     {"now": ("10:05", "10:46")}),
    (datetime(2026, 12, 1, 0, 3, tzinfo=UTC),
     {"now": ("00:00", "00:34")}),
    (datetime(2026, 12, 1, 23, 50, tzinfo=UTC),
     {"now": ("23:40", "24:00"), "now_after_midnight": ("00:00", "00:21")}),
])
def test_maintenance_covering_now_splits_at_midnight(now, expected):
    section = overlays.maintenance_covering(now, ["warning"])
    assert section["timezone"] == "UTC"
    assert {name: (w["start"], w["end"]) for name, w in section["windows"].items()} == expected
    assert {w["days"] for w in section["windows"].values()} == {"every day"}


def _spec(tmp_path: Path, overlay: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"extends": str(DEMO_SPEC), **overlay}))
    return path


def test_the_window_mutes_only_warning_routes(tmp_path):
    now = datetime.now(UTC)
    spec = load_spec(_spec(tmp_path, {"maintenance": overlays.maintenance_covering(now, ["warning"])}))
    config = alertmanager.config(spec)
    intervals = {i["name"]: i["time_intervals"][0] for i in config["time_intervals"]}
    clock = now.strftime("%H:%M")
    assert any(t["start_time"] <= clock < t["end_time"]
               for i in intervals.values() for t in i["times"])
    muted = {r["receiver"] for r in config["route"]["routes"] if r.get("mute_time_intervals")}
    assert muted and all(name.endswith("-warning") or "-warning-" in name for name in muted)
    if shutil.which("amtool"):
        path = tmp_path / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config))
        checked = subprocess.run(["amtool", "check-config", str(path)], capture_output=True,
                                 text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_timings_overlay_loads_and_declares_the_database_signal(tmp_path):
    spec = load_spec(_spec(tmp_path, overlays.timings_overlay(["127.0.0.1:1", "127.0.0.1:2"])))
    assert spec.alertmanagers == ("127.0.0.1:1", "127.0.0.1:2")
    assert spec.duplicate_suppression == 10.0
    down = spec.signals["database_down"]
    assert [(t.severity, t.value) for t in down.thresholds] == [("critical", 0.5)]
    assert [s.after for s in spec.severities["critical"].escalation] == [overlays.ESCALATION_AFTER]


