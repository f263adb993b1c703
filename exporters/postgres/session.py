"""One PostgreSQL connection that survives the server going away.

Both database exporters (``postgres`` and ``sql``) need the same
guarantees from their connection, so they live here once:

* every statement runs in a **read-only transaction** (``BEGIN READ ONLY``,
  checked with ``current_setting('transaction_read_only')`` before any query)
  with ``statement_timeout`` and ``idle_in_transaction_session_timeout`` set
  by ``SET LOCAL`` (``set_config(..., true)``), so a monitoring query can
  neither write nor outlive its budget — the server itself cancels it,
  nothing is left running in ``pg_stat_activity``;
* the transaction is always **rolled back**, never committed: whatever a
  query changes in its session (``set_config(name, value, false)``) is
  undone with it, so one run cannot loosen the next one's limits;
* session-level advisory locks a query took (``pg_advisory_lock``, the one
  thing a read-only statement can hold past its transaction) are released
  at the end of every run, so a query cannot leave a lock that blocks the
  application until the exporter restarts;
* a server that **stops answering** (frozen, TCP still open: its own
  ``statement_timeout`` cannot fire) is detected on the client: when a run
  has not finished :func:`answer_deadline` seconds after it started, the
  connection's socket is shut down, the run fails at once, ``reachable``
  turns false and the next run reconnects;
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
import os
import socket
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


def answer_deadline(timeout: float) -> float:
    """Seconds after which a run with statement timeout ``timeout`` means "no answer".

    A run holds a few statements, each bounded by the server at ``timeout``;
    twice that plus a second is more than a live server ever needs, and soon
    enough for ``vigil_pg_up`` to tell the truth about a frozen one.
    """
    return 2 * timeout + 1.0


class _AnswerDeadline:
    """Shut down a connection's socket if the run has not ended by a deadline.

    Why a socket shutdown: a blocked libpq read cannot be interrupted from
    another thread, and a cancel request goes to the postmaster, which is just
    as frozen. ``shutdown(2)`` on the socket wakes the blocked read at once
    with an error; the connection is then broken and is discarded.
    """

    def __init__(self, conn: psycopg.Connection[Any], seconds: float,
                 on_expire: Callable[[], None]) -> None:
        self._conn = conn
        self._on_expire = on_expire
        self._lock = threading.Lock()
        self._done = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _AnswerDeadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            self._on_expire()
            # A duplicate of the descriptor: shutting it down affects the
            # connection, closing it leaves libpq's own descriptor alone.
            with (contextlib.suppress(OSError, psycopg.Error),
                  socket.socket(fileno=os.dup(self._conn.fileno())) as sock):
                sock.shutdown(socket.SHUT_RDWR)


class PgSession:
    """A lazily opened, self-healing connection for periodic read-only queries.

    ``run(fn, timeout=...)`` opens the connection if needed, runs ``fn`` with
    a cursor inside ``BEGIN READ ONLY`` + ``SET LOCAL statement_timeout`` and
    rolls back. Errors propagate to the caller (which turns them into metrics);
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
        """Run ``fn(cursor)`` in one read-only transaction limited to ``timeout`` s.

        The transaction is rolled back afterwards whatever happens: a
        monitoring run has nothing to commit.
        """
        with self._lock:
            if self._conn is None or self._conn.closed:
                try:
                    self._conn = self._connect()
                except SourceUnavailable:
                    self._reachable = False
                    raise
            conn = self._conn
            deadline = answer_deadline(timeout)
            watchdog = _AnswerDeadline(conn, deadline, self._mark_unreachable)
            try:
                with watchdog, conn.transaction(force_rollback=True), conn.cursor() as cur:
                    _limit_transaction(cur, timeout)
                    try:
                        # A savepoint, so that the transaction is still usable
                        # after a failed query, for the clean-up below.
                        with conn.transaction():
                            result = fn(cur)
                    finally:
                        if not (watchdog.expired or conn.broken):
                            _release_session_locks(cur)
            except Exception as exc:
                # A query error (or a result the caller rejects) still means
                # the server answered; only a lost connection means it did not.
                self._reachable = not (watchdog.expired or conn.broken or conn.closed)
                if not self._reachable:
                    self._discard()
                if watchdog.expired:
                    log.warning("no answer from %s within %gs: connection dropped",
                                self.redacted_dsn, deadline)
                    raise SourceUnavailable(
                        f"no answer from the server within {deadline:g}s; connection dropped"
                    ) from exc
                raise
            self._reachable = True
            return result

    def _mark_unreachable(self) -> None:
        """Called by the deadline timer: ``vigil_pg_up`` drops before the run unwinds."""
        self._reachable = False

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._discard()


def _limit_transaction(cur: psycopg.Cursor[Any], timeout: float) -> None:
    """Set this transaction's time limits and prove it is read-only, in one statement."""
    milliseconds = str(max(1, round(timeout * 1000)))
    cur.execute(
        "SELECT set_config('statement_timeout', %s, true),"
        " set_config('idle_in_transaction_session_timeout', %s, true),"
        " current_setting('transaction_read_only')",
        (milliseconds, milliseconds),
    )
    row = cur.fetchone()
    if row is None or row[2] != "on":
        raise RuntimeError("the transaction is not read-only; refusing to run the query")


def _release_session_locks(cur: psycopg.Cursor[Any]) -> None:
    """Drop session-level advisory locks; a failure here must not hide the run's own error."""
    with contextlib.suppress(psycopg.Error):
        cur.execute("SELECT pg_advisory_unlock_all()")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
