"""A real Alertmanager, on routing generated from the demo spec, delivering to the recorder.

The recorder sits behind every generated receiver (generator/alertmanager.py); alerts
are posted to Alertmanager's API as Prometheus would post them, and the incidents
are read back from the real PostgreSQL behind the recorder. The duplicate-suppression
interval is 5 s, so Alertmanager's group interval is 5 s and its group wait 1 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from exporters.incidents.policy import Policy
from generator import alertmanager, output
from generator.demo.stack import DEMO_SPEC, alertmanager_binary
from generator.loader import load_spec
from tests.e2e.processes import Server, free_port
from tests.incidents.conftest import Database, running_recorder, wait_for

SUPPRESSION = 5.0
LABELS = {"alertname": "ErrorRate", "severity": "critical", "priority": "P0", "team": "operations",
          "signal": "error_rate", "instance": "shop-1", "environment": "demo"}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


@pytest.fixture(scope="module")
def routing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if alertmanager_binary() is None:
        pytest.skip("prometheus-alertmanager is not installed")
    root = tmp_path_factory.mktemp("incidents-am")
    recorder_port = free_port()
    overlay = root / "spec.yaml"
    overlay.write_text(yaml.safe_dump({
        "extends": str(DEMO_SPEC), "duplicate_suppression": f"{SUPPRESSION:g}s",
        "targets": {"incidents": [f"127.0.0.1:{recorder_port}"]}}))
    spec = load_spec(overlay)
    config = root / "alertmanager.yml"
    config.write_text(output.dump_yaml(alertmanager.config(spec)))
    return {"root": root, "config": config, "spec": spec, "port": recorder_port}


@pytest.fixture
def am(routing: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    server = Server("alertmanager", [
        alertmanager_binary() or "", f"--config.file={routing['config']}",
        f"--storage.path={tmp_path}/data", f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address="], port, tmp_path / "alertmanager.log", "/-/ready")
    try:
        yield server
    finally:
        server.stop()


def fire(am: Server, starts: float, ends: float | None = None) -> None:
    alert: dict[str, Any] = {"labels": LABELS, "startsAt": _iso(starts),
                             "annotations": {"summary": "Error rate above 1%"}}
    alert["endsAt"] = _iso(ends if ends is not None else time.time() + 3600)
    requests.post(f"{am.url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def _policy(routing: dict[str, Any]) -> Policy:
    return Policy.from_spec(routing["spec"].source)


def test_fire_and_resolve_is_one_incident_with_the_right_duration(
        routing: dict[str, Any], am: Server, database: Database) -> None:
    with running_recorder(database.connect, _policy(routing), port=routing["port"]) as _:
        start = time.time() - 30
        fire(am, start)
        opened = wait_for(lambda: database.rows(), 20, message="no incident recorded")
        fire(am, start, start + 25)
        resolved = wait_for(lambda: [r for r in database.rows() if r["resolved_at"]], 30,
                            message="the resolution never arrived")
    assert len(resolved) == 1 and resolved[0]["id"] == opened[0]["id"]
    assert (resolved[0]["resolved_at"] - resolved[0]["started_at"]).total_seconds() == \
        pytest.approx(25, abs=0.01)
    am_fingerprints = {a["fingerprint"] for a in requests.get(
        f"{am.url}/api/v2/alerts", timeout=5).json()}
    assert resolved[0]["fingerprint"] in am_fingerprints | {opened[0]["fingerprint"]}
    assert resolved[0]["receivers"] == ["severity-critical"]
    assert resolved[0]["priority"] == "P0" and resolved[0]["summary"] == "Error rate above 1%"


def test_a_flap_continues_the_incident(routing: dict[str, Any], am: Server,
                                       database: Database) -> None:
    with running_recorder(database.connect, _policy(routing), port=routing["port"]):
        start = time.time() - 20
        fire(am, start)
        wait_for(lambda: database.rows(), 20, message="no incident recorded")
        resolved_at = time.time()
        fire(am, start, resolved_at)
        fire(am, resolved_at + 1)  # firing again one second later: a flap
        time.sleep(SUPPRESSION + 2)  # Alertmanager delivers both within a group interval
        ended = time.time() - 0.5  # in the past, as Prometheus sends a resolution
        fire(am, resolved_at + 1, ended)
        wait_for(lambda: [r for r in database.rows() if r["resolved_at"]], 30,
                 message=f"the final resolution never arrived: {database.rows()}")
    incident, = database.rows()
    assert (incident["resolved_at"] - incident["started_at"]).total_seconds() == \
        pytest.approx(ended - start, abs=0.01)


def test_a_database_outage_loses_nothing(routing: dict[str, Any], am: Server,
                                         database: Database) -> None:
    database.cluster.stop("fast")
    try:
        with running_recorder(database.connect, _policy(routing),
                              port=routing["port"]) as (recorder, _):
            start = time.time() - 40
            fire(am, start)
            wait_for(lambda: recorder.intake.snapshot()[0] >= 1, 20,
                     message="Alertmanager did not deliver during the outage")
            fire(am, start, start + 33)
            wait_for(lambda: recorder.intake.snapshot()[0] >= 2, 30,
                     message="the resolution was not delivered during the outage")
            assert recorder.writer.depth >= 2 and not recorder.writer.database_up
            database.cluster.start()
            assert recorder.writer.flush(30)
    finally:
        if not database.cluster.is_running():
            database.cluster.start()
    incident, = database.rows()
    assert (incident["resolved_at"] - incident["started_at"]).total_seconds() == \
        pytest.approx(33, abs=0.01)
