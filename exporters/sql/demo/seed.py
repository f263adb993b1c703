"""Deterministic seed data for the demo shop, and a command to load it.

Why deterministic and relative: the default business queries look at recent
windows (15 minutes, 1 hour, 24 hours). Rows are generated from a fixed
random seed as *ages* ("placed 2 400 s ago") and inserted as
``now() - age``, so the same seed gives the same business metrics whenever
it is loaded. No age falls within :data:`EDGE_MARGIN` seconds of a window
boundary, so the few seconds between loading the data and querying it never
move a row across a window.

:func:`generate` returns plain Python rows; tests compute the expected
metrics from them independently of the SQL. ::

    python -m exporters.sql.demo.seed --dsn "host=127.0.0.1 dbname=shop user=shop_admin"
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).with_name("schema.sql")

# Window lengths (seconds) of the default queries, and how far every
# generated age stays away from each of them.
WINDOWS = (15 * 60, 60 * 60, 24 * 60 * 60)
EDGE_MARGIN = 300
HORIZON = 2 * 24 * 60 * 60  # generate history over the last two days
TABLES = ("satisfaction_responses", "payments", "orders", "sessions",
          "login_attempts", "security_events")


@dataclass(frozen=True)
class Order:
    id: int
    user_id: int
    status: str
    total_amount: Decimal
    age: int  # seconds since created
    completed_age: int | None  # seconds since completed, for completed orders


@dataclass(frozen=True)
class Payment:
    order_id: int
    amount: Decimal
    status: str
    age: int


@dataclass(frozen=True)
class Session:
    user_id: int | None
    started_age: int
    last_seen_age: int


@dataclass(frozen=True)
class LoginAttempt:
    username: str
    source_ip: str
    succeeded: bool
    age: int


@dataclass(frozen=True)
class SatisfactionResponse:
    order_id: int
    rating: int
    age: int


@dataclass(frozen=True)
class SecurityEvent:
    kind: str
    flagged: bool
    source_ip: str
    age: int


@dataclass
class SeedData:
    orders: list[Order] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    login_attempts: list[LoginAttempt] = field(default_factory=list)
    satisfaction_responses: list[SatisfactionResponse] = field(default_factory=list)
    security_events: list[SecurityEvent] = field(default_factory=list)


def _clear_of_edges(age: int) -> bool:
    return all(abs(age - window) > EDGE_MARGIN for window in WINDOWS)


def _age(rng: random.Random, low: int, high: int) -> int:
    """A random age in [low, high] seconds that is clear of every window edge."""
    while True:
        age = rng.randint(low, high)
        if _clear_of_edges(age):
            return age


def _ip(rng: random.Random) -> str:
    return f"198.51.100.{rng.randint(1, 254)}"


def generate(seed: int = 42) -> SeedData:
    """The demo shop's rows for ``seed``: same seed, same rows, same metrics."""
    rng = random.Random(seed)
    data = SeedData()
    # Recent history is denser, so that every window has something in it.
    for order_id in range(1, 241):
        age = _age(rng, 60, 2 * 3600) if order_id <= 60 else _age(rng, 60, HORIZON)
        status = rng.choices(
            ["completed", "shipped", "paid", "pending", "cancelled"], [5, 2, 2, 1, 1]
        )[0]
        completed_age = None
        if status == "completed":
            processing = rng.randint(120, min(age, 3 * 3600)) if age > 120 else age
            completed_age = age - processing
            if not _clear_of_edges(completed_age):
                completed_age = max(0, completed_age - 2 * EDGE_MARGIN - 1)
                if not _clear_of_edges(completed_age):
                    completed_age = 0
        amount = Decimal(rng.randint(500, 25_000)) / 100
        data.orders.append(
            Order(order_id, rng.randint(1, 80), status, amount, age, completed_age)
        )
        if status in ("completed", "shipped", "paid"):
            payment_age = max(0, age - rng.randint(5, 60))
            if not _clear_of_edges(payment_age):
                payment_age = age
            payment_status = rng.choices(["captured", "refunded"], [9, 1])[0]
            data.payments.append(Payment(order_id, amount, payment_status, payment_age))
        elif status == "pending" and rng.random() < 0.5:
            data.payments.append(Payment(order_id, amount, "failed", age))
    for _ in range(400):
        started = _age(rng, 30, 2 * 3600) if rng.random() < 0.6 else _age(rng, 30, HORIZON)
        duration = rng.randint(0, min(started, 1800))
        last_seen = started - duration
        if not _clear_of_edges(last_seen):
            last_seen = started
        user = rng.randint(1, 120) if rng.random() < 0.8 else None
        data.sessions.append(Session(user, started, last_seen))
    for _ in range(500):
        failed = rng.random() < 0.3
        data.login_attempts.append(
            LoginAttempt(f"user{rng.randint(1, 150)}", _ip(rng), not failed,
                         _age(rng, 10, HORIZON))
        )
    completed = [order for order in data.orders if order.completed_age is not None]
    for order in rng.sample(completed, k=min(90, len(completed))):
        rating = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 5, 6])[0]
        assert order.completed_age is not None
        response_age = _age(rng, 0, order.completed_age) if order.completed_age > 0 else 0
        data.satisfaction_responses.append(SatisfactionResponse(order.id, rating, response_age))
    kinds = ["credential_stuffing", "card_testing", "impossible_travel", "port_scan"]
    for _ in range(30):
        data.security_events.append(
            SecurityEvent(rng.choice(kinds), rng.random() < 0.4, _ip(rng),
                          _age(rng, 10, HORIZON))
        )
    return data


def _ago(seconds: int | None) -> str | None:
    return None if seconds is None else f"{seconds} seconds"


def load(conn: Any, data: SeedData, *, schema: bool = True, reset: bool = True) -> None:
    """Create the schema (``schema``), empty it (``reset``) and insert ``data``.

    ``conn`` is a psycopg connection; everything happens in one transaction.
    Timestamps are ``now() - age`` on the server, so they follow its clock.
    """
    with conn.transaction(), conn.cursor() as cur:
        if schema:
            cur.execute(SCHEMA.read_text())
        if reset:
            cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        cur.executemany(
            "INSERT INTO orders (id, user_id, status, total_amount, created_at, completed_at)"
            " VALUES (%s, %s, %s, %s, now() - %s::interval, now() - %s::interval)",
            [(o.id, o.user_id, o.status, o.total_amount, _ago(o.age), _ago(o.completed_age))
             for o in data.orders],
        )
        cur.execute("SELECT setval('orders_id_seq', (SELECT max(id) FROM orders))")
        cur.executemany(
            "INSERT INTO payments (order_id, amount, status, created_at)"
            " VALUES (%s, %s, %s, now() - %s::interval)",
            [(p.order_id, p.amount, p.status, _ago(p.age)) for p in data.payments],
        )
        cur.executemany(
            "INSERT INTO sessions (user_id, started_at, last_seen_at)"
            " VALUES (%s, now() - %s::interval, now() - %s::interval)",
            [(s.user_id, _ago(s.started_age), _ago(s.last_seen_age)) for s in data.sessions],
        )
        cur.executemany(
            "INSERT INTO login_attempts (username, source_ip, succeeded, attempted_at)"
            " VALUES (%s, %s, %s, now() - %s::interval)",
            [(a.username, a.source_ip, a.succeeded, _ago(a.age)) for a in data.login_attempts],
        )
        cur.executemany(
            "INSERT INTO satisfaction_responses (order_id, rating, responded_at)"
            " VALUES (%s, %s, now() - %s::interval)",
            [(r.order_id, r.rating, _ago(r.age)) for r in data.satisfaction_responses],
        )
        cur.executemany(
            "INSERT INTO security_events (kind, flagged, source_ip, occurred_at)"
            " VALUES (%s, %s, %s, now() - %s::interval)",
            [(e.kind, e.flagged, e.source_ip, _ago(e.age)) for e in data.security_events],
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load the Vigil demo shop into PostgreSQL.")
    parser.add_argument("--dsn", required=True, help="libpq connection string (needs write access)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="append instead of emptying the tables")
    args = parser.parse_args(argv)
    import psycopg

    data = generate(args.seed)
    with psycopg.connect(args.dsn) as conn:
        load(conn, data, reset=not args.keep)
    print(f"loaded {len(data.orders)} orders, {len(data.payments)} payments,"
          f" {len(data.sessions)} sessions, {len(data.login_attempts)} login attempts,"
          f" {len(data.satisfaction_responses)} satisfaction responses,"
          f" {len(data.security_events)} security events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
