"""The JSON Schema comes from the same model, and `extends` lets specs share a plan."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from generator.commands import render, schema_text
from generator.loader import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT / "slo" / "spec.yaml"


def test_committed_schema_is_current():
    assert (ROOT / "slo/spec.schema.json").read_text() == schema_text()


def test_default_spec_points_at_its_schema():
    assert DEFAULT_SPEC.read_text().startswith("# yaml-language-server: $schema=spec.schema.json")


def test_schema_accepts_the_default_spec_and_rejects_an_unknown_key(default_spec_data):
    schema = json.loads(schema_text())
    jsonschema.validate(default_spec_data, schema)
    broken = {**default_spec_data, "thresholds": {}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    secret_inline = json.loads(json.dumps(default_spec_data))
    secret_inline["receivers"]["finance_team"] = {"pagerduty": {"routing_key": "abc"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(secret_inline, schema)


def test_extends_overrides_only_what_differs(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(DEFAULT_SPEC.read_text())
    staging = tmp_path / "staging.yaml"
    staging.write_text(yaml.safe_dump({
        "extends": "base.yaml",
        "name": "staging",
        "selectors": {"environment": "staging"},
        "signals": {"cpu_usage": {"warning": "90%"}, "throughput": None},
    }))
    spec = load_spec(staging)
    assert spec.name == "staging"
    assert spec.selectors == {"environment": "staging"}
    assert spec.signals["cpu_usage"].thresholds[0].value == 0.9
    assert "throughput" not in spec.signals
    memory = {t.severity: t.value for t in spec.signals["memory_usage"].thresholds}
    assert memory["warning"] == 0.85  # inherited
    files = render(spec)
    rules = files["alert_rules/vigil.rules.yml"]
    assert 'vigil:cpu_usage{environment="staging"} > 0.9' in rules
    assert "staging.signal.cpu_usage" in rules


def test_extends_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nversion: 1\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nversion: 1\n")
    with pytest.raises(SpecError, match="extends itself in a cycle"):
        load_spec(tmp_path / "a.yaml")
