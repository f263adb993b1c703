"""`outputs(spec)`: the files, byte-for-byte deterministic, naming their spec; provisioning; queries."""

from __future__ import annotations

import json

import pytest
import yaml

from generator import links
from generator.dashboards import BUILDERS, outputs
from generator.dashboards.modernise import DATASOURCE_REF
from generator.dashboards.queries import (
    annotation_queries,
    executable,
    panel_queries,
    substitute,
    variable_values,
)
from generator.dashboards.variables import DATASOURCE_UID
from generator.loader import load_spec

EXPECTED_FILES = sorted([f"dashboards/{name}.json" for name in BUILDERS] + [
    "deploy/grafana/provisioning/dashboards/vigil.yml",
    "deploy/grafana/provisioning/datasources/vigil.yml",
])


@pytest.fixture(scope="module")
def files(spec):
    return outputs(spec)


def test_files_and_determinism(spec, files):
    assert list(files) == EXPECTED_FILES
    assert outputs(load_spec(spec.source)) == files
    for path, text in files.items():
        if path.endswith(".json"):
            assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_files_name_their_spec(spec, files):
    source = spec.source.as_posix()
    for path, text in files.items():
        if path.endswith(".json"):
            assert source in json.loads(text)["description"], path
        else:
            assert text.startswith("# ") and source in text.splitlines()[0], path


@pytest.mark.parametrize("name", list(BUILDERS))
def test_modern_dashboard_basics(built, name):
    dashboard = built[name]
    assert dashboard["editable"] is False
    assert dashboard["uid"] == f"vigil-{name}"
    for key in ("rows", "style", "hideControls", "sharedCrosshair", "__inputs", "gnetId"):
        assert key not in dashboard
    kinds = {p["type"] for p in dashboard["panels"]}
    assert kinds <= {"row", "timeseries", "stat", "gauge", "bargauge", "table"}
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE_REF
        assert all(t["datasource"] == DATASOURCE_REF for t in panel["targets"])
        for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][:1]:
            assert step["value"] is None  # not grafanalib's 'null' string
        for target in panel["targets"]:
            assert "intervalFactor" not in target and "step" not in target


def test_all_panel_kinds_are_used(built):
    kinds = {p["type"] for d in built.values() for p in d["panels"]}
    assert kinds == {"row", "timeseries", "stat", "gauge", "bargauge", "table"}


def test_variables(spec, built):
    for dashboard in built.values():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert list(variables) == ["datasource", "environment", "job", "instance"]
        assert variables["datasource"]["current"]["value"] == DATASOURCE_UID
        assert variables["environment"]["current"]["value"] == [spec.selectors["environment"]]
        assert all(variables[n]["multi"] and variables[n]["includeAll"]
                   for n in ("environment", "job", "instance"))
        assert '$job' in variables["instance"]["query"]


def test_selectors_become_variables(write_spec):
    def change(data):
        data["selectors"] = {"environment": "staging", "region": "eu-west"}
    spec = load_spec(write_spec(change))
    files = outputs(spec)
    infrastructure = json.loads(files["dashboards/infrastructure.json"])
    names = [v["name"] for v in infrastructure["templating"]["list"]]
    assert names == ["datasource", "environment", "region", "job", "instance"]
    exprs = [q.expr for q in panel_queries(infrastructure)]
    assert all('region=~"$region"' in e and 'environment=~"$environment"' in e
               for e in exprs if "vector(" not in e)


def test_alert_annotations_per_severity(spec, built):
    for dashboard in built.values():
        queries = [a for a in dashboard["annotations"]["list"] if "expr" in a]
        assert [a["iconColor"] for a in queries] == [s.colour for s in spec.severities.values()]
        assert all(a["expr"].startswith("ALERTS{") and 'alertstate="firing"' in a["expr"]
                   for a in queries)
    infrastructure = built["infrastructure"]["annotations"]["list"][1]["expr"]
    assert 'signal=~"cpu_usage|memory_usage|' in infrastructure and "daily_revenue" not in infrastructure
    assert 'slo!=""' in built["slo"]["annotations"]["list"][1]["expr"]


def test_provisioning(spec, files):
    datasources = yaml.safe_load(files["deploy/grafana/provisioning/datasources/vigil.yml"])
    (source,) = datasources["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(files["deploy/grafana/provisioning/dashboards/vigil.yml"])
    (provider,) = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/vigil"
    assert provider["folder"] == "Vigil" and provider["type"] == "file"
    assert provider["allowUiUpdates"] is False


def test_overview_links_to_every_other_dashboard(spec, built):
    urls = {link["url"] for link in built["overview"]["links"]}
    assert urls == {f"/d/{links.dashboard_uid(spec, n)}" for n in BUILDERS if n != "overview"}
    assert all(link["keepTime"] and link["includeVars"] for link in built["overview"]["links"])


def test_overview_content(spec, built):
    overview = built["overview"]
    titles = {p["title"]: p for p in overview["panels"]}
    availability = titles["Availability over 30d"]
    assert availability["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.999
    assert "vigil_slo:error_ratio" in availability["targets"][0]["expr"]
    assert "vigil_slo:error_budget_remaining:ratio" in titles["Error budget remaining"]["targets"][0]["expr"]
    assert 'window="1h"' in titles["Burn rate (1h)"]["targets"][0]["expr"]
    severity = titles["Firing by severity"]["targets"][0]["expr"]
    for name in spec.severities:
        assert f'"severity", "{name}"' in severity
    assert "sum by (team)" in titles["Firing by team"]["targets"][0]["expr"]
    for key, title in (("mttr", "MTTR (30d)"), ("mtbf", "MTBF (30d)")):
        expr = titles[title]["targets"][0]["expr"]
        assert f'vigil:{key}:seconds{{window="30d",' in expr  # measured, not the target
        steps = titles[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[1]["value"] == spec.reliability[key]
        bad = steps[1]["color"] if key == "mttr" else steps[0]["color"]
        assert bad == spec.severities["critical"].colour  # past the target
    for kind in ("Response", "Resolution"):
        expr = titles[f"{kind} target breaches by priority"]["targets"][0]["expr"]
        assert f"vigil:incidents:{kind.lower()}_target_breaches" in expr and "offset $__range" in expr
        for severity in spec.severities.values():
            assert f'"priority", "{severity.priority}"' in expr
    assert "vigil_incidents_open" in titles["Open incidents"]["targets"][0]["expr"]


def test_panel_queries_extracts_every_target(built):
    for dashboard in built.values():
        queries = panel_queries(dashboard)
        expected = sum(len(p.get("targets", [])) for p in dashboard["panels"])
        assert len(queries) == expected
        assert all(q.dashboard_uid == dashboard["uid"] and q.expr for q in queries)
    nested = {"uid": "u", "panels": [{"type": "row", "id": 100, "title": "r", "panels": [
        {"id": 1, "title": "t", "targets": [{"expr": "up", "refId": "A"}, {"refId": "B"}]}]}]}
    assert panel_queries(nested) == [("u", 1, "t", "up")]


def test_annotation_queries(built):
    found = annotation_queries(built["overview"])
    assert len(found) == 4 and all(expr.startswith("ALERTS{") for _, _, expr in found)


def test_substitute_and_executable(built):
    assert substitute('rate(x{job=~"$job",a=~"${a}"}[$__rate_interval]) $unknown',
                      {"job": ".+", "a": "b", "__rate_interval": "1m"}) == \
        'rate(x{job=~".+",a=~"b"}[1m]) $unknown'
    dashboard = built["infrastructure"]
    assert variable_values(dashboard)["environment"] == "production"
    assert variable_values(dashboard)["job"] == ".+"
    (cpu,) = [q for q in panel_queries(dashboard) if q.panel_title == "CPU usage"]
    assert executable(dashboard, cpu.expr) == (
        '1 - avg by (instance) (rate(vigil_host_cpu_seconds_total{mode="idle",job=~".+",'
        'instance=~".+",environment=~"production"}[1m]))')
