"""docker-compose.yml and each override, as real consumers read them.

- Debian's ``docker-compose`` 1.29 (``config``) accepts the file alone, with
  the demo profile, and with each override, from a clean environment (no
  variable left unset);
- the Compose Specification's JSON Schema (what Docker Compose v2 implements)
  accepts each file as written and each merged result;
- the remote-write override's Prometheus configuration passes the real
  ``promtool check config``, rules included;
- ``deploy/compose/make-secrets.sh`` creates every secret file they name;
- ``vigil check`` does not take ``deploy/compose/`` (written by hand) for
  stale generated output.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from generator.commands import MANAGED_DIRS, render
from generator.loader import load_spec
from generator.output import drift
from tests.compose.files import COMPOSE, OVERRIDES, ROOT, load_yaml

OVERRIDE_IDS = [p.stem for p in OVERRIDES]


def _merged(compose_config, files: list[Path], *args: str,
            env: dict[str, str] | None = None) -> dict[str, Any]:
    result = compose_config(files, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert "is not set" not in result.stderr, result.stderr  # every variable has a default
    return yaml.safe_load(result.stdout)


def test_docker_compose_accepts_the_file(compose_config) -> None:
    merged = _merged(compose_config, [COMPOSE])
    assert {"prometheus", "alertmanager", "grafana", "host-exporter", "http-exporter",
            "postgres-exporter", "sql-exporter"} <= set(merged["services"])
    # secrets resolve to files in the repository's secrets/ directory
    assert {Path(s["file"]).parent for s in merged["secrets"].values()} == {ROOT / "secrets"}


def test_the_demo_profile_adds_the_shop_database_and_the_workload(compose_config) -> None:
    services = load_yaml(COMPOSE)["services"]
    profiled = {name for name, service in services.items() if service.get("profiles")}
    assert profiled == {"postgres", "workload"}  # everything else starts without a profile
    assert all(services[name]["profiles"] == ["demo"] for name in profiled)
    merged = _merged(compose_config, [COMPOSE], env={"COMPOSE_PROFILES": "demo"})
    workload = merged["services"]["workload"]
    assert workload["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "pg_isready" in merged["services"]["postgres"]["healthcheck"]["test"]
    # the workload writes the access log the http exporter reads, through one volume
    http_mounts = {v.split(":")[0]: v for v in merged["services"]["http-exporter"]["volumes"]}
    workload_mounts = {v.split(":")[0]: v for v in workload["volumes"]}
    assert http_mounts["shop-logs"].endswith(":ro") and "shop-logs" in workload_mounts
    access_log = load_yaml(ROOT / "deploy" / "compose" / "exporters" / "http.yml")["access_logs"][0]
    assert access_log["path"] in " ".join(workload["command"])


@pytest.mark.parametrize("override", OVERRIDES, ids=OVERRIDE_IDS)
def test_docker_compose_accepts_each_override(compose_config, override: Path) -> None:
    merged = _merged(compose_config, [COMPOSE, override])
    services = merged["services"]
    if override.stem == "exporters-only":
        started = {n for n, s in services.items() if not s.get("profiles")}
        assert started == {"host-exporter", "http-exporter", "postgres-exporter", "sql-exporter"}
        assert services["host-exporter"]["ports"] == ["127.0.0.1:9731:9731/tcp"]
    if override.stem == "existing-prometheus-grafana":
        started = {n for n, s in services.items() if not s.get("profiles")}
        assert "prometheus" not in started and "grafana" not in started
        assert "existing" in services["alertmanager"]["networks"]
        assert merged["networks"]["existing"]["external"] is True
    if override.stem == "remote-write":
        prometheus = services["prometheus"]
        assert "remote_write_password" in {s["source"] for s in prometheus["secrets"]}
        # the override adds its file to the generated configuration's mounts
        targets = {v.split(":")[1] for v in prometheus["volumes"]}
        assert {"/etc/vigil/deploy/prometheus", "/etc/vigil/alert_rules",
                "/etc/vigil/remote-write.yml"} <= targets


@pytest.mark.parametrize("path", [COMPOSE, *OVERRIDES], ids=["docker-compose", *OVERRIDE_IDS])
def test_each_file_as_written_matches_the_compose_specification(compose_schema, path: Path) -> None:
    errors = sorted(jsonschema.Draft7Validator(compose_schema).iter_errors(load_yaml(path)),
                    key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{path.name}: {e.json_path}: {e.message}" for e in errors)


@pytest.mark.parametrize("override", [None, *OVERRIDES], ids=["alone", *OVERRIDE_IDS])
def test_each_merged_result_matches_the_compose_specification(
        compose_config, compose_schema, override: Path | None) -> None:
    merged = _merged(compose_config, [COMPOSE] + ([override] if override else []))
    errors = list(jsonschema.Draft7Validator(compose_schema).iter_errors(merged))
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_the_remote_write_configuration_passes_promtool(tmp_path: Path) -> None:
    """What the override's Prometheus runs: the generated file plus remote_write, concatenated."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    # The container's layout: /etc/vigil/{alert_rules,deploy/prometheus-remote-write}.
    shutil.copytree(ROOT / "alert_rules", tmp_path / "alert_rules")
    target = tmp_path / "deploy" / "prometheus-remote-write" / "prometheus.yml"
    target.parent.mkdir(parents=True)
    fragment = ROOT / "deploy" / "compose" / "prometheus" / "remote-write.yml"
    target.write_text((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
                      + fragment.read_text())
    # promtool checks that password_file exists: stand one in at a scratch path
    password = tmp_path / "remote_write_password"
    password.write_text("x")
    target.write_text(target.read_text().replace("/run/secrets/remote_write_password", str(password)))
    result = subprocess.run([promtool, "check", "config", str(target)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    config = yaml.safe_load(target.read_text())
    assert config["remote_write"][0]["url"].endswith("/api/v1/write")
    assert config["scrape_configs"] and config["rule_files"]  # nothing of the generated file lost


def test_make_secrets_creates_every_secret_file_once(tmp_path: Path) -> None:
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    override = tmp_path / "remote-write.yml"
    shutil.copy(ROOT / "deploy" / "compose" / "remote-write.yml", override)
    script = ROOT / "deploy" / "compose" / "make-secrets.sh"
    run = [str(script), str(tmp_path / "docker-compose.yml"), str(override)]
    first = subprocess.run(run, capture_output=True, text=True, timeout=30, check=True)
    wanted = set(load_yaml(COMPOSE)["secrets"]) | set(load_yaml(override)["secrets"])
    secrets_dir = tmp_path / "secrets"
    assert {p.name for p in secrets_dir.iterdir()} == wanted
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    values = {p.name: p.read_text() for p in secrets_dir.iterdir()}
    assert all(len(v) >= 20 for v in values.values()) and len(set(values.values())) == len(values)
    assert not any(v in first.stdout + first.stderr for v in values.values())  # never printed
    (secrets_dir / "smtp_password").write_text("kept")
    subprocess.run(run, capture_output=True, text=True, timeout=30, check=True)
    assert (secrets_dir / "smtp_password").read_text() == "kept"


def test_vigil_check_leaves_the_hand_written_compose_files_alone() -> None:
    """deploy/compose/ is not generated: it must never be reported as stale output."""
    assert not any("deploy/compose".startswith(d) or d.startswith("deploy/compose")
                   for d in MANAGED_DIRS)
    files = render(load_spec(ROOT / "slo" / "spec.yaml"))
    assert not [f for f in files if f.startswith("deploy/compose/")]
    assert not [p for p in drift(ROOT, files, MANAGED_DIRS) if "deploy/compose" in p]
