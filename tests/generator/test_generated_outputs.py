"""What the default spec generates passes the real promtool and amtool, and is deterministic."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from generator.commands import render
from generator.loader import load_spec
from generator.output import write_atomically

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT / "slo" / "spec.yaml"

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None or shutil.which("amtool") is None,
                                reason="promtool/amtool not installed (Debian prometheus, "
                                       "prometheus-alertmanager)")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    write_atomically(root, render(load_spec(DEFAULT_SPEC)))
    return root


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)


def test_promtool_check_rules(generated):
    result = _run(generated, "promtool", "check", "rules", "alert_rules/vigil.rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config(generated):
    result = _run(generated, "promtool", "check", "config", "deploy/prometheus/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", ["signals", "slo", "escalation", "baseline", "absent",
                                       "forecast", "anomaly"])
def test_promtool_test_rules(generated, vigil_check, test_file):
    """`vigil check` ran promtool on every generated test file (this one too) and it passed."""
    assert (generated / f"alert_rules/tests/{test_file}.test.yml").is_file()
    assert "ok: promtool test rules" in vigil_check.stdout, vigil_check.stdout + vigil_check.stderr


@pytest.mark.parametrize("name", ["signals", "escalation", "baseline"])
def test_tests_load_only_the_groups_they_check(generated, name):
    """promtool evaluates every rule it loads at every step: these tests read the groups
    they check, unchanged, from a file of their own."""
    import yaml

    tests = yaml.safe_load((generated / f"alert_rules/tests/{name}.test.yml").read_text())
    assert tests["rule_files"] == [f"{name}.rules.yml"]
    own = yaml.safe_load((generated / f"alert_rules/tests/{name}.rules.yml").read_text())["groups"]
    full = yaml.safe_load((generated / "alert_rules/vigil.rules.yml").read_text())["groups"]
    checks = [c for t in tests["tests"] for c in t["alert_rule_test"]]
    checked = {c["alertname"] for c in checks}
    escalated = {a["exp_labels"]["escalated_alertname"] for c in checks for a in c["exp_alerts"]
                 if "escalated_alertname" in a["exp_labels"]}
    assert {r["alert"] for g in own for r in g["rules"] if "alert" in r} == checked | escalated
    # copies: the same rules, in the same order, but for the forecasts and anomalies
    # (tested apart; they would only add to the steps)
    for group in own:
        original = next(g for g in full if g["name"] == group["name"])
        rest = [r for r in original["rules"] if ":band_" not in r.get("record", "")
                and ":avg_1h" not in r.get("record", "") and ":stddev_1h" not in r.get("record", "")
                and ":predicted_" not in r.get("record", "")
                and not r.get("alert", "").endswith(("Anomaly", "Forecast"))]
        assert group["rules"] == rest
    assert len(own) < len(full)


def test_amtool_check_config(generated):
    result = _run(generated, "amtool", "check-config", "deploy/alertmanager/alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_threshold_has_a_firing_and_a_silent_case(generated):
    """The generated tests cover each threshold both ways (the issue's minimum)."""
    import yaml

    spec = load_spec(DEFAULT_SPEC)
    names = []
    for name in ("signals", "baseline"):
        names += [t["name"] for t in yaml.safe_load(
            (generated / f"alert_rules/tests/{name}.test.yml").read_text())["tests"]]
    for signal in spec.signals.values():
        for threshold in signal.thresholds:
            if threshold.predictive:
                continue  # on histories: tests/generator/test_forecast_anomaly.py
            label = f"{signal.name} {threshold.severity} ({threshold.text})"
            assert any(n.startswith(label) and "fires" in n for n in names), label
            assert any(n.startswith(label) and "silent" in n for n in names), label


def test_generation_is_deterministic():
    first = render(load_spec(DEFAULT_SPEC))
    second = render(load_spec(DEFAULT_SPEC))
    assert first == second
    assert all(text.endswith("\n") for text in first.values())


def test_generated_files_name_their_spec():
    for path, text in render(load_spec(DEFAULT_SPEC)).items():
        if path.endswith((".yml", ".yaml")):
            assert text.startswith("# Generated by `vigil generate` from "), path
            assert "slo/spec.yaml" in text.splitlines()[0], path


def test_secrets_never_appear_in_outputs(write_spec):
    def change(data):
        data["receivers"]["finance_team"] = {"pagerduty": {"routing_key": {"env": "FINANCE_KEY"}}}
    files = render(load_spec(write_spec(change)))
    config = files["deploy/alertmanager/alertmanager.yml"]
    assert "routing_key_file: /run/secrets/finance_key" in config
    assert "FINANCE_KEY" not in "".join(files.values())


def test_counts_are_tested_at_their_boundary_and_across_scrape_gaps(generated):
    """Each `N/h` threshold meets N-1, N and N+1 events with scrapes on and between
    evaluations, each `any` an event inside scrape gaps up to the stated maximum, and
    network latency a failed connect: the cases `increase()` got wrong."""
    import yaml

    spec = load_spec(DEFAULT_SPEC)
    tests = yaml.safe_load((generated / "alert_rules/tests/signals.test.yml").read_text())["tests"]
    names = [t["name"] for t in tests]
    for signal in spec.signals.values():
        for threshold in signal.thresholds:
            label = f"{signal.name} {threshold.severity} ({threshold.text})"
            if signal.definition.is_counter and threshold.kind == "any":
                assert any(n.startswith(label) and "10m scrape gap" in n for n in names), label
            elif signal.definition.is_counter:
                count = int(threshold.value)
                bounds = f"{count - 1}, {count} and {count + 1} events"
                for layout in ("scraped on the evaluations", "scraped 30s after the evaluations"):
                    assert f"{label}: {bounds}, {layout}" in names, label
    assert "network_latency warning (100ms): a failed attempt stays silent" in names
