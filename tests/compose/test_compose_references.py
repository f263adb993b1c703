"""Every name a configuration reads is provided by docker-compose.yml, under that name.

docker-compose.yml cannot be started here (no Docker engine), and it once
shipped a sql exporter that read ``VIGIL_SQL_PASSWORD`` while Compose gave it
``VIGIL_PG_PASSWORD``. These tests follow each reference from the file that
makes it to what Compose provides:

- an exporter config's ``{env: NAME}``: the service sets ``NAME``, or sets
  ``NAME_FILE`` to ``/run/secrets/<s>`` and mounts secret ``s``;
- an exporter config's ``{file: PATH}`` and Alertmanager's ``*_file:`` paths
  under ``/run/secrets/``: the service mounts that secret;
- every ``/run/secrets/<s>`` an environment variable or init script names;
- every secret a service mounts is defined, and every defined one is used;
- DSNs, probe URLs and TCP targets name Compose services, and the database
  roles they log in as are the ones the demo database creates.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from generator.alertmanager import secret_envs
from generator.loader import load_spec
from tests.compose.files import COMPOSE, OVERRIDES, ROOT, load_yaml

DEFAULT_SPEC = ROOT / "slo" / "spec.yaml"
SECRET_PATH = re.compile(r"/run/secrets\}?/([A-Za-z0-9_.-]+)")
EXPORTERS = ("host-exporter", "http-exporter", "postgres-exporter", "sql-exporter")


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """``{container path: source}`` of the service's bind mounts and volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume["source"]
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    return mounts


def _config_file(service: dict[str, Any]) -> Path:
    """The repository file mounted where the service's ``--config`` points."""
    command = service["command"]
    assert isinstance(command, list), "exporter commands are lists, not shell strings"
    inside = command[command.index("--config") + 1]
    source = _bind_mounts(service)[inside]
    assert source.startswith("./"), source
    return ROOT / source


def _references(node: Any) -> tuple[set[str], set[str]]:
    """``({env: NAME} names, {file: PATH} paths)`` anywhere in a config."""
    envs: set[str] = set()
    files: set[str] = set()
    if isinstance(node, dict):
        if len(node) == 1 and set(node) <= {"env", "file"} and isinstance(next(iter(node.values())), str):
            (kind, ref), = node.items()
            (envs if kind == "env" else files).add(ref)
        for value in node.values():
            e, f = _references(value)
            envs |= e
            files |= f
    elif isinstance(node, list):
        for value in node:
            e, f = _references(value)
            envs |= e
            files |= f
    return envs, files


def _secret_of(path: str) -> str | None:
    match = SECRET_PATH.fullmatch(path) if path.startswith("/run/secrets/") else None
    return match.group(1) if match else None


def _provides_env(service: dict[str, Any], name: str) -> bool:
    env = _environment(service)
    if name in env:
        return True
    secret = _secret_of(env.get(f"{name}_FILE", ""))
    return secret is not None and secret in service.get("secrets", [])


@pytest.mark.parametrize("name", EXPORTERS)
def test_every_secret_an_exporter_config_reads_is_provided(compose: dict, name: str) -> None:
    service = _services(compose)[name]
    envs, files = _references(load_yaml(_config_file(service)))
    missing = [env for env in sorted(envs) if not _provides_env(service, env)]
    assert not missing, (f"{name}: its config reads {missing} ({{env: NAME}}); the service sets "
                         f"neither NAME nor NAME_FILE=/run/secrets/<a secret it mounts>")
    for path in files:
        assert _secret_of(path) in service.get("secrets", []), f"{name}: {path} is not mounted"


def test_the_exporters_need_every_credential_they_read() -> None:
    """The cross-check above must see the references it checks (it cannot pass on nothing)."""
    seen = set()
    for name in ("http", "postgres", "sql"):
        envs, _ = _references(load_yaml(ROOT / "deploy" / "compose" / "exporters" / f"{name}.yml"))
        seen |= envs
    assert seen == {"PAYMENTS_PROBE_TOKEN", "VIGIL_PG_PASSWORD", "VIGIL_SQL_PASSWORD"}


def test_alertmanager_mounts_every_secret_its_config_reads(compose: dict) -> None:
    text = (ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text()
    wanted = set(SECRET_PATH.findall(text))
    assert wanted, "the generated Alertmanager config reads no /run/secrets file"
    assert wanted <= set(_services(compose)["alertmanager"]["secrets"])


def test_every_secret_the_spec_references_is_provided(compose: dict) -> None:
    wanted = {name.lower() for name in secret_envs(load_spec(DEFAULT_SPEC))}
    assert wanted <= set(compose["secrets"])
    assert wanted <= set(_services(compose)["alertmanager"]["secrets"])


@pytest.mark.parametrize("path", [COMPOSE, *OVERRIDES], ids=lambda p: p.name)
def test_secret_paths_in_environments_and_init_scripts_are_mounted(path: Path, compose: dict) -> None:
    data = load_yaml(path)
    for name, service in (data.get("services") or {}).items():
        mounted = set(service.get("secrets", [])) | set(
            _services(compose).get(name, {}).get("secrets", []))
        named = {s for value in _environment(service).values() for s in SECRET_PATH.findall(value)}
        for target, source in _bind_mounts(service).items():
            script = ROOT / source
            if source.startswith("./") and script.is_file() and target.endswith(".sh"):
                named |= set(SECRET_PATH.findall(script.read_text()))
        assert named <= mounted, f"{path.name}: {name} reads {sorted(named - mounted)}"


@pytest.mark.parametrize("path", [COMPOSE, *OVERRIDES], ids=lambda p: p.name)
def test_secrets_are_files_defined_and_used(path: Path, compose: dict) -> None:
    data = load_yaml(path)
    defined = dict(compose["secrets"]) | dict(data.get("secrets") or {})
    used = {s for service in (data.get("services") or {}).values() for s in service.get("secrets", [])}
    assert used <= set(defined), sorted(used - set(defined))
    for name, secret in (data.get("secrets") or {}).items():
        assert set(secret) == {"file"}, f"{name}: only file secrets work in docker-compose 1.29"
        assert secret["file"] == f"./secrets/{name}", secret
    if path == COMPOSE:
        assert used == set(defined), f"defined but never mounted: {sorted(set(defined) - used)}"


def _hosts(config: dict[str, Any]) -> set[str]:
    """Every host an exporter config connects to: DSN hosts, probe URLs, TCP targets."""
    hosts = set()
    if "dsn" in config:
        hosts.add(dict(part.split("=", 1) for part in config["dsn"].split())["host"])
    hosts |= {urlsplit(probe["url"]).hostname for probe in config.get("probes", [])}
    hosts |= {target["address"].rsplit(":", 1)[0] for target in config.get("tcp_targets", [])}
    return hosts


@pytest.mark.parametrize("name", EXPORTERS)
def test_exporters_connect_to_compose_services(compose: dict, name: str) -> None:
    config = load_yaml(_config_file(_services(compose)[name]))
    hosts = _hosts(config)
    if name != "host-exporter":
        assert hosts, f"{name}: nothing to connect to"
    assert hosts <= set(_services(compose)), f"{name}: {sorted(hosts - set(_services(compose)))}"
    assert "127.0.0.1" not in str(config) and "localhost" not in str(config)


def test_the_exporters_roles_are_the_ones_the_demo_database_creates(compose: dict) -> None:
    script = (ROOT / "deploy" / "compose" / "postgres" / "initdb-roles.sh").read_text()
    created = set(re.findall(r"CREATE ROLE (\w+) LOGIN", script))
    for name in ("postgres-exporter", "sql-exporter"):
        dsn = load_yaml(_config_file(_services(compose)[name]))["dsn"]
        user = dict(part.split("=", 1) for part in dsn.split())["user"]
        assert user in created, f"{name} logs in as {user}; the demo creates {sorted(created)}"


def test_mounted_paths_exist(compose: dict) -> None:
    for path in [COMPOSE, *OVERRIDES]:
        for name, service in (load_yaml(path).get("services") or {}).items():
            for source in _bind_mounts(service).values():
                if source.startswith("./"):
                    assert (ROOT / source).exists(), f"{path.name}: {name}: {source}"
