"""Panels sit on the 24-column grid without overlapping; ids are stable and alert links land.

An alert's `dashboard_url` names a dashboard uid and `viewPanel=<id>`; the panel with
that id must exist there and draw the alert's signal.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from generator import links
from generator.dashboards import BUILDERS, dashboards
from generator.dashboards.layout import FIRST_EXTRA_ID, GRID_WIDTH, Grid, PanelIds
from generator.loader import load_spec
from tests.dashboards.conftest import panel, panels_of


def _cells(panel: dict) -> set[tuple[int, int]]:
    g = panel["gridPos"]
    return {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}


def grid_problems(dashboard: dict) -> list[str]:
    problems = []
    taken: dict[tuple[int, int], int] = {}
    for item in panels_of(dashboard):
        g = item["gridPos"]
        if g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > GRID_WIDTH:
            problems.append(f"panel {item['id']} is off the grid: {g}")
        for cell in _cells(item):
            if cell in taken:
                problems.append(f"panel {item['id']} overlaps panel {taken[cell]} at {cell}")
                break
            taken[cell] = item["id"]
    return problems


def test_grid_check_finds_overlap_and_overflow():
    bad = {"panels": [
        {"id": 1, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}},
        {"id": 2, "gridPos": {"x": 6, "y": 4, "w": 12, "h": 8}},
        {"id": 3, "gridPos": {"x": 20, "y": 20, "w": 6, "h": 2}},
    ]}
    problems = grid_problems(bad)
    assert any("2 overlaps panel 1" in p for p in problems)
    assert any("3 is off the grid" in p for p in problems)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_panels_on_grid_without_overlap(built, name):
    assert grid_problems(built[name]) == []


def test_grid_flows_and_rows_start_new_lines():
    grid = Grid()
    assert grid.row().to_json_data() == {"h": 1, "w": 24, "x": 0, "y": 0}
    assert grid.place(16, 8).to_json_data() == {"h": 8, "w": 16, "x": 0, "y": 1}
    assert grid.place(10, 4).to_json_data() == {"h": 4, "w": 10, "x": 0, "y": 9}
    assert grid.row().to_json_data() == {"h": 1, "w": 24, "x": 0, "y": 13}
    with pytest.raises(ValueError):
        grid.place(25, 1)


def test_extra_ids_start_at_100_and_skip_signal_ids():
    ids = PanelIds(reserved=[1, 2, 101])
    assert [ids() for _ in range(3)] == [100, 102, 103]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_ids_unique_and_non_signal_ids_from_100(spec, built, name):
    all_ids = [p["id"] for p in panels_of(built[name])]
    assert len(all_ids) == len(set(all_ids))
    signal_ids = {s.panel_id for s in spec.signals.values() if s.definition.dashboard == name}
    assert all(i >= FIRST_EXTRA_ID for i in all_ids if i not in signal_ids)


def test_every_signal_has_its_panel(spec, built):
    for signal in spec.signals.values():
        drawn = panel(built[signal.definition.dashboard], signal.panel_id)
        assert drawn["title"] == signal.title
        assert drawn["type"] == "timeseries"
        assert drawn["fieldConfig"]["defaults"]["unit"] == signal.definition.grafana_unit


def _target_of(url: str) -> tuple[str, int | None]:
    parsed = urlparse(url)
    uid = parsed.path.split("/")[2]
    view = parse_qs(parsed.query).get("viewPanel")
    return uid, int(view[0]) if view else None


def test_alert_dashboard_urls_land_on_their_signal_panel(spec, built):
    """Read the alert rules the spec generates and follow each `dashboard_url`."""
    from generator.rules import rule_groups

    by_uid = {d["uid"]: d for d in built.values()}
    followed = 0
    for group in rule_groups(spec):
        for rule in group["rules"]:
            url = rule.get("annotations", {}).get("dashboard_url")
            if url is None:
                continue
            uid, panel_id = _target_of(url)
            assert uid in by_uid, url
            if panel_id is not None:
                drawn = panel(by_uid[uid], panel_id)
                signal = spec.signals[rule["labels"]["signal"]]
                assert drawn["title"] == signal.title, url
                # Absent-data alerts land on their signal's panel too; count the thresholds.
                followed += rule["labels"].get("category") != "monitoring"
    assert followed == sum(len(s.thresholds) for s in spec.signals.values() if s.enabled)


def test_custom_signal_gets_a_panel_with_its_expression(write_spec):
    def change(data):
        data["signals"]["queue_depth"] = {
            "expr": "max by (instance) (app_queue_depth{$sel})", "unit": "count",
            "exporter": "postgres", "dashboard": "database", "title": "Queue depth",
            "warning": 100,
        }
    spec = load_spec(write_spec(change))
    signal = spec.signals["queue_depth"]
    drawn = panel(dashboards(spec)["database"], signal.panel_id)
    assert drawn["title"] == "Queue depth"
    assert drawn["targets"][0]["expr"] == (
        'max by (instance) (app_queue_depth{job=~"$job",instance=~"$instance",'
        'environment=~"$environment"})')
    assert [s["value"] for s in drawn["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 100]


def test_dashboard_urls_use_the_generated_uids(spec, built):
    for name, dashboard in built.items():
        assert dashboard["uid"] == links.dashboard_uid(spec, name)
        assert dashboard["title"] == links.dashboard_title(spec, name)
