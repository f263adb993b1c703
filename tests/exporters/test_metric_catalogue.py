"""README's metric catalogue is what the four exporters serve, regenerated from their code.

Each exporter is built and collected once on real inputs that make every one
of its families appear: a PostgreSQL with ``pg_stat_statements``, the demo
shop and a streaming standby, local HTTP and HTTPS servers to probe, an access log with a good and a
bad line, a listening TCP port, a backup file and a certificate. The table
rendered from those registries (:mod:`exporters.catalogue`) must equal the one
between the markers in README.md; to refresh it after changing a metric::

    VIGIL_UPDATE_CATALOGUE=1 .venv/bin/pytest tests/exporters/test_metric_catalogue.py
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from exporters import catalogue
from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter
from exporters.sql.demo import seed
from tests import pg

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
READER, READER_PASSWORD = "vigil_reader", "catalogue-reader-pw"


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _serve(context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def database() -> Iterator[pg.PgCluster]:
    if not pg.available():  # pragma: no cover - depends on the machine
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = pg.PgCluster.create(pg_stat_statements=True)
    cluster.start()
    try:
        cluster.execute("CREATE EXTENSION pg_stat_statements")
        cluster.create_database("shop")
        with cluster.connect("shop", autocommit=False) as conn:
            seed.load(conn, seed.generate(1))
        cluster.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
        cluster.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}", dbname="shop")
        # a streaming standby, for the primary's per-replica lag
        standby = cluster.create_standby(name="replica1")
        try:
            deadline = time.monotonic() + 30
            while not cluster.scalar("SELECT count(*) FROM pg_stat_replication"):
                assert time.monotonic() < deadline, "the standby never connected"
                time.sleep(0.1)
            yield cluster
        finally:
            standby.destroy()
    finally:
        cluster.destroy()


def _collected(name: str, config: dict) -> list[catalogue.Entry]:
    module = __import__(f"exporters.{name}", fromlist=["build"])
    exporter: Exporter = module.build(ConfigNode(config, f"{name}.yml"))
    try:
        for task in exporter.tasks:
            task.run_once()
        return catalogue.entries(name, exporter)
    finally:
        exporter.stop()


@pytest.fixture()
def table(database: pg.PgCluster, tmp_path: Path, make_cert: Callable) -> str:
    work = tmp_path
    cert, key, _ = make_cert(work)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    plain, tls = _serve(), _serve(context)
    listener = socket.create_server(("127.0.0.1", 0))
    (work / "backups").mkdir()
    (work / "backups" / "full.tar.gz").write_text("backup")
    log = work / "access.log"
    log.write_text('127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /checkout HTTP/1.1" 200 2 "-" '
                   '"curl" 0.012\nnot a log line\n')
    try:
        rows = _collected("host", {
            "disks": {"exclude_devices": "^$"},  # a container may have loop devices only
            "tcp_targets": [{"name": "db", "address": f"127.0.0.1:{listener.getsockname()[1]}"}],
            "backups": {"kinds": [{"kind": "full", "paths": [str(work / "backups")]}]},
            "tls_certificates": {"files": [str(cert)]},
        })
        rows += _collected("http", {
            "probes": [{"name": "shop", "url": f"http://127.0.0.1:{plain.server_port}/healthz"},
                       {"name": "api", "url": f"https://127.0.0.1:{tls.server_port}/",
                        "tls_verify": False}],
            "access_logs": [{"path": str(log), "format": "combined", "from_beginning": True}],
        })
        rows += _collected("postgres", {"dsn": database.dsn(tcp=True), "password": database.password})
        rows += _collected("sql", {
            "dsn": database.dsn("shop", user=READER, tcp=True), "password": READER_PASSWORD,
            "queries_file": str(ROOT / "exporters" / "sql" / "default_queries.yml"),
            # one query that fails (no such table), for vigil_sql_query_last_error_info
            "queries": [{"name": "failing", "metric": "vigil_catalogue_failing", "type": "gauge",
                         "help": "Never served.", "value": "n",
                         "sql": "SELECT count(*) AS n FROM no_such_table"}],
        })
    finally:
        listener.close()
        plain.shutdown()
        tls.shutdown()
    return catalogue.render(rows)


def _section(text: str) -> str:
    start, end = text.find(catalogue.BEGIN), text.find(catalogue.END)
    assert start >= 0 and end > start, "README.md has no metric catalogue markers"
    return text[start:end + len(catalogue.END)]


def test_readme_catalogue_is_what_the_exporters_serve(table: str) -> None:
    # The table is not trivially equal: it holds each exporter's families, with labels.
    for expected in ("| host | `vigil_host_filesystem_used_ratio` | gauge | device, mountpoint, fstype",
                     "| http | `vigil_http_request_duration_seconds` | histogram | method, route",
                     "| postgres | `vigil_pg_deadlocks_total` | counter | datname",
                     "| sql | `vigil_business_failed_logins_total` | counter |"):
        assert expected in table, expected
    for prefix in ("vigil_host", "vigil_http", "vigil_pg", "vigil_sql"):
        assert f"`{prefix}_collector_success` | gauge | collector |" in table
    text = README.read_text(encoding="utf-8")
    if os.environ.get("VIGIL_UPDATE_CATALOGUE"):
        README.write_text(catalogue.replace_section(text, table), encoding="utf-8")
        text = README.read_text(encoding="utf-8")
    assert _section(text) == table, (
        "README.md's metric catalogue is out of date; regenerate it with "
        "VIGIL_UPDATE_CATALOGUE=1 .venv/bin/pytest tests/exporters/test_metric_catalogue.py")


def test_a_family_without_series_is_refused() -> None:
    from prometheus_client.core import GaugeMetricFamily

    from exporters.common.exporter import Source

    empty: Callable[[], list] = lambda: [GaugeMetricFamily("vigil_x", "X.", labels=["a"])]  # noqa: E731
    exporter = Exporter("vigil_x", [Source("x", empty)])
    with pytest.raises(ValueError, match="vigil_x has no series"):
        catalogue.entries("x", exporter)


def test_markers_are_required() -> None:
    with pytest.raises(ValueError, match="markers are missing"):
        catalogue.replace_section("# no table here\n", "table")
    document = f"before\n{catalogue.BEGIN}\nold\n{catalogue.END}\nafter\n"
    assert catalogue.replace_section(document, "NEW") == "before\nNEW\nafter\n"
