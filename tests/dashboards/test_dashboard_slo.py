"""The SLO and overview dashboards read exactly the series the SLO rules record.

The same SLO dashboard code serves a spec with one SLO and one with fifty: a row of
four panels per SLO, every threshold its own.
"""

from __future__ import annotations

import copy
import re

import pytest

from generator import units
from generator.dashboards import dashboards
from generator.dashboards.exemptions import exemptions
from generator.dashboards.queries import panel_queries
from generator.loader import load_spec
from tests.dashboards.lint import lint
from tests.dashboards.test_dashboard_layout import grid_problems

SERIES_RE = re.compile(r"(vigil_slo:[a-z0-9_:]+)\{([^}]*)\}")
LABEL_RE = re.compile(r'(\w+)="([^"]*)"')


def _spec_with_slos(write_spec, count: int):
    def change(data):
        template = data["slos"]["availability"]
        data["slos"] = {}
        for index in range(1, count + 1):
            slo = copy.deepcopy(template)
            slo["title"] = f"Service {index} availability"
            slo["objective"] = "99.5%" if index % 2 else "99.9%"
            data["slos"][f"service_{index}"] = slo
    return load_spec(write_spec(change))


@pytest.mark.parametrize("count", [1, 50])
def test_slo_dashboard_scales_from_one_to_fifty(write_spec, count):
    spec = _spec_with_slos(write_spec, count)
    built = dashboards(spec)
    slo = built["slo"]
    rows = [p for p in slo["panels"] if p["type"] == "row"]
    assert len(rows) == count
    assert len(slo["panels"]) == count * 5
    ids = [p["id"] for p in slo["panels"]]
    assert len(set(ids)) == len(ids) and min(ids) >= 100
    assert grid_problems(slo) == []
    assert lint(slo, exemptions(spec)) == []
    for index, name in enumerate(spec.slos, start=1):
        queries = [q.expr for q in panel_queries(slo) if f'slo="{name}"' in q.expr]
        assert len(queries) >= 4 + len(spec.slos[name].windows), name
        assert rows[index - 1]["title"].startswith(f"Service {index} availability")
    # each SLO's own objective is its SLI threshold
    stats = [p for p in slo["panels"] if p["type"] == "stat"]
    objectives = [p["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] for p in stats]
    assert objectives == [round(s.objective, 12) for s in spec.slos.values()]
    # the overview summarises every SLO in one table whatever their number
    (summary,) = [p for p in built["overview"]["panels"] if p["title"] == "All SLOs"]
    assert summary["type"] == "table"


def test_burn_rate_thresholds_are_each_windows_factor(spec, built):
    slo = spec.slos["availability"]
    title = "Availability burn rate per alerting window"
    (burn,) = [p for p in built["slo"]["panels"] if p["title"] == title]
    assert len(burn["targets"]) == len(slo.windows)
    for window, target, override in zip(slo.windows, burn["targets"], burn["fieldConfig"]["overrides"],
                                        strict=True):
        assert f'window="{units.format_duration(window.long)}"' in target["expr"]
        assert override["matcher"]["options"]["names"] == [target["legendFormat"]]
        (steps,) = [p["value"]["steps"] for p in override["properties"] if p["id"] == "thresholds"]
        assert steps[1] == {"color": spec.severities[window.severity].colour, "value": window.factor}


def test_slo_dashboard_without_slos(write_spec):
    def change(data):
        data["slos"] = None
    spec = load_spec(write_spec(change))
    built = dashboards(spec)
    assert "slo" not in built  # no empty dashboard, and no link to one
    assert "SLO detail" not in {link["title"] for link in built["overview"]["links"]}
    assert not [p for p in built["overview"]["panels"] if "vigil_slo" in str(p.get("targets"))]


WINDOW_SET_RE = re.compile(r'"window", "(\w+)", "", ""\)')


def _recorded(spec) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    from generator.rules import rule_groups

    result = set()
    for group in rule_groups(spec):
        for rule in group["rules"]:
            if rule.get("record", "").startswith("vigil_slo:"):
                labels = rule.get("labels", {})
                # the error ratio is one rule for every window: each part of its
                # expression sets its own `window` with label_replace
                windows = WINDOW_SET_RE.findall(rule["expr"]) or [None]
                result |= {(rule["record"], frozenset(
                    {**labels, **({"window": w} if w else {})}.items())) for w in windows}
    # the burn rate is one rule over every window's error ratio: its series keep their
    # `window` label from the ratio it divides (`vigil_slo:error_ratio{slo=...} / budget`)
    for record, labels in list(result):
        if record == "vigil_slo:burn_rate" and "window" not in dict(labels):
            result |= {(record, ratio_labels) for name, ratio_labels in result
                       if name == "vigil_slo:error_ratio" and dict(ratio_labels).get("slo")
                       == dict(labels)["slo"]}
    return result


def test_slo_queries_match_recorded_series(spec, built):
    """Every `vigil_slo:*{slo=..., window=...}` a dashboard reads is a series the rules record."""
    recorded = _recorded(spec)
    checked = 0
    for dashboard in built.values():
        for query in panel_queries(dashboard):
            for name, matchers in SERIES_RE.findall(query.expr):
                wanted = LABEL_RE.findall(matchers)  # the exact-match labels (slo, window)
                assert any(record == name and all(dict(labels).get(k) == v for k, v in wanted)
                           for record, labels in recorded), f"{query.panel_title}: {name}{{{matchers}}}"
                checked += 1
    assert checked > 10
