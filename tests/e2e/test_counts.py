"""Counts that behave like the data, on real processes: PostgreSQL, the exporters, Prometheus.

A small stack of its own (the shared demo stack has no standby, and its workload
fires the security alerts on its own schedule): a PostgreSQL primary with the shop
schema and a streaming standby, the postgres exporter watching only the primary, the
sql exporter's two event queries from its default queries file, the host exporter
probing a loopback port that never answers, and one Prometheus scraping them every
second with the rules generated from the default spec (thresholds as shipped, `for`
set to 0 and the replication lag threshold to 2 s so that the test stays short).
It shows:

- purging old rows raises neither FailedLogins nor SuspiciousActivity, and new rows
  still fire both, FailedLogins with the exact count;
- a standby whose replay falls behind fires ReplicationLag from the primary's exporter;
- a target whose connect times out fires NetworkUnreachable, not NetworkLatency.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter
from exporters.common.server import MetricsServer
from exporters.host import build as build_host
from exporters.postgres.exporter import PostgresSettings, build_exporter
from exporters.sql.config import DEFAULT_QUERIES
from exporters.sql.demo.seed import SCHEMA
from exporters.sql.exporter import build as build_sql
from tests import pg
from tests.e2e.harness import generate
from tests.e2e.processes import Server, free_port, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("prometheus") is None or not pg.available(),
                                 reason="needs prometheus and PostgreSQL")]

ROOT = Path(__file__).resolve().parents[2]
OLD_FAILED_LOGINS = 482  # rows already in the tables when the exporters start
OLD_FLAGGED = 48
EVENT_QUERIES = ("failed_logins", "suspicious_activity")
LAG_THRESHOLD = 2.0  # seconds: the spec's 30 s would make the test wait half a minute


@dataclass
class Counts:
    primary: pg.PgCluster
    standby: pg.PgCluster
    prometheus: Server
    postgres_target: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.prometheus.url}/api/v1/query", params={"query": promql},
                                timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def alerts(self, name: str, state: str | None = None) -> list[dict[str, Any]]:
        response = requests.get(f"{self.prometheus.url}/api/v1/alerts", timeout=10)
        response.raise_for_status()
        return [a for a in response.json()["data"]["alerts"]
                if a["labels"]["alertname"] == name and state in (None, a["state"])]

    def shop(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.primary.execute(sql, params, dbname="shop")


def _serve(exporter: Exporter, started: list[Callable[[], None]]) -> str:
    exporter.start()
    started.append(exporter.stop)
    server = MetricsServer(exporter.registry, port=0)
    server.start()
    started.append(server.shutdown)
    host, port = server.address
    return f"{host}:{port}"


def _event_queries() -> list[dict[str, Any]]:
    """The default queries' event counters, run every second instead of every 30."""
    queries = yaml.safe_load(DEFAULT_QUERIES.read_text())["queries"]
    return [{**q, "interval": "1s", "timeout": "1s"} for q in queries if q["name"] in EVENT_QUERIES]


def _silent_port(started: list[Callable[[], None]]) -> int:
    """A loopback port whose accept queue is full: a SYN to it is dropped, connect times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    started.append(listener.close)
    port = listener.getsockname()[1]
    for _ in range(4):  # fill the queue (its length is the backlog + 1)
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        started.append(filler.close)
    time.sleep(0.2)
    return int(port)


def _prometheus(work: Path, targets: dict[str, str]) -> Server:
    spec = work / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "extends": str(ROOT / "slo/spec.yaml"),
        "targets": {name: [address] for name, address in targets.items()},
        "alertmanager": [f"127.0.0.1:{free_port()}"],
        "signals": {**{name: {"for": "0s"} for name in (
            "failed_logins", "suspicious_activity", "network_latency", "network_unreachable")},
            "replication_lag": {"warning": f"{LAG_THRESHOLD:g}s", "for": "0s"}},
    }))
    generate(spec, work / "out")
    config_path = work / "out/deploy/prometheus/prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config.pop("alerting")  # the alerts are read from Prometheus itself
    for job in config["scrape_configs"]:
        job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    return Server("prometheus", [
        "prometheus", f"--config.file={config_path}", f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ], port, work / "prometheus.log", ready_path="/-/ready")


@pytest.fixture(scope="module")
def counts() -> Iterator[Counts]:
    work = Path(tempfile.mkdtemp(prefix="vigil-counts-"))
    started: list[Callable[[], None]] = []  # how to stop what was started, in order
    primary = pg.PgCluster.create()
    standby = None
    prometheus = None
    try:
        primary.start()
        primary.create_database("shop")
        primary.execute(SCHEMA.read_text(), dbname="shop")
        primary.execute("INSERT INTO login_attempts (username, source_ip, succeeded)"
                        " SELECT 'old', '198.51.100.1', false FROM generate_series(1, %s)",
                        (OLD_FAILED_LOGINS,), dbname="shop")
        primary.execute("INSERT INTO security_events (kind, flagged)"
                        " SELECT 'old', true FROM generate_series(1, %s)",
                        (OLD_FLAGGED,), dbname="shop")
        primary.execute("CREATE TABLE replication_marker (at timestamptz)")
        standby = primary.create_standby(name="replica1")
        database = {"password": primary.password, "connect_timeout": "1s", "backoff_max": "1s"}
        targets = {
            "postgres": _serve(build_exporter(PostgresSettings(
                dsn=primary.dsn(tcp=True), password=primary.password, interval=1.0,
                timeout=1.0, connect_timeout=1.0, backoff_max=1.0)), started),
            "sql": _serve(build_sql(ConfigNode({
                "dsn": primary.dsn("shop", tcp=True), **database, "queries": _event_queries(),
            }, "sql.yml")), started),
            "host": _serve(build_host(ConfigNode({"tcp_targets": [{
                "name": "silent", "address": f"127.0.0.1:{_silent_port(started)}",
                "timeout": "1s", "interval": "1s"}]}, "host.yml")), started),
            "http": f"127.0.0.1:{free_port()}",  # not started: only its target is down
        }
        prometheus = _prometheus(work, targets)
        counts = Counts(primary, standby, prometheus, targets["postgres"])
        # Two scrapes of each event counter: a window with something to compare.
        wait_for(lambda: all(counts.query(f"count_over_time(vigil_business_{m}_total[1m]) >= 2")
                             for m in ("failed_logins", "suspicious_activity")), 30, 0.2,
                 "the sql exporter was not scraped twice")
        yield counts
    finally:
        if prometheus is not None:
            prometheus.stop()
        for stop in reversed(started):
            stop()
        if standby is not None:
            standby.destroy()
        primary.destroy()
        shutil.rmtree(work, ignore_errors=True)


def test_a_purge_raises_nothing_and_new_rows_still_alert(counts: Counts) -> None:
    # A retention job: the oldest rows go, 482 failed logins down to 300, 48 flagged to 30.
    counts.shop("DELETE FROM login_attempts WHERE id <= %s", (OLD_FAILED_LOGINS - 300,))
    counts.shop("DELETE FROM security_events WHERE id <= %s", (OLD_FLAGGED - 30,))
    deadline = time.monotonic() + 6  # several runs, scrapes and evaluations after the purge
    while time.monotonic() < deadline:
        assert counts.alerts("FailedLogins") == []
        assert counts.alerts("SuspiciousActivity") == []
        time.sleep(0.5)
    assert [float(r["value"][1]) for r in counts.query("vigil:failed_logins:increase1h")] == [0]
    assert [float(r["value"][1]) for r in counts.query(
        "vigil:suspicious_activity:increase15m")] == [0]

    counts.shop("INSERT INTO login_attempts (username, source_ip, succeeded)"
                " SELECT 'mallory', '203.0.113.9', false FROM generate_series(1, 101)")
    counts.shop("INSERT INTO security_events (kind, flagged) VALUES ('card_testing', true)")
    wait_for(lambda: counts.alerts("FailedLogins", "firing")
             and counts.alerts("SuspiciousActivity", "firing"), 30, 0.5,
             "new rows did not fire FailedLogins and SuspiciousActivity")
    (failed,) = counts.alerts("FailedLogins", "firing")
    assert float(failed["value"]) == 101  # the exact count: more than 100 in the hour
    assert failed["labels"]["severity"] == "warning"
    (suspicious,) = counts.alerts("SuspiciousActivity", "firing")
    assert suspicious["labels"]["severity"] == "critical"


def test_a_lagging_standby_fires_replication_lag_from_the_primary(counts: Counts) -> None:
    assert counts.alerts("ReplicationLag") == []
    counts.standby.execute("SELECT pg_wal_replay_pause()")
    try:
        def lagging() -> list[dict[str, Any]]:
            counts.primary.execute("INSERT INTO replication_marker VALUES (now())")
            return counts.alerts("ReplicationLag", "firing")

        (alert,) = wait_for(lagging, 60, 0.5, "ReplicationLag did not fire")
        assert alert["labels"]["instance"] == counts.postgres_target  # the primary's exporter
        assert float(alert["value"]) > LAG_THRESHOLD
    finally:
        counts.standby.execute("SELECT pg_wal_replay_resume()")


def test_an_unreachable_target_is_not_a_latency(counts: Counts) -> None:
    (alert,) = wait_for(lambda: counts.alerts("NetworkUnreachable", "firing"), 30, 0.5,
                        "NetworkUnreachable did not fire")
    assert alert["labels"]["target"] == "silent"
    durations = counts.query('vigil_host_tcp_connect_duration_seconds{target="silent"}')
    assert durations and float(durations[0]["value"][1]) >= 0.9  # the connect timeout, 1 s
    assert counts.alerts("NetworkLatency") == []
