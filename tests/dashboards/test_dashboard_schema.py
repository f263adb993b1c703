"""Every generated dashboard validates against Grafana's dashboard JSON Schema.

The schema is data shared by the project's sibling checkouts (../shared/schemas), read
from there and never copied; it rejects unknown keys, so legacy grafanalib output fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from generator.dashboards import BUILDERS, dashboards
from generator.dashboards.modernise import SCHEMA_VERSION
from generator.loader import load_spec

SCHEMA_PATH = Path(__file__).resolve().parents[2] / ".." / "shared" / "schemas" / \
    "grafana-dashboard.jsonschema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"Grafana dashboard schema not found at {SCHEMA_PATH.resolve()} "
                    "(it lives in ../shared/schemas beside the repository)")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def _errors(validator: jsonschema.Draft7Validator, dashboard: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(dashboard)]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_default_spec_dashboard_validates(validator, built, name):
    assert _errors(validator, built[name]) == []


@pytest.mark.parametrize("name", list(BUILDERS))
def test_schema_version_is_the_schemas_newest(validator, built, name):
    assert built[name]["schemaVersion"] == SCHEMA_VERSION
    newest = validator.schema["definitions"]["Dashboard"]["properties"]["schemaVersion"]["default"]
    assert newest == SCHEMA_VERSION


def test_schema_rejects_grafanalib_defaults(validator):
    """The schema is strict enough to catch what modernise fixes (so the test above means something)."""
    from grafanalib.core import Dashboard, Target, TimeSeries

    from generator.dashboards.modernise import to_data

    raw = to_data(Dashboard(title="x", uid="x", panels=[TimeSeries(title="t", targets=[
        Target(expr="up", refId="A")])]))
    messages = " ".join(_errors(validator, raw))
    assert "Additional properties are not allowed" in messages


def test_custom_and_variant_specs_validate(validator, write_spec):
    def change(data):
        data["name"] = "staging"
        data["selectors"] = {"environment": "staging", "region": "eu"}
        data["signals"]["queue_depth"] = {
            "expr": "max by (instance) (app_queue_depth{$sel})", "unit": "count",
            "exporter": "http", "dashboard": "application", "warning": 100, "critical": 500,
        }
    spec = load_spec(write_spec(change))
    for name, dashboard in dashboards(spec).items():
        assert _errors(validator, dashboard) == [], name
