"""Shared resources of one benchmark run, and the guarantee that they stop.

The PostgreSQL cluster and the local HTTP target are started at most once per
run, the first time a pair needs them, and both pairs that use the database
see the same cluster. Everything is registered on an ExitStack that `close()`
unwinds, so an exception or Ctrl-C anywhere still stops every process the
benchmark started.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .pgcluster import free_port, load_pg_helper
from .procs import ManagedProcess


class BenchContext:
    """Work directory, lazily started sources, and the exit stack."""

    def __init__(self, vigil: Path, start_timeout: float, profile: str, interval: float) -> None:
        self.vigil = vigil
        self.start_timeout = start_timeout
        self.profile = profile
        self.interval = interval
        self._stack = contextlib.ExitStack()
        self.workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
        self._stack.callback(_remove_tree, self.workdir)
        self._pg: Any = None
        self._http_target: str | None = None
        self.db_setup: Callable[[Any], None] | None = None

    def close(self) -> None:
        self._stack.close()

    def file(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def pg(self) -> Any:
        """The run's PostgreSQL cluster (tests/pg.py's PgCluster), started on first use."""
        if self._pg is None:
            helper = load_pg_helper()
            cluster = helper.PgCluster.create(settings={"max_connections": 40})
            self._stack.callback(cluster.destroy)
            cluster.start()
            self._pg = cluster
        return self._pg

    def http_target(self) -> str:
        """URL of a local static HTTP server that both probing exporters probe."""
        if self._http_target is None:
            root = self.workdir / "www"
            root.mkdir()
            (root / "index.html").write_text("<html><body>vigil bench target</body></html>\n")
            port = free_port()
            server = ManagedProcess(
                "http target",
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                 "--directory", str(root)],
                self.workdir / "http-target.log",
            )
            self._stack.callback(server.stop)
            server.start()
            server.wait_http_ready(port, "/", self.start_timeout)
            self._http_target = f"http://127.0.0.1:{port}/"
        return self._http_target


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
