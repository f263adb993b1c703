"""The dashboard linter's rules hold for every generated dashboard, and each rule can fail.

Bad cases are small hand-written dashboards, each breaking one rule in one way, in
the style of pint's and promtool's good/bad fixtures.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from generator.dashboards import BUILDERS
from generator.dashboards.exemptions import Exemption, exemptions
from tests.dashboards.lint import RULES, lint

DS = {"type": "prometheus", "uid": "${datasource}"}
GOOD_EXPR = ('sum by (instance) (rate(x_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))'
             ' / sum by (instance) (y_bytes{job=~"$job",instance=~"$instance"})')


def _query_variable(name: str) -> dict[str, Any]:
    return {"type": "query", "name": name, "label": name.capitalize(), "datasource": DS,
            "query": f"label_values(up, {name})", "multi": True, "includeAll": True,
            "allValue": ".+"}


GOOD: dict[str, Any] = {
    "uid": "lint-test",
    "templating": {"list": [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus"},
        _query_variable("job"),
        _query_variable("instance"),
    ]},
    "panels": [
        {"type": "row", "id": 100, "title": "Row", "collapsed": False, "panels": []},
        {"type": "timeseries", "id": 1, "title": "Thing", "description": "What it shows.",
         "datasource": DS, "fieldConfig": {"defaults": {"unit": "s"}, "overrides": []},
         "targets": [{"refId": "A", "datasource": DS, "expr": GOOD_EXPR}]},
    ],
}

Change = Callable[[dict[str, Any]], None]


def _var(name: str, **changes: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        variable = next(v for v in d["templating"]["list"] if v["name"] == name)
        variable.update(changes)
    return change


def _drop_var(name: str) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != name]
    return change


def _panel(**changes: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["panels"][1].update(changes)
    return change


def _expr(expr: str) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["panels"][1]["targets"][0]["expr"] = expr
    return change


def _unit(unit: str | None) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["panels"][1]["fieldConfig"]["defaults"]["unit"] = unit
    return change


def _target_datasource(source: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["panels"][1]["targets"][0]["datasource"] = source
    return change


M = 'job=~"$job",instance=~"$instance"'
BAD_CASES: list[tuple[str, str, Change]] = [
    ("template-datasource-rule", "no datasource variable", _drop_var("datasource")),
    ("template-datasource-rule", "not a datasource variable", _var("datasource", type="custom")),
    ("template-datasource-rule", "not prometheus", _var("datasource", query="loki")),
    ("template-datasource-rule", "label", _var("datasource", label="DS")),
    ("template-job-rule", "no job variable", _drop_var("job")),
    ("template-job-rule", "single select", _var("job", multi=False)),
    ("template-job-rule", "allValue .*", _var("job", allValue=".*")),
    ("template-job-rule", "custom variable", _var("job", type="custom")),
    ("template-job-rule", "fixed datasource", _var("job", datasource={"type": "prometheus",
                                                                      "uid": "vigil-prometheus"})),
    ("template-job-rule", "no All", _var("job", includeAll=False)),
    ("template-instance-rule", "no instance variable", _drop_var("instance")),
    ("template-instance-rule", "label", _var("instance", label="Host")),
    ("panel-datasource-rule", "fixed panel datasource",
     _panel(datasource={"type": "prometheus", "uid": "vigil-prometheus"})),
    ("panel-datasource-rule", "null panel datasource", _panel(datasource=None)),
    ("panel-datasource-rule", "name as datasource", _target_datasource("Prometheus")),
    ("panel-title-description-rule", "no description", _panel(description="")),
    ("panel-title-description-rule", "blank title", _panel(title="  ")),
    ("panel-units-rule", "no unit", _unit(None)),
    ("panel-units-rule", "unknown unit", _unit("furlongs")),
    ("target-promql-rule", "unbalanced", _expr(f"sum(rate(x_total{{{M}}}[$__rate_interval])")),
    ("target-promql-rule", "unquoted variable", _expr("x_bytes{job=$job}")),
    ("target-rate-interval-rule", "fixed rate range", _expr(f"rate(x_total{{{M}}}[5m])")),
    ("target-rate-interval-rule", "fixed irate range", _expr(f"irate(x_total{{{M}}}[1m])")),
    ("target-rate-interval-rule", "fixed increase range", _expr(f"increase(x_total{{{M}}}[1h])")),
    ("target-rate-interval-rule", "$__interval", _expr(f"rate(x_total{{{M}}}[$__interval])")),
    ("target-job-rule", "no job matcher", _expr('y_bytes{instance=~"$instance"}')),
    ("target-job-rule", "equality, not regex", _expr('y_bytes{job="$job",instance=~"$instance"}')),
    ("target-job-rule", "literal job", _expr('y_bytes{job=~"vigil-host",instance=~"$instance"}')),
    ("target-job-rule", "one side only", _expr(f'y_bytes{{{M}}} / z_bytes{{instance=~"$instance"}}')),
    ("target-instance-rule", "no instance matcher", _expr('y_bytes{job=~"$job"}')),
    ("target-counter-agg-rule", "raw counter", _expr(f"x_total{{{M}}}")),
    ("target-counter-agg-rule", "summed counter", _expr(f"sum(x_total{{{M}}})")),
    ("target-counter-agg-rule", "raw bucket", _expr(f"y_bucket{{{M}}}")),
    ("target-counter-agg-rule", "delta of a counter",
     _expr(f"delta(x_total{{{M}}}[$__rate_interval])")),
]


def test_every_rule_has_bad_cases():
    assert {rule for rule, _, _ in BAD_CASES} == set(RULES)


def test_good_dashboard_passes_every_rule():
    assert lint(GOOD) == []


@pytest.mark.parametrize(("rule", "case", "change"), BAD_CASES,
                         ids=[f"{r}:{c}" for r, c, _ in BAD_CASES])
def test_rule_rejects_bad_dashboard(rule, case, change):
    bad = copy.deepcopy(GOOD)
    change(bad)
    findings = lint(bad, only=[rule])
    assert findings, f"{rule} accepted a dashboard with {case}"
    assert all(f.rule == rule and f.where.startswith("lint-test") for f in findings)


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize("rule", list(RULES))
def test_generated_dashboard_passes(built, spec_exemptions, name, rule):
    assert [str(f) for f in lint(built[name], spec_exemptions, only=[rule])] == []


# The exemption list ------------------------------------------------------------------

JOB_RULES = ("target-job-rule", "target-instance-rule")


@pytest.mark.parametrize("expr", [
    'ALERTS{alertstate="firing",environment=~"$environment"}',
    'count(ALERTS_FOR_STATE{environment=~"$environment"})',
    'vigil_slo:burn_rate{slo="availability",window="1h",environment=~"$environment"}',
    '1 - vigil_slo:error_budget_remaining:ratio{environment=~"$environment"}',
    '0.8 * vigil:daily_revenue:baseline{environment=~"$environment"}',
    'vigil:disk_usage:predicted_4h_from_2h{environment=~"$environment"}',
    'vigil:error_rate:band_mean_3x1w{environment=~"$environment"}',
])
def test_exempt_series_pass_job_rules_only_with_the_exemption(spec_exemptions, expr):
    dashboard = copy.deepcopy(GOOD)
    _expr(expr)(dashboard)
    assert lint(dashboard, spec_exemptions, only=JOB_RULES) == []
    assert len(lint(dashboard, (), only=JOB_RULES)) >= 2


@pytest.mark.parametrize("expr", [
    'vigil_host_load1{environment=~"$environment"}',
    'vigil:cpu_usage{environment=~"$environment"}',  # a recorded signal, not its baseline
    'ALERTS_EXTRA{environment=~"$environment"}',
])
def test_exemptions_are_narrow(spec_exemptions, expr):
    dashboard = copy.deepcopy(GOOD)
    _expr(expr)(dashboard)
    assert len(lint(dashboard, spec_exemptions, only=JOB_RULES)) == 2


def test_counted_events_exemption_covers_only_counted_signal_panels(spec):
    (counted_exemption,) = [e for e in exemptions(spec) if e.rule == "target-counter-agg-rule"]
    counted = {s.panel_id for s in spec.signals.values() if s.definition.is_counter}
    assert {panel_id for _, panel_id in counted_exemption.panels} == counted
    dashboard = copy.deepcopy(GOOD)
    _expr(f"max_over_time(x_total{{{M}}}[1h]) - min_over_time(x_total{{{M}}}[1h])")(dashboard)
    here = Exemption("target-counter-agg-rule", "test", panels=frozenset({("lint-test", 1)}))
    elsewhere = Exemption("target-counter-agg-rule", "test", panels=frozenset({("lint-test", 2)}))
    assert lint(dashboard, (here,), only=["target-counter-agg-rule"]) == []
    assert lint(dashboard, (elsewhere,), only=["target-counter-agg-rule"])


def test_every_exemption_is_needed_by_the_generated_dashboards(built, spec_exemptions):
    """Dropping any one exemption makes the default dashboards fail: none is dead weight."""
    def count(active: tuple[Exemption, ...]) -> int:
        return sum(len(lint(d, active)) for d in built.values())

    assert count(spec_exemptions) == 0
    for exemption in spec_exemptions:
        rest = tuple(e for e in spec_exemptions if e is not exemption)
        assert count(rest) > 0, f"unused exemption: {exemption.rule} {exemption.reason}"


def test_without_exemptions_only_exempt_series_fail(built):
    """Every raw exporter query carries job and instance; only the listed series lack them."""
    exempt = re.compile(r"ALERTS|vigil_slo:\S+|vigil:\w+:baseline|vigil:(mttr|mtbf):seconds"
                        r"|vigil:\w+:(predicted|band_mean|band_stddev)_\w+|vigil:capacity:\S+"
                        r"|vigil:incidents:\w+|up|prometheus_\w+_total|alertmanager_\w+_total")
    for dashboard in built.values():
        for finding in lint(dashboard, (), only=JOB_RULES):
            metric = finding.message.split(" lacks ")[0]
            assert exempt.fullmatch(metric), str(finding)
