"""Helpers shared by the database exporters' tests (postgres and sql).

- :func:`run_tasks` runs every periodic task of an in-process exporter once,
  synchronously, and :func:`value` reads a sample from its private registry —
  the collector tested through its own ``CollectorRegistry``;
- :class:`ExporterProcess` runs the real ``vigil exporter NAME`` command on a
  free loopback port, for behaviour only a whole process shows (HTTP while
  the database is down, concurrent scrapes, exit codes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from exporters.common.exporter import Exporter
from tests import processes
from tests.pg import free_port

ROOT = Path(__file__).resolve().parents[3]


def run_tasks(exporter: Exporter, names: set[str] | None = None) -> None:
    """Run each task (or those in ``names``) once, in this thread."""
    for task in exporter.tasks:
        if names is None or task.name in names:
            task.run_once()


def value(exporter: Exporter, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The current value of one sample, or None when the series is absent."""
    return exporter.registry.get_sample_value(name, labels or {})


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Parse an exposition into ``{(sample name, labels): value}``."""
    parsed = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return parsed


def sample(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


def wait_for(predicate: Any, timeout: float, interval: float = 0.05, message: str = "") -> Any:
    """Poll ``predicate()`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)


class ExporterProcess:
    """``vigil exporter NAME --config FILE`` on 127.0.0.1:<free port>."""

    def __init__(self, name: str, config: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stderr = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix=f"vigil-{name}-", suffix=".log"
        )
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "generator.cli", "exporter", name,
                "--config", str(config),
                "--web.listen-address", f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=self._stderr,
        )

    def wait_healthy(self, timeout: float = 30) -> None:
        # Generous: on a loaded 2-core host the interpreter alone can take seconds to start.
        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"exporter exited {self.proc.returncode}:\n{self.log()}")
            try:
                return requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(healthy, timeout, message=f"exporter not healthy:\n{self.log()}")

    def scrape(self, timeout: float = 5) -> requests.Response:
        return requests.get(self.url + "/metrics", timeout=timeout)

    def log(self) -> str:
        self._stderr.flush()
        return Path(self._stderr.name).read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        return processes.stop(self.proc)

    def __enter__(self) -> ExporterProcess:
        try:
            self.wait_healthy()
        except BaseException:
            self.__exit__()  # an exporter that never became healthy must not outlive the test
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._stderr.close()


def run_cli(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``vigil ARGS`` to completion (for exit codes and error messages)."""
    return subprocess.run(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=timeout, check=False,
    )
