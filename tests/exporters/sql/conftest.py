"""A real PostgreSQL cluster with the demo shop loaded, read by a read-only role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter
from exporters.sql.demo import seed
from exporters.sql.exporter import build
from tests import pg

pytestmark = pytest.mark.slow

if not pg.available():  # pragma: no cover - depends on the machine
    pytest.skip("PostgreSQL server binaries are not installed", allow_module_level=True)

READER = "vigil_reader"
READER_PASSWORD = "reader-secret-pw"
SEED = 42


@pytest.fixture(scope="session")
def shop() -> Iterator[pg.PgCluster]:
    """The demo shop (seed 42) in database ``shop``; ``vigil_reader`` may only SELECT."""
    cluster = pg.PgCluster.create()
    cluster.start()
    cluster.create_database("shop")
    with cluster.connect("shop", autocommit=False) as conn:
        seed.load(conn, seed.generate(SEED))
    cluster.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
    cluster.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}", dbname="shop")
    yield cluster
    cluster.destroy()


@pytest.fixture
def reader() -> tuple[str, str]:
    """The read-only role's name and password."""
    return READER, READER_PASSWORD


@pytest.fixture
def make_exporter(shop: pg.PgCluster) -> Iterator[Callable[..., Exporter]]:
    """Build in-process sql exporters from a config mapping (dsn/password filled in)."""
    built: list[Exporter] = []

    def make(config: dict | None = None) -> Exporter:
        data = {
            "dsn": shop.dsn("shop", user=READER, tcp=True),
            "password": READER_PASSWORD,
            "connect_timeout": "2s",
            "backoff_max": "500ms",
            **(config or {}),
        }
        exporter = build(ConfigNode(data, "sql.yml"))
        built.append(exporter)
        return exporter

    yield make
    for exporter in built:
        exporter.stop()
