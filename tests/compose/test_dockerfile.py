"""The Vigil image: what can be proved about it without a Docker engine.

The Dockerfile is read with the ``dockerfile`` package (BuildKit's own parser),
the build context with docker-py's ``.dockerignore`` rules (what
docker-compose 1.29 sends to the engine), and the compose file's use of the
image from the file itself:

- a multi-stage build on one pinned Python base (an exact release, never a
  floating tag), ending in a non-root user;
- everything installed while building; no container runs pip when it starts;
- the build context holds what the Dockerfile copies and nothing secret.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import dockerfile
import pytest

from tests.compose.files import COMPOSE, ROOT, load_yaml

DOCKERFILE = ROOT / "Dockerfile"
PINNED_PYTHON = re.compile(r"^python:3\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?$")


def _stages() -> list[list[dockerfile.Command]]:
    stages: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(DOCKERFILE)):
        if command.cmd == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append(command)
    return stages


def test_multi_stage_build_on_one_pinned_python_base() -> None:
    stages = _stages()
    assert len(stages) >= 2
    names = {s[0].value[2].lower() for s in stages if len(s[0].value) == 3}
    bases = [s[0].value[0] for s in stages if s[0].value[0].lower() not in names]
    assert bases and all(PINNED_PYTHON.match(b) for b in bases), bases
    # the final stage runs the virtual environment built in the first: same interpreter
    assert len(set(bases)) == 1, bases


def test_the_final_stage_runs_as_a_non_root_user_and_installs_nothing() -> None:
    final = _stages()[-1]
    users = [c.value[0] for c in final if c.cmd == "USER"]
    assert users, "no USER in the final stage: the exporters would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    runs = " ".join(" ".join(c.value) for c in final if c.cmd == "RUN")
    assert "pip" not in runs and "apt-get" not in runs
    copies = [c for c in final if c.cmd == "COPY"]
    assert copies and all(any(f.startswith("--from=") for f in c.flags) for c in copies)
    assert [c.value for c in final if c.cmd == "ENTRYPOINT"] == [("vigil",)]


def test_what_the_build_copies_exists() -> None:
    for stage in _stages():
        for command in stage:
            if command.cmd == "COPY" and not command.flags:
                for source in command.value[:-1]:
                    assert (ROOT / source).exists(), source


def test_no_container_installs_anything_when_it_starts() -> None:
    services = load_yaml(COMPOSE)["services"]
    built = {name: s for name, s in services.items() if "build" in s}
    assert {"host-exporter", "http-exporter", "postgres-exporter", "sql-exporter"} <= set(built)
    for name, service in built.items():
        assert service["image"].startswith("vigil:"), name
        command = service["command"]
        assert isinstance(command, list) and command[0] in ("exporter", "incidents", "demo"), (name, command)
        assert not re.search(r"\b(pip|apt-get|install)\b", " ".join(command)), (name, command)
    for name, service in services.items():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), name


def _context(root: Path) -> set[str]:
    """The build context docker-py (docker-compose's client library) sends for ``root``."""
    python = shutil.which("python3", path="/usr/bin")
    probe = "import docker.utils.build"
    if python is None or subprocess.run([python, "-c", probe], capture_output=True).returncode:
        pytest.skip("docker-py (Debian python3-docker, installed with docker-compose) is missing: "
                    ".dockerignore was not checked by docker's own rules")
    script = ("import json, sys; from docker.utils.build import exclude_paths; "
              "root = sys.argv[1]; patterns = open(root + '/.dockerignore').read().splitlines(); "
              "print(json.dumps(sorted(exclude_paths(root, patterns, 'Dockerfile'))))")
    result = subprocess.run([python, "-c", script, str(root)], capture_output=True, text=True,
                            timeout=60, check=True)
    return set(json.loads(result.stdout))


def test_the_build_context_holds_the_sources_and_no_secret(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "README.md", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, tmp_path / name)
    files = ["generator/cli.py", "exporters/host/__init__.py", "exporters/sql/default_queries.yml",
             "secrets/smtp_password", ".venv/bin/python", ".git/config", "tests/compose/files.py",
             "generator/__pycache__/cli.cpython-312.pyc", "alert_rules/vigil.rules.yml"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    context = _context(tmp_path)
    assert {"pyproject.toml", "README.md", "generator/cli.py", "exporters/host/__init__.py",
            "exporters/sql/default_queries.yml"} <= context
    leaked = {p for p in context if p.split("/")[0] in {"secrets", ".venv", ".git", "tests"}
              or "__pycache__" in p}
    assert not leaked


# The oldest Grafana release known to load each dashboard schemaVersion the
# generator writes (version 42's migration landed in September 2025,
# grafana/grafana#110517; 12.4.0, February 2026, has it).
GRAFANA_FOR_SCHEMA = {42: (12, 4)}


def test_grafana_is_a_grafana_12_release_that_loads_the_dashboards() -> None:
    image = load_yaml(COMPOSE)["services"]["grafana"]["image"]
    match = re.fullmatch(r"grafana/grafana:(\d+)\.(\d+)\.(\d+)", image)
    assert match, image
    version = tuple(int(part) for part in match.groups())
    assert version[0] == 12
    schemas = {json.loads(p.read_text())["schemaVersion"] for p in (ROOT / "dashboards").glob("*.json")}
    for schema in schemas:
        assert schema in GRAFANA_FOR_SCHEMA, f"no known Grafana release for schemaVersion {schema}"
        assert version[:2] >= GRAFANA_FOR_SCHEMA[schema], (image, schema)


def test_the_readme_names_every_pinned_image_version() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, service in load_yaml(COMPOSE)["services"].items():
        repository, tag = service["image"].rsplit(":", 1)
        assert re.search(rf"\| `{re.escape(repository)}`[^|\n]*\| {re.escape(tag)} \|", readme), (
            f"README's image table does not give {name}'s {service['image']}")
