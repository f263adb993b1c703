"""The prometheus-operator resources and sidecar ConfigMaps `vigil generate` writes for
a spec with a `kubernetes` section (slo/examples/kubernetes/spec.yaml)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import alertmanager, prometheus_config, rules
from generator.commands import check, generate, render, schema_text
from generator.kubernetes import (
    OUT_DIR,
    KubernetesError,
    alertmanager_config,
    dashboards,
    notes,
    prometheus_rule,
    scrape,
)
from generator.kubernetes.resources import MAX_DATA_BYTES
from generator.loader import SpecError, load_spec
from generator.output import write_atomically
from tests.kubernetes.conftest import EXAMPLE, ROOT, core_errors, documents


def _kinds(resources: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in resources.values():
        counts[resource["kind"]] = counts.get(resource["kind"], 0) + 1
    return counts


def test_a_spec_without_the_section_gets_no_kubernetes_files():
    files = render(load_spec(ROOT / "slo/spec.yaml"))
    assert not [p for p in files if p.startswith("deploy/kubernetes/")]


def test_the_example_gets_every_kind(example_resources):
    assert _kinds(example_resources) == {"PrometheusRule": 1, "ServiceMonitor": 5,
                                         "AlertmanagerConfig": 1, "ConfigMap": 7}
    for resource in example_resources.values():
        assert resource["metadata"]["namespace"] == "monitoring"
        assert resource["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_every_operator_resource_matches_its_crd_schema(example_resources, crd_validator):
    checked = 0
    for path, resource in example_resources.items():
        if resource["apiVersion"].startswith("monitoring.coreos.com/"):
            assert crd_validator.errors(resource) == [], path
            checked += 1
    assert checked == 7


def test_the_crd_check_can_fail(example_resources, crd_validator):
    resource = json.loads(json.dumps(example_resources[f"{OUT_DIR}/alertmanagerconfig.yaml"]))
    resource["spec"]["route"]["groupWait"] = 30  # a number where the CRD wants a string
    resource["spec"]["receivers"][1]["slackConfig"] = []  # misspelt: would be pruned
    errors = crd_validator.errors(resource)
    assert any("groupWait" in e for e in errors)
    assert any(e.endswith("receivers/1/slackConfig: unknown field (the API server would drop it)")
               for e in errors)


def test_every_dashboard_configmap_is_a_valid_core_resource(example_resources):
    configmaps = [r for r in example_resources.values() if r["kind"] == "ConfigMap"]
    assert configmaps
    for configmap in configmaps:
        assert core_errors(configmap) == []
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert configmap["metadata"]["annotations"] == {"grafana_folder": "Vigil",
                                                        "k8s-sidecar-target-directory": "Vigil"}


def test_configmaps_hold_the_dashboards_byte_for_byte(example_files, example_resources):
    held = {}
    for resource in example_resources.values():
        if resource["kind"] == "ConfigMap":
            held.update(resource["data"])
    plain = {p.split("/")[1]: t for p, t in example_files.items()
             if p.startswith("dashboards/") and p.endswith(".json")}
    assert held == {f"vigil-{name}": text for name, text in plain.items()}


def test_a_dashboard_over_a_mebibyte_is_refused(example_spec):
    key = f"{example_spec.name}-big.json"
    dashboards.configmap(example_spec, "big", "x" * (MAX_DATA_BYTES - len(key)))
    with pytest.raises(KubernetesError, match=r"dashboard 'big'.* over Kubernetes' limit of "
                                              r"1048576 bytes"):
        dashboards.configmap(example_spec, "big", "x" * (MAX_DATA_BYTES - len(key) + 1))


def test_rule_groups_are_split_between_resources_at_the_limit():
    groups = [{"name": f"g{i}", "rules": [{"record": "r", "expr": "x" * 100}]} for i in range(10)]
    parts = prometheus_rule.split_groups(groups, "f", limit=400)
    assert [g for part in parts for g in part] == groups
    assert len(parts) > 1
    with pytest.raises(KubernetesError, match="rule group 'g0'"):
        prometheus_rule.split_groups(groups, "f", limit=100)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_rules_extracted_from_the_prometheusrule_equal_the_plain_file_and_pass_promtool(
        example_files, example_resources, tmp_path):
    resource = example_resources[f"{OUT_DIR}/prometheusrule-vigil-rules.yaml"]
    assert resource["spec"] == yaml.safe_load(example_files[rules.RULES_FILE])
    extracted = tmp_path / "extracted.rules.yml"
    extracted.write_text(yaml.safe_dump(resource["spec"]), encoding="utf-8")
    result = subprocess.run(["promtool", "check", "rules", str(extracted)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_service_monitors_scrape_the_jobs_the_rules_read(example_spec, example_resources):
    monitors = {r["metadata"]["name"]: r for r in example_resources.values()
                if r["kind"] == "ServiceMonitor"}
    assert set(monitors) == set(example_spec.jobs.values())
    for job, monitor in monitors.items():
        assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": job}}
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == "metrics"
        set_labels = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
        assert set_labels == {"job": job, **example_spec.selectors}


def _matchers(route: dict) -> list[str]:
    return [alertmanager.matcher(m["name"], m["value"], m["matchType"]) for m in route.get("matchers", [])]


def test_the_alertmanagerconfig_keeps_the_routing_tree(example_spec, example_resources):
    plain = alertmanager.config(example_spec)
    spec = example_resources[f"{OUT_DIR}/alertmanagerconfig.yaml"]["spec"]
    assert [r["name"] for r in spec["receivers"]] == [r["name"] for r in plain["receivers"]]
    assert spec["route"]["receiver"] == plain["route"]["receiver"]
    assert spec["route"]["groupBy"] == plain["route"]["group_by"]
    assert [_matchers(r) for r in spec["route"]["routes"]] == \
        [r["matchers"] for r in plain["route"]["routes"]]
    assert [(r["receiver"], r.get("repeatInterval")) for r in spec["route"]["routes"]] == \
        [(r["receiver"], r.get("repeat_interval")) for r in plain["route"]["routes"]]
    assert [[alertmanager.matcher(m["name"], m["value"], m["matchType"]) for m in r["sourceMatch"]]
            for r in spec["inhibitRules"]] == [r["source_matchers"] for r in plain["inhibit_rules"]]
    # Asia/Bangkok is always UTC+7: the windows are kept, in UTC, on the same routes.
    assert [i["name"] for i in spec["muteTimeIntervals"]] == [
        t["name"] for t in plain["time_intervals"]]
    assert [r.get("muteTimeIntervals") for r in spec["route"]["routes"]] == \
        [r.get("mute_time_intervals") for r in plain["route"]["routes"]]


def test_secrets_are_references_to_the_named_secret(example_spec, example_resources):
    text = json.dumps(example_resources[f"{OUT_DIR}/alertmanagerconfig.yaml"])
    assert "_file" not in text and "/run/secrets" not in text
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"name", "key"}:
                refs.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(example_resources[f"{OUT_DIR}/alertmanagerconfig.yaml"]["spec"]["receivers"])
    assert {r["name"] for r in refs} == {"vigil-alertmanager"}
    assert {r["key"] for r in refs} == {e.lower() for e in alertmanager.secret_envs(example_spec)}


def test_maintenance_windows_in_a_zone_with_daylight_saving_are_left_out(tmp_path, crd_validator):
    spec_path = tmp_path / "berlin.yaml"
    spec_path.write_text(f"extends: {EXAMPLE}\nmaintenance:\n  timezone: Europe/Berlin\n",
                         encoding="utf-8")
    spec = load_spec(spec_path)
    files = alertmanager.outputs(spec)
    resource = documents(alertmanager_config.outputs(spec, files))[f"{OUT_DIR}/alertmanagerconfig.yaml"]
    assert "muteTimeIntervals" not in resource["spec"]
    assert "muteTimeIntervals" not in json.dumps(resource["spec"]["route"])
    assert crd_validator.errors(resource) == []
    assert any("maintenance windows are left out: Europe/Berlin has daylight saving" in note
               for note in notes(spec, files))


def test_static_scrape_writes_scrape_configs_with_the_spec_targets(tmp_path, crd_validator):
    spec_path = tmp_path / "static.yaml"
    spec_path.write_text(f"extends: {EXAMPLE}\nkubernetes:\n  scrape: static\n"
                         "targets:\n  host: [\"db1.example.com:9731\", \"db2.example.com:9731\"]\n",
                         encoding="utf-8")
    spec = load_spec(spec_path)
    resources = documents(scrape.outputs(spec, prometheus_config.outputs(spec)))
    assert _kinds(resources) == {"ScrapeConfig": 5}
    host = resources[f"{OUT_DIR}/scrapeconfig-vigil-host.yaml"]
    assert host["spec"]["jobName"] == "vigil-host"
    assert host["spec"]["staticConfigs"] == [{"targets": ["db1.example.com:9731", "db2.example.com:9731"],
                                              "labels": {"environment": "production"}}]
    for resource in resources.values():
        if resource["kind"] == "ScrapeConfig":
            assert crd_validator.errors(resource) == []


@pytest.mark.parametrize(("section", "path"), [
    ("{namespace: Monitoring}", "kubernetes.namespace"),
    ("{labels: {release: 'a b'}}", "kubernetes.labels.release"),
    ("{namespace: m, scrape: pods}", "kubernetes.scrape"),
    ("{namespace: m, secrets: x}", "kubernetes.secrets"),
])
def test_a_bad_kubernetes_section_names_its_path(tmp_path, section, path):
    spec_path = tmp_path / "bad.yaml"
    spec_path.write_text(f"extends: {EXAMPLE}\nkubernetes: {section}\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_path)
    assert path in caught.value.render()


def test_generate_writes_no_secret_value_says_what_it_cannot_and_check_sees_drift(tmp_path, capsys):
    """The real command, with every secret the spec names set in its environment."""
    spec = load_spec(EXAMPLE)
    values = {name: f"s3cret-{name.lower()}-value" for name in alertmanager.secret_envs(spec)}
    values.update({"VIGIL_PG_PASSWORD": "s3cret-pg", "VIGIL_SQL_PASSWORD": "s3cret-sql"})
    env = {"PATH": "/usr/bin:/bin", **values}
    vigil = [str(ROOT / ".venv/bin/vigil")] if (ROOT / ".venv/bin/vigil").exists() else \
        ["python", "-m", "generator.cli"]
    result = subprocess.run([*vigil, "generate", "--spec", str(EXAMPLE), "--out", str(tmp_path),
                             "--skip-tool-checks"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.match("deploy/kubernetes/operator/*.yaml") for p in written)
    for path in written:
        text = path.read_text(encoding="utf-8")
        for value in values.values():
            assert value not in text, path
    for value in values.values():
        assert value not in result.stdout + result.stderr
    said = [line for line in result.stdout.splitlines() if line.startswith("note: AlertmanagerConfig:")]
    assert any('namespace="monitoring"' in n for n in said)
    assert any("maintenance windows are written in UTC" in n and "UTC+7" in n for n in said)
    assert "kubectl -n monitoring create secret generic vigil-alertmanager" in result.stdout
    comment = (tmp_path / OUT_DIR / "alertmanagerconfig.yaml").read_text(encoding="utf-8")
    assert "# What it cannot say the same way:" in comment
    assert "maintenance windows are written in UTC" in comment

    write_atomically(tmp_path, {"slo/spec.schema.json": schema_text()})
    # `vigil check`'s drift half (its promtool half is the same as for any spec).
    assert check(EXAMPLE, tmp_path, tool_checks=False) == 0
    monitor = tmp_path / OUT_DIR / "servicemonitor-vigil-host.yaml"
    monitor.write_text(monitor.read_text(encoding="utf-8").replace("interval: 15s", "interval: 1m"),
                       encoding="utf-8")
    (tmp_path / OUT_DIR / "stray.yaml").write_text("kind: ConfigMap\n", encoding="utf-8")
    capsys.readouterr()
    assert check(EXAMPLE, tmp_path, tool_checks=False) == 1
    drifted = capsys.readouterr().err
    assert f"drift: {OUT_DIR}/servicemonitor-vigil-host.yaml: differs" in drifted
    assert f"drift: {OUT_DIR}/stray.yaml: not generated by the spec" in drifted


def test_the_kustomization_lists_every_resource(example_files):
    kustomization = yaml.safe_load(example_files[f"{OUT_DIR}/kustomization.yaml"])
    listed = {f"{OUT_DIR}/{name}" for name in kustomization["resources"]}
    assert listed == {p for p in example_files if p.startswith(f"{OUT_DIR}/")} - \
        {f"{OUT_DIR}/kustomization.yaml"}


def test_the_example_spec_is_in_the_repository():
    assert Path(EXAMPLE).is_file()


def test_several_specs_with_a_kubernetes_section_are_refused(tmp_path, capsys):
    assert generate([ROOT / "slo/examples/staging.yaml", EXAMPLE], tmp_path, tool_checks=False) == 1
    assert f"{EXAMPLE}: a `kubernetes` section is for one spec at a time" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
