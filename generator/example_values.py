"""Warnings for links a spec still takes from the shipped example.

`runbook_url` and `grafana_url` end up in every alert's annotations, so a page at
3 a.m. that links to `runbooks.example.com` or to someone's `localhost:3000` sends
the person woken up nowhere. They are valid URLs, so they are not errors: `vigil
generate` and `vigil check` warn (`file:line: path: warning: ...`) and go on. The
line is found in whichever file of the `extends` chain sets the value (or leaves it
to the default), so the editor jumps to the line to change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from generator import inputs, locate
from generator.model import Spec
from generator.spec_schema import EXAMPLE_URLS

MAX_CHAIN = 32  # `extends` levels followed; the loader has already refused cycles


def warnings(spec_path: Path, spec: Spec) -> list[str]:
    """One line per link of `spec` that is still its example value."""
    used = {"grafana_url": spec.grafana_url, "runbook_url": spec.runbook_url}
    found = []
    for key, example in EXAMPLE_URLS.items():
        if used[key].rstrip("/") != example.rstrip("/"):
            continue
        source, line = _origin(Path(spec_path), key)
        where = f"{source}:{line}" if line else str(source)
        state = "still the example value" if line else "not set; the default is the example"
        found.append(f"{where}: {key}: warning: {state} {example!r}; every alert links to it "
                     f"(set {key} to your own)")
    return found


def _origin(path: Path, key: str) -> tuple[Path, int | None]:
    """The file (and line) of the `extends` chain that sets `key`; the last file if none does."""
    for _ in range(MAX_CHAIN):
        text, data = _read(path)
        if isinstance(data, dict) and key in data:
            return path, locate.line_of(locate.lines(text), key)
        if not isinstance(data, dict) or not isinstance(data.get("extends"), str):
            return path, None
        path = Path(os.path.normpath(path.parent / data["extends"]))
    return path, None


def _read(path: Path) -> tuple[str, Any]:
    try:
        text = inputs.read_text(path)
        return text, inputs.load_yaml(text)
    except (inputs.InputError, yaml.YAMLError):
        return "", None
