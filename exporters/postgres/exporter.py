"""Wire the postgres exporter: config → one session → periodic query groups.

Why this shape: statistics queries are cheap but not free, and a server
under stress answers slowly. Each query group of :mod:`.queries` is a
:class:`~exporters.common.tasks.PeriodicTask` on the configured interval, so
a scrape only reads the last results and costs the same whether PostgreSQL is
fast, slow or down. All groups share one :class:`~.session.PgSession` — one
connection to the server, whatever the number of scrapes.

When the server is down every group fails, its series disappear (no stale
values), ``vigil_pg_up`` reads 0 and ``/metrics`` still answers; the session
reconnects with backoff and the next runs fill the series again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric
from psycopg import conninfo as pg_conninfo

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter, Source
from exporters.common.tasks import PeriodicTask
from exporters.postgres.queries import GROUPS, Group
from exporters.postgres.session import PgSession, answer_deadline

PREFIX = "vigil_pg"
log = logging.getLogger(__name__)

# Every key of the config file (listen address and web config are flags).
CONFIG_KEYS = (
    "dsn", "password", "interval", "timeout", "connect_timeout", "backoff_max",
)


@dataclass(frozen=True)
class PostgresSettings:
    """What the postgres exporter needs to know, validated."""

    dsn: str
    password: str | None = None
    interval: float = 15.0
    timeout: float = 5.0  # statement_timeout of each query group
    connect_timeout: float = 5.0
    backoff_max: float = 30.0


def parse_dsn(node: ConfigNode) -> str:
    """The ``dsn`` value, checked by libpq's own parser.

    The parser's message is not shown: for a malformed string it quotes the
    part it choked on, which may be the password.
    """
    dsn = node.str()
    try:
        pg_conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise node.error(
            "not a valid libpq connection string (key=value pairs or a postgresql:// URL)"
        ) from None
    return dsn


def parse_settings(config: ConfigNode) -> PostgresSettings:
    """Read and validate this exporter's keys; unknown keys are refused."""
    config.reject_unknown(CONFIG_KEYS)
    settings = PostgresSettings(
        dsn=parse_dsn(config.child("dsn")),
        password=config.secret("password", None),
        interval=config.duration("interval", 15.0),
        timeout=config.duration("timeout", 5.0),
        connect_timeout=config.duration("connect_timeout", 5.0),
        backoff_max=config.duration("backoff_max", 30.0),
    )
    if settings.timeout > settings.interval:
        raise config.error(
            f"timeout ({settings.timeout:g}s) must not exceed interval "
            f"({settings.interval:g}s)", "timeout",
        )
    return settings


def _up_family(session: PgSession, tasks: Sequence[PeriodicTask]) -> list[Metric]:
    """``vigil_pg_up``: the session reached the server, and that news is recent.

    The session's flag alone would read 1 forever if the tasks stopped running
    (an old "up" is a lie); so it counts only while some group is current.
    """
    up = session.reachable and any(task.is_current() for task in tasks)
    return [
        GaugeMetricFamily(
            "vigil_pg_up",
            "Whether the last attempt to query the server reached it (1) or not (0).",
            value=1 if up else 0,
        )
    ]


def _group_task(name: str, group: Group, session: PgSession,
                settings: PostgresSettings) -> PeriodicTask:
    def run() -> list[Metric]:
        return session.run(group, timeout=settings.timeout)

    # The server cancels a slow statement at settings.timeout and the session
    # drops a server that stops answering; the task's own limit is a backstop.
    budget = settings.connect_timeout + answer_deadline(settings.timeout) + 1.0
    return PeriodicTask(name, run, interval=settings.interval, timeout=budget)


def build_exporter(settings: PostgresSettings) -> Exporter:
    """An :class:`Exporter` for ``settings`` (not started)."""
    session = PgSession(
        settings.dsn,
        password=settings.password,
        application_name="vigil-postgres-exporter",
        connect_timeout=settings.connect_timeout,
        backoff_initial=min(1.0, settings.backoff_max),
        backoff_max=settings.backoff_max,
    )
    tasks = [_group_task(name, group, session, settings) for name, group in GROUPS.items()]
    log.info("reading statistics from %s every %gs", session.redacted_dsn, settings.interval)
    return Exporter(
        PREFIX,
        sources=[Source("up", lambda: _up_family(session, tasks), self_metrics=False)],
        tasks=tasks,
        on_stop=[session.close],
    )


def build(config: ConfigNode) -> Exporter:
    """Entry point used by ``vigil exporter postgres``."""
    return build_exporter(parse_settings(config))
