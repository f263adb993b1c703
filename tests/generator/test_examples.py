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
    # a spec without escalating severities (or signals) has no such tests, and no file
    tests = [f"alert_rules/tests/{name}.test.yml" for name in ("signals", "slo", "escalation",
                                                               "absent")
             if (tmp_path / f"alert_rules/tests/{name}.test.yml").is_file()]
    assert "alert_rules/tests/slo.test.yml" in tests or not spec.slos
    for command in (["promtool", "check", "rules", "alert_rules/vigil.rules.yml"],
                    ["promtool", "test", "rules", *tests],
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
