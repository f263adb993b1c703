"""`vigil demo workload`, the command Compose's demo profile runs, as a real process
against a real PostgreSQL reached over TCP with a password from a secret file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import urllib3

from exporters.sql.demo import seed
from generator.demo import pg

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not pg.available(), reason="PostgreSQL is not installed")


@pytest.fixture(scope="module")
def shop_db():
    cluster = pg.PgCluster.create()
    cluster.start()
    cluster.create_database("shop")
    with cluster.connect("shop", autocommit=False) as conn:
        seed.load(conn, seed.generate())
    yield cluster
    cluster.destroy()


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (requests.RequestException, OSError):
            result = None
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _command(shop_db, tmp_path: Path, password_file: Path) -> tuple[list[str], dict[str, str]]:
    ports = [pg.free_port(), pg.free_port()]
    argv = [sys.executable, "-m", "generator.cli", "demo", "workload",
            "--dsn", shop_db.dsn("shop", tcp=True), "--listen", "127.0.0.1",
            "--shop-port", str(ports[0]), "--payments-port", str(ports[1]),
            "--access-log", str(tmp_path / "logs/access.log")]
    env = {**os.environ, "POSTGRES_PASSWORD_FILE": str(password_file)}
    env.pop("POSTGRES_PASSWORD", None)
    return argv, env


def test_the_workload_makes_the_shop_live_and_stops_on_sigterm(shop_db, tmp_path):
    password_file = tmp_path / "postgres_password"
    password_file.write_text(pg.DEFAULT_PASSWORD + "\n")
    argv, env = _command(shop_db, tmp_path, password_file)
    shop_port, payments_port = argv[argv.index("--shop-port") + 1], argv[argv.index("--payments-port") + 1]
    orders_before = shop_db.scalar("SELECT count(*) FROM orders", dbname="shop")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        _wait(lambda: requests.get(f"http://127.0.0.1:{shop_port}/healthz", timeout=2).ok, 30,
              "the storefront")
        with urllib3.warnings.catch_warnings():
            urllib3.disable_warnings()
            assert requests.get(f"https://127.0.0.1:{payments_port}/v1/health", timeout=5,
                                verify=False).status_code == 200
        _wait(lambda: shop_db.scalar("SELECT count(*) FROM orders", dbname="shop") > orders_before,
              30, "orders placed by the workload")
        # the first scheduled trouble that touches the database: a failed-login burst
        _wait(lambda: shop_db.scalar("SELECT count(*) FROM login_attempts"
                                     " WHERE source_ip = '203.0.113.66'", dbname="shop") >= 150,
              40, "the failed-login burst")
        log = (tmp_path / "logs/access.log").read_text()
        assert '"GET /' in log and " 200 " in log
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "vigil demo workload: trouble: failed-login burst" in output
    assert "vigil demo workload: stopped" in output
    assert pg.DEFAULT_PASSWORD not in output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{shop_port}/healthz", timeout=2)


def test_an_unreadable_password_file_is_a_clear_error(shop_db, tmp_path):
    argv, env = _command(shop_db, tmp_path, tmp_path / "missing")
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("vigil demo workload: --password-env POSTGRES_PASSWORD: ")
    assert "missing" in result.stderr
    assert "Traceback" not in result.stderr
