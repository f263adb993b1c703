"""The compose bundle as its consumers see it.

No Docker engine runs here, so everything is checked offline, by real
consumers where one exists: Debian's ``docker-compose`` (v1.29, ``config``
only), the Compose Specification's JSON Schema (``../shared/schemas/``), the
official Dockerfile parser (the ``dockerfile`` package wraps BuildKit's), and
docker-py's build-context rules for ``.dockerignore``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.compose.files import COMPOSE, COMPOSE_SCHEMA, ROOT, load_yaml


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as data (merge keys resolved by the YAML loader)."""
    return load_yaml(COMPOSE)


@pytest.fixture(scope="session")
def compose_config() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``docker-compose config`` on ``files`` (from the repository root).

    Results are kept for the session: several tests read the same merged file.
    """
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose; .ci/run "
                    "installs it): the compose files were not checked by a real Compose")

    cache: dict[tuple, subprocess.CompletedProcess[str]] = {}

    def run(files: Sequence[Path], *args: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        key = (tuple(files), args, tuple(sorted((env or {}).items())))
        if key not in cache:
            cache[key] = _run(files, *args, env=env)
        return cache[key]

    def _run(files: Sequence[Path], *args: str,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        argv = [binary]
        for path in files:
            argv += ["-f", str(path)]
        # A clean environment: nothing the compose files need may come from the caller's.
        clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT)}
        return subprocess.run([*argv, "config", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, env={**clean, **(env or {})}, check=False)

    return run


@pytest.fixture(scope="session")
def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON Schema, read where it is kept (never copied)."""
    if not COMPOSE_SCHEMA.is_file():
        pytest.skip(f"Compose Specification schema not found at {COMPOSE_SCHEMA} (a clone without "
                    "../shared/): the compose files were not validated against it; "
                    "docker-compose config still checks them")
    import json

    return json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
