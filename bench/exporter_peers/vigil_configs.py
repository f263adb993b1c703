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


class NotYet(RuntimeError):
    """The Vigil exporter's configuration format is not known yet."""


@dataclass(frozen=True)
class Query:
    name: str
    help: str
    sql: str
    labels: tuple[str, ...]
    values: tuple[str, ...]

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
        "name": "bench-target", "url": url, "method": "GET", "expected_status": ["2xx"],
        "timeout": "5s", "interval": f"{interval:g}s",
    }]}
    return yaml.safe_dump(config, sort_keys=False)


def sql(port: int, password: str, dbname: str, interval: float) -> tuple[str, dict[str, str]]:
    raise NotYet("sql")


def sql_queries() -> list[Query]:
    raise NotYet("sql")


def load_shop(cluster: Any, dbname: str) -> None:
    raise NotYet("sql")
