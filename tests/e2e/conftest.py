"""From fault to notification on the demo stack: every part real, nothing mocked.

One stack for the session (:class:`generator.demo.stack.Stack`): PostgreSQL with the
shop, the four exporters, Prometheus and Alertmanager on configuration generated from
the demo spec plus :func:`tests.e2e.overlays.timings_overlay`, the webhook receiver,
and the shop's steady traffic. Around it this module adds what only the tests need:

- four weeks of history for the baseline series, backfilled with promtool
  (:mod:`generator.demo.history`), so the `below average` panels and alerts have data;
- a second Alertmanager on the configuration generated from the same spec plus a
  maintenance window that covers now (warning only), with its own webhook receiver;
- VictoriaMetrics receiving Prometheus's `remote_write`, and vmalert evaluating the
  same generated rules against it and alerting the stack's Alertmanager.

Each fault is injected once and each test waits for its notification, printing the
time from fault to notification and asserting it is within
``collection + scrape + evaluation + for + group_wait + MARGIN``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.demo import workload
from generator.demo.receiver import WebhookReceiver
from generator.demo.stack import Ports
from tests.e2e import overlays
from tests.e2e.harness import (
    E2E,
    EVALUATION,
    SCRAPE,
    VMALERT_LABEL,
    RetainingStack,
    age_the_wal_backups,
    backfill,
    remote_write_to,
    start_maintenance_alertmanager,
)
from tests.e2e.processes import (
    free_port,
    start_victoria_metrics,
    start_vmalert,
)


@pytest.fixture(scope="session")
def e2e() -> Iterator[E2E]:
    root = Path(tempfile.mkdtemp(prefix="vigil-e2e-"))
    ports = Ports.free()
    maintenance_port = free_port()
    overlay = overlays.timings_overlay([f"127.0.0.1:{ports.alertmanager}",
                                        f"127.0.0.1:{maintenance_port}"])
    stack = RetainingStack(root / "run", ports, overlay, SCRAPE, EVALUATION)
    maintenance = WebhookReceiver()
    traffic = workload.Workload(stack, schedule=())
    started: list[Any] = []
    try:
        started_at = time.time()
        stack.start()
        traffic.start()
        maintenance.start()
        started.append(start_maintenance_alertmanager(stack, root, maintenance_port, maintenance))
        started.append(start_victoria_metrics(root))
        remote_write_to(stack, started[1].url)
        started.append(start_vmalert(stack.generated / "alert_rules/*.rules.yml", started[1].url,
                                     stack.alertmanager_url, root, f"{EVALUATION:g}s",
                                     "=".join(VMALERT_LABEL)))
        until = backfill(stack)
        e2e = E2E(stack, maintenance, started[0], started[1], started[2], until, started_at)
        # Its alert waits a whole minute (`for`): let that minute pass during other tests.
        e2e.inject("old wal backup", age_the_wal_backups(e2e))
        # The spool fills for two minutes (tests/e2e/test_trend_live.py), meanwhile.
        e2e.inject("spool fill", lambda: workload.fill_spool(stack))
        yield e2e
    finally:
        for server in reversed(started):
            server.stop()
        workload.empty_spool(stack)
        traffic.stop()
        maintenance.stop()
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print a measured figure even when pytest captures output."""
    def emit(text: str) -> None:
        with capsys.disabled():
            print(f"\n  e2e: {text}", end="")
    return emit


