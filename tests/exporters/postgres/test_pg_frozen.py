"""A server that stops answering (frozen, TCP still open) is reported down.

SIGSTOP on the postmaster and every backend keeps the port open and the
kernel acknowledging packets, but nothing answers: the server's own
statement_timeout cannot fire. The exporter's session must notice on its
own, through the answer deadline, and report ``vigil_pg_up 0``. Nor may
``vigil_pg_up`` keep reading 1 when no run has finished for a long time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.exporters.postgres.helpers import value, wait_for
from tests.pg import PgCluster, running_cluster

pytestmark = pytest.mark.slow


def server_pids(cluster: PgCluster) -> list[int]:
    """The postmaster's pid and every child of it (backends, background workers)."""
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:
                pids.append(int(stat.parent.name))
    return pids


@contextlib.contextmanager
def frozen(cluster: PgCluster) -> Iterator[None]:
    pids = server_pids(cluster)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def test_a_frozen_server_is_reported_down_and_recovers(make_exporter: Callable) -> None:
    with running_cluster() as cluster:
        exporter = make_exporter(cluster, interval=1.0, timeout=1.0, connect_timeout=1.0)
        exporter.start()
        try:
            wait_for(lambda: value(exporter, "vigil_pg_up") == 1, 10, 0.05, "never came up")
            with frozen(cluster):
                # Run deadline: 2 * timeout + 1 s after the run began.
                wait_for(lambda: value(exporter, "vigil_pg_up") == 0, 15, 0.05,
                         "vigil_pg_up stayed 1 while the server was frozen")
                wait_for(lambda: value(exporter, "vigil_pg_collector_success",
                                       {"collector": "connections"}) == 0, 15, 0.05,
                         "the connections group never reported the failure")
                assert value(exporter, "vigil_pg_connections", {"state": "idle"}) is None
                assert value(exporter, "vigil_pg_up") == 0
            wait_for(lambda: value(exporter, "vigil_pg_up") == 1, 20, 0.05,
                     "did not recover after the server was thawed")
            wait_for(lambda: value(exporter, "vigil_pg_connections", {"state": "idle"})
                     is not None, 10, 0.05, "series did not come back")
        finally:
            exporter.stop()


def test_up_is_not_served_from_runs_that_stopped(primary: PgCluster, make_exporter: Callable,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = make_exporter(primary)
    for task in exporter.tasks:
        task.run_once()
    assert value(exporter, "vigil_pg_up") == 1
    # No group has finished a run for longer than its max_age (as when the
    # loops stopped): the session's last "reachable" is old news.
    for task in exporter.tasks:
        monkeypatch.setattr(task, "_clock", lambda task=task: time.time() + task.max_age + 1)
    assert value(exporter, "vigil_pg_up") == 0
