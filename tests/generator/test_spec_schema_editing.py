"""What an editor shows from slo/spec.schema.json agrees with what `vigil` says.

Every shipped spec (overlays with `extends` included) validates with no error; each
common mistake is flagged at its path, and the loader refuses the same mistake, so
the schema neither misses it nor invents one. Every example the schema offers is
right for its own field. (That the committed file is what `vigil schema` writes is
test_schema_and_extends.py's and `vigil check`'s.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import catalogue, schema_dsl, spec_schema, thresholds, units
from generator.commands import schema_text
from generator.loader import SpecError, load_spec
from tests.generator.conftest import DEFAULT_SPEC, ROOT

SHIPPED = [DEFAULT_SPEC, *sorted((ROOT / "slo/examples").rglob("*.yaml"))]
STAGING = ROOT / "slo/examples/staging.yaml"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "slo/spec.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Every error as (path, message), the deepest of each branch an editor shows."""
    found = []
    for error in validator.iter_errors(data):
        leaf = jsonschema.exceptions.best_match([error])
        found.append((tuple(leaf.absolute_path), leaf.message))
    return found


@pytest.mark.parametrize("spec", SHIPPED, ids=[p.relative_to(ROOT).as_posix() for p in SHIPPED])
def test_every_shipped_spec_validates(validator, spec):
    data = yaml.safe_load(spec.read_text())
    assert _errors(validator, data) == []
    load_spec(spec)  # and vigil agrees


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return change


# (what, change, path of the error, text the editor's message holds)
MISTAKES = [
    ("misspelt signal", _set("signals.cpu_usge", {"warning": "90%"}),
     ("signals", "cpu_usge"), "'expr' is a required property"),
    ("misspelt severity key", _set("signals.cpu_usage.warnign", "90%"),
     ("signals", "cpu_usage"), "warnign"),
    ("duration on a ratio", _set("signals.cpu_usage.warning", "100ms"),
     ("signals", "cpu_usage", "warning"), "100ms"),
    ("duration in words", _set("slos.availability.period", "30 days"),
     ("slos", "availability", "period"), "30 days"),
    ("ratio that is a duration", _set("slos.availability.objective", "100ms"),
     ("slos", "availability", "objective"), "100ms"),
    ("rate in words", _set("slos.availability.min_rate", "5 per minute"),
     ("slos", "availability", "min_rate"), "5 per minute"),
    ("percentage on a latency", _set("signals.response_time.warning", "80%"),
     ("signals", "response_time", "warning"), "80%"),
    ("count that is a rate", _set("signals.deadlocks.critical", "often"),
     ("signals", "deadlocks", "critical"), "often"),
    ("misspelt severity value", _set("monitoring.severity", "warnign"),
     ("monitoring", "severity"), "warnign"),
    ("severity outside the names", _set("severities.sev1", {"priority": "P1", "channels": ["email"],
                                                            "recipients": ["cto"]}),
     ("severities",), "sev1"),
    ("custom-only key on a catalogue signal", _set("signals.cpu_usage.unit", "seconds"),
     ("signals", "cpu_usage"), "unit"),
    ("custom signal without a unit", _set("signals.queue_depth", {"expr": "sum(q{$sel})"}),
     ("signals", "queue_depth"), "'unit' is a required property"),
    ("custom signal's threshold in another unit",
     _set("signals.queue_depth", {"expr": "sum(q{$sel})", "unit": "count", "warning": "5m"}),
     ("signals", "queue_depth", "warning"), "5m"),
]


@pytest.mark.parametrize("what, change, path, text", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_flagged_where_it_is_and_vigil_refuses_it(validator, write_spec,
                                                                default_spec_data, what, change,
                                                                path, text):
    data = copy.deepcopy(default_spec_data)
    change(data)
    errors = _errors(validator, data)
    assert any(p == path and text in message for p, message in errors), errors
    with pytest.raises(SpecError):
        load_spec(write_spec(change))


OVERLAY_MISTAKES = [m for m in MISTAKES if m[0] in {
    "misspelt severity key", "duration on a ratio", "duration in words",
    "ratio that is a duration", "misspelt severity value", "severity outside the names"}]


@pytest.mark.parametrize("what, change, path, text", OVERLAY_MISTAKES,
                         ids=[m[0] for m in OVERLAY_MISTAKES])
def test_an_overlay_is_checked_too(validator, tmp_path, what, change, path, text):
    data = yaml.safe_load(STAGING.read_text())
    change(data)
    errors = _errors(validator, data)
    assert any(p == path and text in message for p, message in errors), errors
    overlay = tmp_path / "staging.yaml"
    overlay.write_text(yaml.safe_dump({**data, "extends": str(DEFAULT_SPEC)}))
    with pytest.raises(SpecError):
        load_spec(overlay)


def test_an_overlay_may_leave_out_and_remove_what_its_base_has(validator):
    overlay = {"extends": "../spec.yaml", "severities": {"critical": {"channels": ["slack"]}},
               "slos": {"availability": {"objective": "99%"}}, "signals": {"throughput": None},
               "email": None}
    assert _errors(validator, overlay) == []
    # the same keys in a spec of its own are missing and wrong
    whole = {k: v for k, v in overlay.items() if k != "extends"}
    paths = {p for p, _ in _errors(validator, whole)}
    assert {(), ("severities", "critical"), ("slos", "availability")} <= paths


def test_a_custom_signal_with_expr_and_unit_is_not_flagged(validator, default_spec_data):
    data = copy.deepcopy(default_spec_data)
    data["signals"]["queue_depth"] = {"expr": "sum(queue_messages_ready{$sel})", "unit": "count",
                                      "warning": 1000, "critical": "> 5000"}
    data["signals"]["cpu_usage"] = {"expr": "max(my_cpu{$sel})", "unit": "ratio",
                                    "warning": "70%"}
    assert _errors(validator, data) == []


def _nodes(node: schema_dsl.Node, path: str = "") -> Iterator[tuple[str, schema_dsl.Node]]:
    """Every node of the DSL tree with a readable path, each shared node once per use."""
    yield path, node
    for name in ("item", "value", "node", "schema", "then", "otherwise", "extra"):
        child = getattr(node, name, None)
        if isinstance(child, schema_dsl.Node):
            yield from _nodes(child, f"{path}/{name}")
    for name in ("fields", "known"):
        for key, child in (getattr(node, name, None) or {}).items():
            yield from _nodes(child, schema_dsl.join(path, key))


def test_every_example_is_right_for_its_field():
    quantities = [(p, n) for p, n in _nodes(spec_schema.SPEC_BODY)
                  if isinstance(n, schema_dsl.Quantity)]
    assert len(quantities) > 30
    for path, node in quantities:
        problems: list[schema_dsl.Problem] = []
        node.check(node.example, path, problems)
        assert problems == [], (path, node.example)
        schema = node.json_schema()
        jsonschema.validate(node.example, schema)
    budget = spec_schema.SLO.fields["windows"].item.fields["budget"]
    objective = spec_schema.SLO.fields["objective"]
    assert budget.example != objective.example  # 2% of the budget, not a 99.9% objective
    durations = {n.example for _, n in quantities if n.parse.__name__ == "parse_duration"}
    assert len(durations) > 5  # each field's own, not one "5m" for all


def test_every_threshold_example_reads_as_its_unit():
    schema = json.loads(schema_text())
    for name, definition in schema["$defs"].items():
        if name.startswith("threshold-") and "-keys" not in name:
            for example in definition["examples"]:
                jsonschema.validate(example, definition)


_PIECES = st.sampled_from(["", " ", "<", ">", ">=", "<= ", "%", "ms", "s", "m", "h", "d", "w",
                           "y", "/", "/s", "/h", " req/m", "below average", " ", "any",
                           "ANY Increase", "e", ".", "-", "+", "5", "0.5", "12", "1h30m"])
_RAW = st.one_of(st.lists(st.one_of(_PIECES, st.integers(0, 999).map(str)), max_size=5)
                 .map("".join),
                 st.integers(-5, 5000), st.floats(-10, 1e6, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(unit=st.sampled_from(sorted(catalogue.UNIT_KINDS)), raw=_RAW, signed=st.booleans())
def test_the_schema_reads_every_threshold_the_loader_reads(unit, raw, signed):
    """An editor never flags a threshold vigil takes (it may let through one vigil
    refuses by value, such as `0%`, which vigil then explains)."""
    try:
        thresholds.parse_threshold(raw, unit, ">", "warning", signed)
    except units.UnitError:
        return
    jsonschema.validate(raw, {"anyOf": list(thresholds.json_forms(unit, signed))})


@settings(max_examples=100, deadline=None)
@given(raw=st.lists(_PIECES, max_size=4).map("".join))
def test_the_schema_reads_every_duration_percentage_and_rate_the_loader_reads(raw):
    for parse, pattern in ((units.parse_duration, units.DURATION_PATTERN),
                           (units.parse_percent, units.PERCENT_PATTERN),
                           (units.parse_rate, units.RATE_PATTERN)):
        try:
            parse(raw)
        except units.UnitError:
            continue
        schema = {"type": "string", "pattern": schema_dsl.anchored(rf"\s*{pattern}\s*")}
        jsonschema.validate(raw, schema)
