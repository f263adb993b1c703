"""Property: rules generated from any valid spec pass `promtool check rules`.

Hypothesis builds specs from the catalogue (any subset of signals, thresholds of the
right unit in a consistent order, any selectors, SLOs with any objective and windows)
and custom signals with raw PromQL.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import catalogue
from generator.loader import load_spec
from generator.output import write_atomically
from generator.rules import outputs as rule_outputs

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")

SEVERITIES = {
    "critical": {"priority": "P0", "channels": ["webhook"], "recipients": ["ops"]},
    "warning": {"priority": "P2", "channels": ["webhook"], "recipients": ["ops"]},
    "info": {"priority": "P3", "channels": ["webhook"], "recipients": ["ops"]},
}
ORDER = ["info", "warning", "critical"]  # mildest first

_UNIT_TEXT = {
    "ratio": lambda v: f"{v}%",
    "seconds": lambda v: f"{v}s",
    "per_second": lambda v: f"{v}/s",
    "events": lambda v: f"{v}/h",
    "count": str, "score": str, "currency": str, "bytes": str,
}


@st.composite
def signal_entry(draw, unit: str, direction: str) -> dict:
    count = draw(st.integers(1, 3))
    severities = sorted(draw(st.lists(st.sampled_from(ORDER), min_size=count, max_size=count,
                                      unique=True)), key=ORDER.index)
    values = sorted(draw(st.lists(st.integers(1, 99), min_size=len(severities),
                                  max_size=len(severities), unique=True)))
    if direction == "<":
        values.reverse()
    entry = {sev: _UNIT_TEXT[unit](v) for sev, v in zip(severities, values, strict=True)}
    if draw(st.booleans()) and unit != "events":
        entry = {severities[0]: f"{values[0]}% below average"}
    entry["for"] = draw(st.sampled_from(["0s", "1m", "5m", "1h"]))
    return entry


@st.composite
def specs(draw) -> dict:
    names = draw(st.lists(st.sampled_from(sorted(catalogue.BUILTIN)), min_size=1, max_size=8,
                          unique=True))
    signals = {}
    for name in names:
        definition = catalogue.BUILTIN[name]
        signals[name] = draw(signal_entry(definition.unit, definition.direction))
    if draw(st.booleans()):
        signals["custom_queue"] = {"expr": "sum(queue_depth{$sel})", "unit": "count",
                                   "warning": str(draw(st.integers(1, 10_000)))}
    label = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True)
    selectors = draw(st.dictionaries(label.filter(lambda k: k not in {"job", "instance", "slo",
                                                                       "window", "le"}),
                                     st.from_regex(r'[a-zA-Z0-9 _."\\-]{1,10}', fullmatch=True),
                                     max_size=2))
    spec = {
        "version": 1,
        "name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)),
        "selectors": selectors,
        "severities": SEVERITIES,
        "receivers": {"ops": {"webhook": {"url": "http://localhost:9/hook"}}},
        "signals": signals,
    }
    if draw(st.booleans()):
        objective = draw(st.sampled_from(["99%", "99.5%", "99.9%", "99.99%"]))
        spec["slos"] = {"api": {
            "objective": objective,
            "period": draw(st.sampled_from(["7d", "28d", "30d"])),
            "sli": {"error": 'sum(rate(errors_total{$sel}[$window]))',
                    "total": "sum(rate(requests_total{$sel}[$window]))"},
            "windows": [{"long": "1h", "short": "5m", "budget": "2%", "severity": "critical"},
                        {"long": "1d", "short": "2h", "budget": "10%", "severity": "warning"}],
            "min_rate": "1/m",
        }}
    return spec


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs())
def test_rules_from_any_valid_spec_pass_promtool(tmp_path_factory, data):
    root: Path = tmp_path_factory.mktemp("prop")
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    spec = load_spec(path)
    files = rule_outputs(spec)
    write_atomically(root, files)
    result = subprocess.run(["promtool", "check", "rules", "alert_rules/vigil.rules.yml"],
                            cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr + yaml.safe_dump(data)
