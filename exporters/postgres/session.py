"""One PostgreSQL connection that survives the server going away.

Both database exporters (``postgres`` and ``sql``) need the same three
guarantees from their connection, so they live here once:

* every statement runs in a **read-only transaction** with a
  ``statement_timeout`` set by ``SET LOCAL`` (``set_config(..., true)``), so a
  monitoring query can neither write nor outlive its budget — the server
  itself cancels it, nothing is left running in ``pg_stat_activity``;
* a broken connection is dropped and reopened on a later run, with
  exponential **backoff** between failed attempts so a dead server is not
  hammered with connection attempts;
* the connection string never reaches a log line with its password
  (:func:`exporters.common.secrets.redact`);
* :attr:`PgSession.reachable` says whether the last attempt reached the
  server, which is what ``vigil_pg_up`` reports.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from exporters.common.secrets import redact

T = TypeVar("T")
log = logging.getLogger(__name__)


class SourceUnavailable(RuntimeError):
    """The database cannot be reached right now (connect failed or backing off)."""


class PgSession:
    """A lazily opened, self-healing connection for periodic read-only queries.

    ``run(fn, timeout=...)`` opens the connection if needed, runs ``fn`` with
    a cursor inside ``BEGIN READ ONLY`` + ``SET LOCAL statement_timeout`` and
    commits. Errors propagate to the caller (which turns them into metrics);
    a connection-level failure also discards the connection so that the next
    run reconnects. After a failed *connect*, further attempts wait
    ``backoff_initial`` doubling up to ``backoff_max`` seconds; runs during
    that wait raise :class:`SourceUnavailable` at once instead of blocking.

    One session is used by one thread at a time; a lock enforces it.
    """

    def __init__(
        self,
        dsn: str,
        *,
        password: str | None = None,
        application_name: str = "vigil",
        connect_timeout: float = 5.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dsn = dsn
        self._password = password
        self._application_name = application_name
        self._connect_timeout = max(1, round(connect_timeout))
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self._failures = 0
        self._next_attempt = 0.0
        self._lock = threading.Lock()
        self._reachable = False

    @property
    def redacted_dsn(self) -> str:
        return redact(self._dsn)

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    @property
    def reachable(self) -> bool:
        """True when the last run reached the server (even if its query failed)."""
        return self._reachable

    def _connect(self) -> psycopg.Connection[Any]:
        now = self._clock()
        if now < self._next_attempt:
            raise SourceUnavailable(
                f"reconnect to {self.redacted_dsn} in {self._next_attempt - now:.1f}s"
            )
        kwargs: dict[str, Any] = {
            "autocommit": False,
            "connect_timeout": self._connect_timeout,
            "application_name": self._application_name,
        }
        if self._password is not None:
            kwargs["password"] = self._password
        try:
            conn = psycopg.connect(self._dsn, **kwargs)
        except psycopg.Error as exc:
            self._failures += 1
            delay = min(self._backoff_max, self._backoff_initial * 2 ** (self._failures - 1))
            self._next_attempt = now + delay
            log.warning("cannot connect to %s (retry in %.1fs): %s",
                        self.redacted_dsn, delay, _first_line(exc))
            raise SourceUnavailable(_first_line(exc)) from exc
        conn.read_only = True
        if self._failures:
            log.info("connected to %s again", self.redacted_dsn)
        self._failures = 0
        self._next_attempt = 0.0
        return conn

    def run(self, fn: Callable[[psycopg.Cursor[Any]], T], *, timeout: float) -> T:
        """Run ``fn(cursor)`` in one read-only transaction limited to ``timeout`` s."""
        with self._lock:
            if self._conn is None or self._conn.closed:
                try:
                    self._conn = self._connect()
                except SourceUnavailable:
                    self._reachable = False
                    raise
            conn = self._conn
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        (str(max(1, round(timeout * 1000))),),
                    )
                    result = fn(cur)
            except Exception:
                # A query error (or a result the caller rejects) still means
                # the server answered; only a lost connection means it did not.
                self._reachable = not (conn.broken or conn.closed)
                if not self._reachable:
                    self._discard()
                raise
            self._reachable = True
            return result

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._discard()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
