"""The capacity dashboard and the predictive series on signal panels read exactly what
the rules record, with the spec's capacity lines."""

from __future__ import annotations

import re

import pytest

from generator.dashboards import dashboards
from generator.dashboards.queries import panel_queries
from generator.loader import SpecError, load_spec
from generator.rules import rule_groups
from tests.dashboards.conftest import panel, panels_of

RECORDED = re.compile(r"vigil:[a-z0-9_]+:[a-z0-9_:]+")


def _recorded(spec) -> set[str]:
    return {r["record"] for g in rule_groups(spec) for r in g["rules"] if "record" in r}


def test_every_recorded_series_the_dashboards_read_is_recorded(spec, built):
    """A typo in a projection, band or capacity name would draw an empty panel."""
    records = _recorded(spec)
    read = {name for d in built.values() for q in panel_queries(d)
            for name in RECORDED.findall(q.expr)}
    assert {n for n in read if n.startswith("vigil:capacity:")}  # the dashboard reads them
    assert read <= records, sorted(read - records)


def test_signal_panels_draw_forecasts_and_bands(spec, built):
    disk = panel(built["infrastructure"], spec.signals["disk_usage"].panel_id)
    exprs = [t["expr"] for t in disk["targets"]]
    assert any("vigil:disk_usage:predicted_4h_from_2h" in e for e in exprs)
    names = [o["matcher"]["options"]["names"][0] for o in disk["fieldConfig"]["overrides"]]
    assert "high: forecast in 4h" in names
    # The forecast's line is a step in its severity's colour on the panel.
    steps = disk["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert {"color": spec.severities["critical"].colour, "value": 0.9} in steps
    errors = panel(built["application"], spec.signals["error_rate"].panel_id)
    band = [t["expr"] for t in errors["targets"] if "band_mean_3x1w" in t["expr"]]
    assert len(band) == 2
    assert any(" + 3 * vigil:error_rate:band_stddev_3x1w" in e for e in band)
    assert any(" - 3 * vigil:error_rate:band_stddev_3x1w" in e for e in band)


def test_capacity_lines_and_projections_come_from_the_spec(write_spec):
    def change(data):
        data["capacity"] = {"scale_up": "70%", "scale_down": "25%", "reserve": "30%",
                            "projections": ["60d", "14d"], "trend": "14d"}
    spec = load_spec(write_spec(change))
    built = dashboards(spec)["capacity"]
    titles = [p["title"] for p in panels_of(built)]
    assert "Utilisation: scale up at 70%, down below 25%, keep 30% in reserve" in titles
    assert "Candidates to shrink: peak below 25%" in titles
    cpu = next(p for p in panels_of(built) if p["title"] == "CPU: now, trend and projections")
    exprs = " ".join(t["expr"] for t in cpu["targets"])
    assert "projected_2w" in exprs and "projected_60d" in exprs and "projected_30d" not in exprs
    columns = [o["matcher"]["options"]["names"][0] for o in cpu["fieldConfig"]["overrides"]]
    assert columns == ["Trend per day", "Last hour", "In 2w", "In 60d", "Reserve at peak"]
    steps = [s for o in cpu["fieldConfig"]["overrides"] for p in o["properties"]
             if p["id"] == "thresholds" for s in p["value"]["steps"]]
    assert {"color": "red", "value": 0.7} in steps and {"color": "green", "value": 0.3} in steps
    rules = {r["record"]: r["expr"] for g in rule_groups(spec) for r in g["rules"]
             if "record" in r}
    assert rules["vigil:capacity:cpu_usage:scale_up_timestamp_seconds"].startswith("time() + (0.7 - ")
    assert "[2w]" in rules["vigil:capacity:disk_usage:projected_60d"]
    groups = {g["name"]: g for g in rule_groups(spec)}
    assert groups["vigil.capacity.hourly"]["interval"] == "1h"


@pytest.mark.parametrize(("capacity", "message"), [
    ({"scale_up": "80%", "scale_down": "85%"},
     "capacity.scale_down: 85% is not below scale_up 80%; expected a lower line"),
    ({"scale_up": "90%", "reserve": "20%"},
     "capacity.reserve: 20% of reserve above scale_up 90% is more than 100%; expected scale_up "
     "plus reserve of at most 100%"),
    ({"projections": ["2y"]}, "capacity.projections[0]: expected a duration of at most 365d"),
    ({"trend": "90d"}, "capacity.trend: expected a duration of at most 45d"),
    ({"scale_up": "80"}, "capacity.scale_up: expected a percentage such as \"80%\", got '80'"),
])
def test_bad_capacity_section(write_spec, capacity, message):
    def change(data):
        data["capacity"] = capacity
    path = write_spec(change)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: {re.escape(message)}", err.value.render()), \
        err.value.render()
