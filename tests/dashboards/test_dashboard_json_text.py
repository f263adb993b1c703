"""Dashboard files are written by orjson where it writes the same bytes as the json module.

The committed dashboards were written with `json.dumps(indent=2, sort_keys=True,
ensure_ascii=False)`; `render_json` must keep writing exactly that text for any data a
dashboard can hold, including the numbers orjson formats differently (small floats) and
the data it refuses (integers over 64 bits).
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.dashboards import render_json

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from([1e-05, -3.5e-07, 0.0001, 1e16, 1e22, 0.1, 100.0, -0.0]))
data = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=15)


def _expected(value):
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), data, max_size=5))
def test_same_text_as_the_json_module(value):
    assert render_json(value) == _expected(value)


def test_small_floats_and_big_integers_keep_the_json_modules_form():
    value = {"ratio": 1e-05, "tiny": [2.5e-09], "count": 2**65, "text": "vigil-host é \u2028"}
    assert render_json(value) == _expected(value)
    assert '"ratio": 1e-05' in render_json(value)
