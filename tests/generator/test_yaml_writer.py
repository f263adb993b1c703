"""The generated files' YAML writer reads back as exactly the data it was given."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import yaml_writer

scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=False) | st.text(max_size=30))
data = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=10), children, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(data)
def test_round_trips_through_safe_load(value):
    assert yaml.safe_load(yaml_writer.dump(value)) == value


@pytest.mark.parametrize(("value", "text"), [
    ({"groups": [{"name": "a", "rules": [{"record": "x", "expr": "sum(y{job=\"j\"})"}]}]},
     'groups:\n- name: a\n  rules:\n  - record: x\n    expr: sum(y{job="j"})\n'),
    ({"for": "5m", "labels": {}}, "for: 5m\nlabels: {}\n"),
    ({"v": "0.8", "w": 0.8, "t": "true", "c": "a: b", "h": "#x", "n": None},
     'v: "0.8"\nw: 0.8\nt: "true"\nc: "a: b"\nh: "#x"\nn: null\n'),
    ({"e": 1e-05, "list": [[1, 2]]}, "e: 1.0e-05\nlist:\n- - 1\n  - 2\n"),
    ({"text": "line one\nline two"}, 'text: "line one\\nline two"\n'),
])
def test_layout(value, text):
    assert yaml_writer.dump(value) == text
