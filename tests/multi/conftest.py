"""Two services of one deployment (slo/examples/services/), generated together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from generator.cli import main

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted((ROOT / "slo/examples/services").glob("*.yaml"))
SCHEMA = ROOT / "slo/spec.schema.json"


@pytest.fixture
def overlay(tmp_path: Path) -> Callable[..., Path]:
    """A spec extending `base` with `changes`, written under tmp_path."""
    def write(base: Path, changes: dict, name: str | None = None) -> Path:
        path = tmp_path / (name or base.name)
        path.write_text(yaml.safe_dump({"extends": str(base), **changes}, sort_keys=False))
        return path
    return write


def generate(specs: list[Path], out: Path, tools: bool = True) -> None:
    """`vigil generate SPEC... --out OUT`, as a user runs it (with promtool's and amtool's
    loaders unless `tools` is off, where a test does not need them again)."""
    skip = [] if tools else ["--skip-tool-checks"]
    assert main(["generate", *map(str, specs), "--out", str(out), *skip]) == 0
