"""The recorder over HTTP on a real PostgreSQL: attacks, acknowledgement, a database outage.

Everything goes through the exporters' real server on a free loopback port; the
outage stops the module's PostgreSQL for real and starts it again before the test ends.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import requests

from exporters.common.webconfig import BasicAuth, WebConfig
from exporters.incidents import payload
from exporters.incidents.service import ACK_PATH, ALERTS_PATH
from tests.incidents.conftest import Database, running_recorder, wait_for
from tests.incidents.helpers import LABELS, alert, body

AUTH = WebConfig(auth=BasicAuth({"alice": bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4))}))


def metric(url: str, name: str, auth: Any = None) -> float | None:
    text = requests.get(url + "/metrics", auth=auth, timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def post(url: str, data: bytes, **kwargs: Any) -> requests.Response:
    return requests.post(url + ALERTS_PATH, data=data, timeout=10,
                         headers={"Content-Type": "application/json"}, **kwargs)


def test_notifications_become_incidents_and_metrics(database: Database) -> None:
    with running_recorder(database.connect) as (_, server):
        start = time.time() - 600
        assert post(server.url, body(alert(LABELS, start))).status_code == 200
        assert post(server.url, body(alert(LABELS, start, start + 300))).status_code == 200
        rows = wait_for(lambda: [r for r in database.rows() if r["resolved_at"]], 20)
        assert (rows[0]["resolved_at"] - rows[0]["started_at"]).total_seconds() == 300
        wait_for(lambda: metric(server.url, "vigil_incidents_opened_total") == 1, 20)
        assert metric(server.url, "vigil_incidents_database_up") == 1
        assert metric(server.url, "vigil_incidents_alerts_received_total") == 2


def _raw(server_address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(server_address, timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_huge_and_malformed_bodies_are_refused_before_storing(database: Database) -> None:
    with running_recorder(database.connect) as (_, server):
        huge = b"x" * (payload.MAX_BODY_BYTES + 1)
        # refused on its Content-Length alone: the body is never read
        reply = _raw(server.address, b"POST " + ALERTS_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                     + f"Content-Length: {len(huge)}\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.1 413 ")
        chunked = _raw(server.address, b"POST " + ALERTS_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert chunked.startswith(b"HTTP/1.1 411 ")
        assert post(server.url, b"{" * 50_000).status_code == 400
        assert post(server.url, b'{"alerts": "none"}').status_code == 400
        many = [alert({**LABELS, "instance": f"i{n}"}, time.time()) for n in range(600)]
        assert post(server.url, body(*many)).status_code == 200
        wait_for(lambda: len(database.rows()) == payload.MAX_ALERTS, 20)
        text = requests.get(server.url + "/metrics", timeout=5).text
        assert 'vigil_incidents_alerts_rejected_total{reason="too_many_alerts"} 100.0' in text
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_acknowledging_over_http_needs_authentication(database: Database) -> None:
    with running_recorder(database.connect) as (_, open_server):
        assert requests.post(open_server.url + ACK_PATH, json={"incident": 1},
                             timeout=5).status_code == 403
    with running_recorder(database.connect, web_config=AUTH) as (recorder, server):
        assert post(server.url, body(alert(LABELS, time.time() - 60)),
                    auth=("alice", "secret")).status_code == 200
        assert post(server.url, body(alert(LABELS, time.time() - 60))).status_code == 401
        incident = wait_for(lambda: database.rows(), 20)[0]["id"]
        for auth in (None, ("alice", "wrong"), ("mallory", "secret")):
            reply = requests.post(server.url + ACK_PATH, json={"incident": incident}, auth=auth,
                                  timeout=5)
            assert reply.status_code == 401
        bad = requests.post(server.url + ACK_PATH, json={"incident": "1; DROP TABLE x"},
                            auth=("alice", "secret"), timeout=5)
        assert bad.status_code == 400
        good = requests.post(server.url + ACK_PATH, auth=("alice", "secret"), timeout=5,
                             json={"incident": incident, "by": "mallory"})  # `by` is ignored
        assert good.status_code == 202
        assert recorder.writer.flush()
        row = database.rows()[0]
        assert row["acknowledged_by"] == "alice" and row["acknowledged_at"] is not None
        assert requests.get(server.url + "/metrics", timeout=5).status_code == 401


def test_a_database_outage_loses_nothing(database: Database, tmp_path: Path) -> None:
    start = time.time() - 120
    spool = tmp_path / "queue.jsonl"
    database.cluster.stop("fast")
    try:
        with running_recorder(database.connect, spool=spool) as (recorder, server):
            assert post(server.url, body(alert(LABELS, start))).status_code == 200
            wait_for(lambda: metric(server.url, "vigil_incidents_database_up") == 0, 20)
            assert metric(server.url, "vigil_incidents_queue_items") == 1
        assert spool.exists()  # stopped during the outage: the queue is kept on disk
        with running_recorder(database.connect, spool=spool) as (recorder, server):
            assert recorder.writer.depth == 1
            assert post(server.url, body(alert(LABELS, start, start + 90))).status_code == 200
            database.cluster.start()
            assert recorder.writer.flush(30)
            wait_for(lambda: metric(server.url, "vigil_incidents_database_up") == 1, 20)
    finally:
        if not database.cluster.is_running():
            database.cluster.start()
    incident, = database.rows()
    assert (incident["resolved_at"] - incident["started_at"]).total_seconds() == 90
    assert not spool.exists()


def test_a_full_queue_is_answered_503_not_accepted(database: Database) -> None:
    database.cluster.stop("fast")
    try:
        with running_recorder(database.connect, capacity=2) as (recorder, server):
            assert post(server.url, body(alert(LABELS, time.time()))).status_code == 200
            two = body(*(alert({**LABELS, "instance": f"i{n}"}, time.time()) for n in range(2)))
            refused = post(server.url, two)
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            assert recorder.writer.depth == 1
            assert metric(server.url, "vigil_incidents_notifications_refused_total") == 1
            database.cluster.start()
            assert recorder.writer.flush(30)
    finally:
        if not database.cluster.is_running():
            database.cluster.start()
    assert len(database.rows()) == 1


@pytest.mark.parametrize("path", ["/api/v1/alerts", "/api/v1/ack"])
def test_get_on_a_post_route_is_405(database: Database, path: str) -> None:
    with running_recorder(database.connect) as (_, server):
        assert requests.get(server.url + path, timeout=5).status_code == 405
