"""docker-compose.yml cannot be started here (no Docker engine), so check what can be
checked offline: every secret the spec references is provided, and every file the
services mount exists in the repository."""

from __future__ import annotations

from pathlib import Path

import yaml

from generator.alertmanager import secret_envs
from generator.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = ROOT / "slo" / "spec.yaml"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_referenced_secret_is_provided_from_its_variable():
    compose = _compose()
    wanted = secret_envs(load_spec(DEFAULT_SPEC))
    assert {k: v["environment"] for k, v in compose["secrets"].items()} == {
        name.lower(): name for name in wanted}
    assert sorted(compose["services"]["alertmanager"]["secrets"]) == sorted(n.lower() for n in wanted)


def test_mounted_paths_and_exporter_configs_exist():
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source}"
        command = service.get("command")
        if isinstance(command, str) and "--config" in command:
            config = command.split("--config ")[1].split()[0]
            assert (ROOT / config).exists(), f"{name}: {config}"
