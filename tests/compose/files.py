"""Where the compose bundle's files are, for the tests in this directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# The overrides, one per way of deploying next to an existing stack.
OVERRIDES = sorted((ROOT / "deploy" / "compose").glob("*.yml"))
COMPOSE_SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec" / "compose-spec.json"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
