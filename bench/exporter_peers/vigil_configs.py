"""Configuration of the Vigil side of each pair, in each exporter's own YAML format.

The password reaches the Vigil exporters through an environment variable
(`{env: NAME}`), the way a deployment passes secrets; the Go peers get it in
their DSN, which is how they are usually configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

PASSWORD_ENV = "VIGIL_BENCH_PG_PASSWORD"
HTTP_TARGET = "bench-target"


class NotYet(RuntimeError):
    """The Vigil exporter's configuration format is not known yet."""


@dataclass(frozen=True)
class Query:
    name: str
    help: str
    sql: str
    labels: tuple[str, ...]
    values: tuple[str, ...]

    @property
    def always_present(self) -> bool:
        """Counts always return a row; averages and ratios may be NULL (no series)."""
        return "count(" in self.sql.lower() or "coalesce(" in self.sql.lower()

    def as_sql_exporter(self) -> dict[str, Any]:
        return {"name": self.name, "help": self.help, "labels": list(self.labels),
                "values": list(self.values), "query": self.sql}


def host() -> str:
    """exporters/host with no TCP targets, backups or certificates: the kernel
    counters node_exporter's matched collectors read (CPU, memory, filesystems,
    disks, network, load), with the default per-scrape filesystem time limit."""
    return yaml.safe_dump({"filesystems": {"timeout": "1s"}}, sort_keys=False)


def _dsn(port: int, dbname: str) -> str:
    return f"host=127.0.0.1 port={port} dbname={dbname} user=postgres sslmode=disable"


def postgres(port: int, password: str, interval: float) -> tuple[str, dict[str, str]]:
    """exporters/postgres: one DSN, password from the environment, query interval."""
    config = {
        "dsn": _dsn(port, "postgres"),
        "password": {"env": PASSWORD_ENV},
        "interval": f"{interval:g}s",
    }
    return yaml.safe_dump(config, sort_keys=False), {PASSWORD_ENV: password}


def http(url: str, interval: float) -> str:
    """exporters/http probing the same URL as blackbox_exporter's http_2xx module
    (GET, any 2xx, 5 s timeout), no access log: blackbox has no equivalent."""
    config = {"probes": [{
        "name": HTTP_TARGET, "url": url, "method": "GET", "expected_status": ["2xx"],
        "timeout": "5s", "interval": f"{interval:g}s",
    }]}
    return yaml.safe_dump(config, sort_keys=False)


def _default_queries() -> list[dict[str, Any]]:
    """The sql exporter's shipped default queries (the demo shop's business metrics)."""
    try:
        from exporters.sql.config import DEFAULT_QUERIES
    except ImportError as exc:
        raise NotYet(f"sql ({exc})") from exc
    return list(yaml.safe_load(DEFAULT_QUERIES.read_text())["queries"])


def sql(port: int, password: str, dbname: str, interval: float) -> tuple[str, dict[str, str]]:
    """exporters/sql running its default queries, each on the benchmark's interval
    (the peer has one interval per job, so both sides run every query equally often)."""
    queries = [{**query, "interval": f"{interval:g}s"} for query in _default_queries()]
    config = {
        "dsn": _dsn(port, dbname),
        "password": {"env": PASSWORD_ENV},
        "queries": queries,
    }
    return yaml.safe_dump(config, sort_keys=False), {PASSWORD_ENV: password}


def sql_queries() -> list[Query]:
    """The same default queries in the terms sql_exporter (justwatchcom) uses.

    sql_exporter names each metric `sql_<query name>`, takes label columns and
    value columns, and runs the SQL text unchanged.
    """
    result = []
    for query in _default_queries():
        labels = query.get("labels") or []
        label_columns = list(labels.values()) if isinstance(labels, dict) else list(labels)
        result.append(Query(
            name=query["metric"], help=query["help"], sql=query["sql"],
            labels=tuple(label_columns), values=(query["value"],),
        ))
    return result


def load_shop(cluster: Any, dbname: str) -> None:
    """Create `dbname` and load the demo shop schema and its deterministic seed rows."""
    try:
        from exporters.sql.demo import seed
    except ImportError as exc:
        raise NotYet(f"sql demo shop ({exc})") from exc
    cluster.create_database(dbname)
    with cluster.connect(dbname, autocommit=False) as conn:
        seed.load(conn, seed.generate())
