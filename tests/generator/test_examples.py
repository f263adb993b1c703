"""Every example spec in slo/examples/ loads, and what it generates passes the real tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from generator.commands import render
from generator.loader import load_spec
from generator.output import write_atomically

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "slo/examples").glob("*.yaml"))


@pytest.mark.skipif(shutil.which("promtool") is None or shutil.which("amtool") is None,
                    reason="promtool/amtool not installed")
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_generates_valid_rules_and_routing(example, tmp_path):
    spec = load_spec(example)
    write_atomically(tmp_path, render(spec))
    for command in (["promtool", "check", "rules", "alert_rules/vigil.rules.yml"],
                    ["promtool", "test", "rules", "alert_rules/tests/signals.test.yml",
                     "alert_rules/tests/slo.test.yml", "alert_rules/tests/escalation.test.yml",
                     "alert_rules/tests/absent.test.yml"],
                    ["amtool", "check-config", "deploy/alertmanager/alertmanager.yml"]):
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr


def test_examples_exist():
    assert {e.name for e in EXAMPLES} >= {"staging.yaml", "custom-service.yaml"}


def test_staging_overrides_only_what_it_says():
    staging = load_spec(ROOT / "slo/examples/staging.yaml")
    production = load_spec(ROOT / "slo/spec.yaml")
    assert staging.selectors == {"environment": "staging"}
    assert staging.severities["critical"].channels == ("slack", "email")
    assert staging.severities["critical"].priority == "P0"  # inherited
    assert "daily_revenue" not in staging.signals
    assert staging.signals["memory_usage"] == production.signals["memory_usage"]
