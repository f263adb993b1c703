"""Real servers for the end-to-end tests that the demo stack does not start.

VictoriaMetrics single-node (the `remote_write` target) and vmalert (a second rule
engine over the same generated rules) come from Debian's `victoria-metrics` package.
Each runs on a free loopback port with its own data directory and log file; `stop()`
ends only the process this module started.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

from tests.exporters.postgres.helpers import wait_for
from tests.pg import free_port

__all__ = ["Server", "free_port", "http_ok", "start_victoria_metrics", "start_vmalert", "wait_for"]

VICTORIA_METRICS = shutil.which("victoria-metrics")
VMALERT = shutil.which("vmalert")


def http_ok(url: str) -> bool:
    """True when `url` answers 200; a server still starting is not an error."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Server:
    """One started process, its loopback URL and its log."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log: Path,
                 ready_path: str = "/health", env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.process = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL,
                                        stderr=log.open("w"), env=env)
        try:
            wait_for(lambda: http_ok(self.url + ready_path) or self._exited(), 30,
                     interval=0.2, message=f"{name} did not start; log:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise AssertionError(f"{name} exited {self.process.returncode}:\n{self.log_tail()}")

    def _exited(self) -> bool:
        return self.process.poll() is not None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_victoria_metrics(work: Path) -> Server:
    """VictoriaMetrics single-node: Prometheus `remote_write` goes to `<url>/api/v1/write`."""
    assert VICTORIA_METRICS, "victoria-metrics is not installed"
    port = free_port()
    return Server("victoria-metrics", [
        VICTORIA_METRICS, f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={work / 'victoria-metrics'}", "-retentionPeriod=2",
        # Samples just written are searchable at once, not after the default 30 s.
        "-search.latencyOffset=0s", "-search.disableCache",
    ], port, work / "victoria-metrics.log")


def start_vmalert(rules: Path, datasource: str, notifier: str, work: Path,
                  evaluation_interval: str, label: str) -> Server:
    """vmalert on the generated `rules`, reading `datasource`, alerting `notifier`.

    Its recording rules and alert state are written back to the datasource
    (`-remoteWrite.url`), so rules that read other rules' records see vmalert's own
    results, and restarts restore state (`-remoteRead.url`). Every alert carries
    `label` (`name=value`), so a receiver tells its notifications from Prometheus's.
    """
    assert VMALERT, "vmalert is not installed"
    port = free_port()
    return Server("vmalert", [
        VMALERT, f"-rule={rules}", f"-datasource.url={datasource}",
        f"-notifier.url={notifier}", f"-remoteWrite.url={datasource}",
        f"-remoteRead.url={datasource}", f"-evaluationInterval={evaluation_interval}",
        f"-httpListenAddr=127.0.0.1:{port}", f"-external.url=http://127.0.0.1:{port}",
        f"-external.label={label}", "-remoteWrite.flushInterval=1s",
        # Instant queries look back one evaluation, like Prometheus's staleness window.
        "-datasource.queryStep=1m",
    ], port, work / "vmalert.log")
