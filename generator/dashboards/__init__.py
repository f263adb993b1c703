"""Grafana dashboards and provisioning from the spec: `outputs(spec)` is the entry point.

Dashboards are built with grafanalib, one module per dashboard (overview.py,
infrastructure.py, application.py, database.py, business.py, slo.py,
capacity.py) over one factory
per panel kind (panels/), and corrected into current dashboard JSON by modernise.py.
Nothing here writes files: `vigil generate` writes what `outputs` returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from generator.dashboards import (
    application,
    business,
    capacity,
    database,
    infrastructure,
    overview,
    provisioning,
    slo,
)
from generator.dashboards.navigation import present
from generator.model import Spec

BUILDERS: dict[str, Callable[[Spec], dict[str, Any]]] = {
    "overview": overview.dashboard,
    "infrastructure": infrastructure.dashboard,
    "application": application.dashboard,
    "database": database.dashboard,
    "business": business.dashboard,
    "slo": slo.dashboard,
    "capacity": capacity.dashboard,
}


def dashboard_path(name: str) -> str:
    return f"dashboards/{name}.json"


# orjson writes floats below 1e-4 as `0.00001` or `1e-6` where Python writes `1e-05`,
# `1e-06`: output that holds either form is written by the json module instead. (The
# literal comes first in the pattern so that the search skips ahead; a stray match in
# a string only costs the slower path.)
_SMALL_FLOAT = b"0.0000"
_NEGATIVE_EXPONENT = re.compile(rb"e-\d(?<=\de-\d)")


def render_json(data: dict[str, Any]) -> str:
    """Indented, key-sorted dashboard JSON, the same bytes as `json.dumps(..., indent=2)`.

    Why orjson: with `indent` the json module uses its pure-Python encoder, which took
    most of the dashboards' time on a large spec (bench/generator_bench.py). Data orjson
    cannot write as Python would (integers over 64 bits, non-string keys, small floats)
    goes through the json module. (orjson writes NaN as null; no NaN reaches a dashboard:
    the spec's numbers are refused when not finite, generator/units.py.)
    """
    try:
        text: bytes | None = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        text = None
    if text is None or _SMALL_FLOAT in text or _NEGATIVE_EXPONENT.search(text):
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.decode() + "\n"


def dashboards(spec: Spec) -> dict[str, dict[str, Any]]:
    """Each dashboard's JSON data by name, before serialisation (for tests and tools); only
    those the spec has something to show on (navigation.present)."""
    return {name: BUILDERS[name](spec) for name in present(spec)}


def outputs(spec: Spec) -> dict[str, str]:
    files = {dashboard_path(name): render_json(data) for name, data in dashboards(spec).items()}
    files[provisioning.DATASOURCES_FILE] = provisioning.datasources(spec)
    files[provisioning.DASHBOARDS_FILE] = provisioning.dashboards(spec)
    return dict(sorted(files.items()))
