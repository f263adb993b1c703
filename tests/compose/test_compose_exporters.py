"""The exporters' Compose configurations, run for real where this machine allows.

- each config in ``deploy/compose/exporters/`` passes its exporter's own
  validation, with the secrets handed over the way Compose hands them
  (``NAME_FILE`` pointing at a file);
- the demo database is set up the way the postgres image's entrypoint does it
  (the shop schema, then ``deploy/compose/postgres/initdb-roles.sh``, with the
  passwords in secret files), on a real PostgreSQL; then the sql and postgres
  exporters, built from their Compose configs with only the address changed
  (``postgres`` is a Compose service name), log in with those passwords and
  every query succeeds: the roles' grants are enough and no more.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from exporters.cli import build_exporter
from exporters.common.config import ConfigNode
from exporters.sql.demo import seed
from tests import pg
from tests.compose.files import ROOT, load_yaml

CONFIGS = ROOT / "deploy" / "compose" / "exporters"
SCHEMA = ROOT / "exporters" / "sql" / "demo" / "schema.sql"
ROLES_SCRIPT = ROOT / "deploy" / "compose" / "postgres" / "initdb-roles.sh"
PASSWORDS = {"vigil_pg_password": "monitor pw with 'quote", "vigil_sql_password": "reader-pw-2"}


@pytest.fixture()
def secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Secret files as Compose mounts them, and the NAME_FILE variables the service sets."""
    directory = tmp_path / "secrets"
    directory.mkdir()
    for name, text in {**PASSWORDS, "payments_probe_token": "Bearer t0ken"}.items():
        (directory / name).write_text(text + "\n")
        monkeypatch.setenv(f"{name.upper()}_FILE", str(directory / name))
    return directory


def _build(name: str, data: dict[str, Any]):
    module = __import__(f"exporters.{name}", fromlist=["build"])
    return module.build(ConfigNode(data, str(CONFIGS / f"{name}.yml")))


@pytest.mark.parametrize("name", ["http", "postgres", "sql"])
def test_each_compose_config_is_valid(name: str, secret_files: Path) -> None:
    exporter = build_exporter(name, str(CONFIGS / f"{name}.yml"))
    exporter.stop()


def test_the_host_config_is_valid_under_a_host_root(tmp_path: Path) -> None:
    """``rootfs: /host`` is checked at start; here the host root is a directory with a proc/."""
    (tmp_path / "proc").mkdir()
    data = load_yaml(CONFIGS / "host.yml")
    assert data["rootfs"] == "/host"
    _build("host", {**data, "rootfs": str(tmp_path)}).stop()


@pytest.fixture(scope="module")
def demo_database() -> Iterator[pg.PgCluster]:
    if not pg.available():  # pragma: no cover - depends on the machine
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = pg.PgCluster.create()
    cluster.start()
    try:
        cluster.create_database("shop")
        yield cluster
    finally:
        cluster.destroy()


def _psql_env(cluster: pg.PgCluster, secrets_dir: Path) -> dict[str, str]:
    return {**os.environ, "PGHOST": str(cluster.socket_dir), "PGPORT": str(cluster.port),
            "POSTGRES_USER": "postgres", "POSTGRES_DB": "shop", "SECRETS_DIR": str(secrets_dir)}


@pytest.mark.slow
def test_the_demo_roles_let_the_exporters_in_and_no_further(
        demo_database: pg.PgCluster, secret_files: Path) -> None:
    psql = str(pg.find_bin_dir() / "psql")
    env = _psql_env(demo_database, secret_files)
    # what the postgres image's entrypoint does with /docker-entrypoint-initdb.d/, in order
    subprocess.run([psql, "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-q", "-U", "postgres",
                    "-d", "shop", "-f", str(SCHEMA)], env=env, check=True, capture_output=True,
                   timeout=60)
    script = subprocess.run(["sh", str(ROLES_SCRIPT)], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert script.returncode == 0, script.stderr
    assert not any(p in script.stdout + script.stderr for p in PASSWORDS.values())
    with demo_database.connect("shop", autocommit=False) as conn:
        seed.load(conn, seed.generate(7), schema=False)

    tcp = {"host": "127.0.0.1", "port": str(demo_database.port)}
    sql_config = load_yaml(CONFIGS / "sql.yml")
    sql_exporter = _build("sql", {**sql_config, "dsn": _readdress(sql_config["dsn"], tcp)})
    postgres_config = load_yaml(CONFIGS / "postgres.yml")
    postgres_exporter = _build("postgres", {**postgres_config, "dsn": _readdress(
        postgres_config["dsn"], tcp)})
    try:
        for task in sql_exporter.tasks + postgres_exporter.tasks:
            task.run_once()
        sql_registry = sql_exporter.registry
        assert sql_exporter.tasks
        for task in sql_exporter.tasks:
            assert sql_registry.get_sample_value("vigil_sql_query_success", {"query": task.name}) == 1
        assert sql_registry.get_sample_value("vigil_business_failed_logins_total") is not None
        assert postgres_exporter.registry.get_sample_value("vigil_pg_up") == 1
    finally:
        sql_exporter.stop()
        postgres_exporter.stop()

    reader = _readdress(sql_config["dsn"], tcp)
    with psycopg.connect(reader, password=PASSWORDS["vigil_sql_password"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM orders")
    monitor = _readdress(postgres_config["dsn"], tcp)
    with psycopg.connect(monitor, password=PASSWORDS["vigil_pg_password"], autocommit=True) as conn:
        assert conn.execute("SELECT pg_has_role('pg_monitor', 'member')").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE vigil_monitor_may_not (id int)")


def _readdress(dsn: str, changes: dict[str, str]) -> str:
    """``dsn`` with some key=value parts replaced (the Compose host becomes loopback)."""
    parts = dict(part.split("=", 1) for part in dsn.split())
    parts.update(changes)
    return " ".join(f"{k}={v}" for k, v in parts.items())
