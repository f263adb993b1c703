"""Make the demo shop live, and make trouble the default spec catches.

:class:`Workload` is the steady traffic: page views and API calls on the storefront
(which writes the access log), and in the database orders placed and completed,
payments captured, sessions, logins (a few failing, as in life) and satisfaction
answers. It runs in one background thread at a bounded rate.

The fault functions below are the trouble, each callable on its own (tests use them
one at a time); :data:`SCHEDULE` is the order the demo plays them in, in seconds
after every target is up. Which alert each one should raise, with the demo spec:

==========================  =============================================  ==========
fault                        what it does                                  alert
==========================  =============================================  ==========
failed_login_burst(conn)     150 failed logins from one address            FailedLogins (warning, security)
suspicious_activity(conn)    one flagged security event                    SuspiciousActivity (critical)
deadlocks(dsn)               6 real deadlocks between two sessions         Deadlocks (critical)
slow_queries(dsn)            sessions running a 90 s statement             QueryTime (warning)
revenue_dip(conn)            half of the last day's captured payments      DailyRevenue, with history
                             refunded
error_spike(storefront)      30 % of requests answered 503                 ErrorRate (critical),
                                                                           AvailabilityBudgetBurn (page)
probe_target_down(payments)  the HTTPS payments API stops answering        EndpointDown (critical)
Fill(directory, budget)      the spool directory grows steadily to 80 %    DiskUsageForecast (high),
                             of its budget, then stops                     never DiskUsage
stop_database(stack)         PostgreSQL stopped (``stack.stop_postgres``)  exporters report it down
==========================  =============================================  ==========

The fill is what a forecast is for: at its rate the spool would be full within
minutes, so the forecast (`90% within 5m over 2m` in the demo spec) fires while it is
still far below the 90 % line, and the static alert at that line never does.

The revenue dip lowers ``vigil_business_daily_revenue`` at once, but its alert
compares with the same hour of past weeks and never fires on an empty history; it
fires only where weeks of history were loaded.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests

from generator.demo.shop import PaymentsApi, Storefront

REQUESTS_PER_SECOND = 8
SHOP_WRITES_EVERY = 1.0  # seconds between database writes of the steady workload


# -- faults -------------------------------------------------------------------


def failed_login_burst(conn: psycopg.Connection[Any], count: int = 150) -> None:
    """``count`` failed logins for many accounts from one address (credential stuffing)."""
    count = max(1, min(count, 10_000))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO login_attempts (username, source_ip, succeeded) VALUES (%s, %s, false)",
            [(f"user{n}", "203.0.113.66") for n in range(count)],
        )


def suspicious_activity(conn: psycopg.Connection[Any], kind: str = "card_testing") -> None:
    """One event the detectors flag as suspicious."""
    conn.execute(
        "INSERT INTO security_events (kind, flagged, source_ip, detail)"
        " VALUES (%s, true, '203.0.113.66', 'many small card authorisations')", (kind,))


def deadlocks(dsn: str, count: int = 6) -> int:
    """Cause ``count`` real deadlocks: two sessions update two rows in opposite order.

    Returns how many PostgreSQL detected (each aborts one of the two transactions).
    """
    count = max(1, min(count, 50))
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS demo_locks (id int PRIMARY KEY, n int)")
        setup.execute("INSERT INTO demo_locks VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING")
    detected = 0
    for _ in range(count):
        barrier = threading.Barrier(2)
        results: list[bool] = []

        def session(first: int, second: int, barrier: threading.Barrier = barrier,
                    results: list[bool] = results) -> None:
            with psycopg.connect(dsn) as conn:
                try:
                    conn.execute("UPDATE demo_locks SET n = n + 1 WHERE id = %s", (first,))
                    barrier.wait(timeout=10)
                    conn.execute("UPDATE demo_locks SET n = n + 1 WHERE id = %s", (second,))
                    conn.commit()
                except psycopg.errors.DeadlockDetected:
                    conn.rollback()
                    results.append(True)

        threads = [threading.Thread(target=session, args=(1, 2)),
                   threading.Thread(target=session, args=(2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        detected += len(results)
    return detected


def slow_queries(dsn: str, seconds: float = 90, sessions: int = 2) -> list[threading.Thread]:
    """``sessions`` background statements that each run ``seconds`` (a slow report).

    Returns the threads; they end by themselves when the statements finish (or when
    the database stops).
    """
    seconds = max(1.0, min(seconds, 3600.0))

    def run() -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_sleep(%s)", (seconds,))

    threads = [threading.Thread(target=run, daemon=True, name="vigil-demo-slow-query")
               for _ in range(max(1, min(sessions, 10)))]
    for thread in threads:
        thread.start()
    return threads


def revenue_dip(conn: psycopg.Connection[Any], share: float = 0.5) -> None:
    """Refund ``share`` of the last day's captured payments: daily revenue drops."""
    conn.execute(
        "UPDATE payments SET status = 'refunded' WHERE id IN ("
        " SELECT id FROM payments WHERE status = 'captured'"
        " AND created_at > now() - interval '24 hours' AND random() < %s)", (share,))


def error_spike(storefront: Storefront, share: float = 0.3) -> None:
    """``share`` of storefront requests fail with 503 until :func:`end_error_spike`."""
    storefront.error_share = max(0.0, min(share, 1.0))


def end_error_spike(storefront: Storefront) -> None:
    storefront.error_share = 0.0


def probe_target_down(payments: PaymentsApi) -> None:
    """The payments API stops answering (its port closes)."""
    payments.stop()


def probe_target_up(payments: PaymentsApi) -> None:
    payments.start()


class Fill:
    """A file in ``directory`` that grows steadily to ``up_to`` of ``budget_bytes`` over
    ``seconds``, then stops; :meth:`empty` removes it. Written in a background thread in
    chunks every half second, so the growth is a line, not steps; bounded by the budget
    share it aims at (and 1 GiB), whatever it is asked."""

    FILE = "fill.bin"
    TICK = 0.5
    MAX_BYTES = 1 << 30

    def __init__(self, directory: Path, budget_bytes: int, up_to: float = 0.8,
                 seconds: float = 120.0) -> None:
        self.path = Path(directory) / self.FILE
        self.target = int(min(max(0.0, min(up_to, 1.0)) * budget_bytes, self.MAX_BYTES))
        self.seconds = max(self.TICK, seconds)
        self.started_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-demo-fill", daemon=True)

    def start(self) -> Fill:
        self.started_at = time.time()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def empty(self) -> None:
        self.stop()
        self.path.unlink(missing_ok=True)

    @property
    def done(self) -> bool:
        return self.started_at is not None and not self._thread.is_alive()

    def _run(self) -> None:
        assert self.started_at is not None
        written = 0
        with self.path.open("ab") as out:
            while written < self.target and not self._stop.is_set():
                share = min(1.0, (time.time() - self.started_at) / self.seconds)
                due = int(self.target * share) - written
                if due > 0:
                    out.write(b"\0" * due)  # real blocks: zeros written are allocated
                    out.flush()
                    os.fsync(out.fileno())
                    written += due
                self._stop.wait(self.TICK)


def fill_spool(stack: Any) -> Fill:
    """Start filling the stack's spool directory (``stack.spool``) to 80 % of its budget."""
    stack.spool_fill = Fill(stack.spool, stack.spool_budget_bytes)
    return stack.spool_fill.start()


def empty_spool(stack: Any) -> None:
    if stack.spool_fill is not None:
        stack.spool_fill.empty()


def stop_database(stack: Any) -> None:
    """Stop the shop's PostgreSQL (``stack`` is a :class:`~generator.demo.stack.Stack`)."""
    stack.stop_postgres()


def start_database(stack: Any) -> None:
    stack.start_postgres()


# -- the schedule -------------------------------------------------------------


@dataclass(frozen=True)
class Trouble:
    """One scheduled fault: started ``at`` seconds in, undone after ``lasts`` (if any)."""

    at: float
    name: str
    expect: str  # the alert a person should see
    start: Callable[[Any], Any]
    lasts: float | None = None
    end: Callable[[Any], Any] | None = None


def _with_conn(fault: Callable[[psycopg.Connection[Any]], None]) -> Callable[[Any], None]:
    def run(stack: Any) -> None:
        with stack.connect() as conn:
            fault(conn)
    return run


SCHEDULE: tuple[Trouble, ...] = (
    Trouble(5, "error spike (30% of requests fail)", "ErrorRate, AvailabilityBudgetBurn",
            lambda s: error_spike(s.storefront), 150, lambda s: end_error_spike(s.storefront)),
    Trouble(8, "failed-login burst", "FailedLogins", _with_conn(failed_login_burst)),
    Trouble(12, "suspicious activity", "SuspiciousActivity", _with_conn(suspicious_activity)),
    Trouble(16, "deadlocks", "Deadlocks", lambda s: deadlocks(s.pg_dsn)),
    Trouble(20, "slow queries", "QueryTime", lambda s: slow_queries(s.pg_dsn, 120)),
    Trouble(25, "payments API down", "EndpointDown",
            lambda s: probe_target_down(s.payments), 90, lambda s: probe_target_up(s.payments)),
    Trouble(30, "spool fills", "DiskUsageForecast", fill_spool, 240, empty_spool),
    Trouble(40, "revenue dip", "DailyRevenue (needs weeks of history)", _with_conn(revenue_dip)),
)


class Workload:
    """Steady shop traffic plus :data:`SCHEDULE`, in one background thread.

    ``events`` lists what happened, newest last, as ``(time.time(), text)``; the live
    summary shows it. Faults that raise are reported there, not propagated: the demo
    keeps running when, say, the database is down.
    """

    def __init__(self, stack: Any, schedule: tuple[Trouble, ...] = SCHEDULE,
                 seed: int = 11) -> None:
        self.stack = stack
        self.schedule = schedule
        self.events: list[tuple[float, str]] = []
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = requests.Session()
        # The shop is on 127.0.0.1: no proxy from the environment may stand in between.
        self._http.trust_env = False
        self._conn: psycopg.Connection[Any] | None = None

    def start(self) -> None:
        """Answer the morning's satisfaction survey, then run in the background.

        The seed's ratings average just under the spec's 4.0; the survey's happier
        answers keep the shop's normal state quiet, so that what fires is the trouble.
        """
        with contextlib.suppress(psycopg.Error), self.stack.connect() as conn:
            conn.cursor().executemany(
                "INSERT INTO satisfaction_responses (rating) VALUES (%s)",
                [(self._rng.choice((4, 5, 5)),) for _ in range(60)])
        self._thread = threading.Thread(target=self._run, name="vigil-demo-workload",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._http.close()

    def _note(self, text: str) -> None:
        self.events.append((time.time(), text))
        del self.events[:-200]

    def _run(self) -> None:
        started = time.monotonic()
        pending = sorted(self.schedule, key=lambda t: t.at)
        undo: list[tuple[float, Trouble]] = []
        next_write = 0.0
        while not self._stop.is_set():
            now = time.monotonic() - started
            while pending and pending[0].at <= now:
                trouble = pending.pop(0)
                self._fault(f"trouble: {trouble.name} (expect {trouble.expect})", trouble.start)
                if trouble.end is not None and trouble.lasts is not None:
                    undo.append((trouble.at + trouble.lasts, trouble))
            for item in [u for u in undo if u[0] <= now]:
                undo.remove(item)
                assert item[1].end is not None
                self._fault(f"recovered: {item[1].name}", item[1].end)
            if now >= next_write:
                next_write = now + SHOP_WRITES_EVERY
                self._shop_writes()
            self._page_views()
            self._stop.wait(1.0 / REQUESTS_PER_SECOND)
        for _, trouble in undo:  # leave nothing broken behind
            if trouble.end is not None:
                with contextlib.suppress(Exception):
                    trouble.end(self.stack)

    def _fault(self, text: str, action: Callable[[Any], Any]) -> None:
        self._note(text)
        try:
            action(self.stack)
        except Exception as exc:  # the demo goes on; the summary shows what failed
            self._note(f"failed: {text}: {exc}")

    def _page_views(self) -> None:
        rng = self._rng
        path = rng.choice(("/", "/api/cart", "/checkout", "/static/app.js",
                           f"/api/orders/{rng.randint(1, 500)}"))
        with contextlib.suppress(requests.RequestException):
            self._http.get(f"http://127.0.0.1:{self.stack.ports.shop}{path}", timeout=2)

    def _shop_writes(self) -> None:
        """One second of shop life in the database; reconnects after an outage."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self.stack.connect()
            self._write_one_second(self._conn)
        except psycopg.Error:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    self._conn.close()
            self._conn = None

    def _write_one_second(self, conn: psycopg.Connection[Any]) -> None:
        rng = self._rng
        user = rng.randint(1, 120)
        conn.execute("INSERT INTO sessions (user_id, started_at, last_seen_at)"
                     " VALUES (%s, now(), now())", (user,))
        conn.execute("INSERT INTO login_attempts (username, source_ip, succeeded)"
                     " VALUES (%s, %s, %s)",
                     (f"user{user}", f"198.51.100.{rng.randint(1, 254)}", rng.random() > 0.05))
        if rng.random() < 0.5:
            amount = rng.randint(1500, 15000) / 100
            row = conn.execute(
                "INSERT INTO orders (user_id, status, total_amount, created_at, completed_at)"
                " VALUES (%s, 'completed', %s, now() - interval '90 seconds', now())"
                " RETURNING id", (user, amount)).fetchone()
            assert row is not None
            conn.execute("INSERT INTO payments (order_id, amount, status)"
                         " VALUES (%s, %s, 'captured')", (row[0], amount))
            conn.execute("INSERT INTO satisfaction_responses (order_id, rating) VALUES (%s, %s)",
                         (row[0], rng.choices((3, 4, 5), (1, 3, 6))[0]))
