"""The bounded queue between the HTTP handlers and the database, and its writer.

Why a queue: Alertmanager must get its answer whether or not PostgreSQL is up. A
notification is answered 200 once it is in this queue; a writer thread applies the
queue to the store in order and removes items only after their transaction
committed, so a database outage delays incidents but loses none of them. The queue
is bounded (``capacity`` items): when it is full a notification is answered 503,
which Alertmanager retries for a while and then sends again with the group's next
notification; it never retries an answer forever, and nothing answered 200 is
dropped. While the database is down the writer retries with a backoff (1 s doubling
to ``backoff_max``).

On stop the writer gets ``drain_seconds`` to empty the queue; what is still in it
then is written to the spool file (when one is configured) and read back at the
next start, so a restart during an outage loses nothing either.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from exporters.common.secrets import redact
from exporters.incidents import schema
from exporters.incidents.payload import AlertEvent
from exporters.incidents.policy import Policy
from exporters.incidents.store import Ack, Store

log = logging.getLogger(__name__)
BATCH = 200

Item = AlertEvent | Ack


def _item_json(item: Item) -> dict[str, Any]:
    if isinstance(item, Ack):
        return {"ack": {"incident": item.incident, "by": item.by, "at": item.at}}
    return {"event": item.to_json()}


def _item(data: dict[str, Any]) -> Item:
    if "ack" in data:
        return Ack(**data["ack"])
    return AlertEvent(**data["event"])


class Writer:
    """Owns the queue and the writing connection; see the module docstring."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]], policy: Policy, *,
                 capacity: int = 10_000, backoff_max: float = 30.0,
                 spool: Path | None = None, dsn_for_logs: str = "") -> None:
        self._connect = connect
        self.policy = policy
        self.capacity = capacity
        self.backoff_max = backoff_max
        self.spool = spool
        self._dsn = redact(dsn_for_logs)
        self._items: deque[Item] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self.database_up = False
        self.refused_total = 0
        self.written_total = 0
        self.write_failures_total = 0
        self.last_error = ""

    # -- producers ------------------------------------------------------------------
    def offer(self, items: Sequence[Item]) -> bool:
        """Queue all of ``items`` or none of them (False: the queue is full)."""
        with self._lock:
            if len(self._items) + len(items) > self.capacity:
                self.refused_total += 1
                return False
            self._items.extend(items)
        self._wake.set()
        return True

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._items)

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        self._load_spool()
        self._thread = threading.Thread(target=self._run, name="incident-writer", daemon=True)
        self._thread.start()

    def stop(self, drain_seconds: float = 5.0) -> None:
        deadline = time.monotonic() + drain_seconds
        while self.depth and self.database_up and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(drain_seconds + 1)
        self._save_spool()
        if self._conn is not None:
            self._conn.close()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty (tests, `stop`); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.depth and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.02)
        return not self.depth

    # -- the writer thread ----------------------------------------------------------
    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._open()
                self.database_up = True
                backoff = 1.0
                if not self._write_batch(self._conn):
                    self._wake.wait(1.0)
                    self._wake.clear()
            except (psycopg.Error, OSError, schema.SchemaError) as exc:
                self.database_up = False
                self.write_failures_total += 1
                self.last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else \
                    type(exc).__name__
                log.warning("incident store %s unavailable (%d queued, retry in %.0fs): %s",
                            self._dsn, self.depth, backoff, redact(self.last_error))
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                self._stop.wait(backoff)
                backoff = min(self.backoff_max, backoff * 2)

    def _open(self) -> psycopg.Connection[Any]:
        conn = self._connect()
        conn.autocommit = True
        schema.migrate(conn)
        return conn

    def _write_batch(self, conn: psycopg.Connection[Any]) -> bool:
        with self._lock:
            batch = [self._items[i] for i in range(min(BATCH, len(self._items)))]
        if not batch:
            return False
        Store(conn, self.policy).apply_all(batch)
        with self._lock:
            for _ in batch:
                self._items.popleft()
        self.written_total += len(batch)
        return True

    # -- spool ----------------------------------------------------------------------
    def _save_spool(self) -> None:
        with self._lock:
            items = list(self._items)
        if not items or self.spool is None:
            if items:
                log.error("stopping with %d notifications not written (no spool file)",
                          len(items))
            return
        temporary = self.spool.with_name(self.spool.name + ".tmp")
        with temporary.open("w") as handle:
            for item in items:
                handle.write(json.dumps(_item_json(item)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.spool)
        log.warning("stopping with %d notifications not written: kept in %s", len(items),
                    self.spool)

    def _load_spool(self) -> None:
        if self.spool is None or not self.spool.exists():
            return
        items = []
        for number, line in enumerate(self.spool.read_text().splitlines(), 1):
            try:
                items.append(_item(json.loads(line)))
            except (ValueError, TypeError, KeyError):
                log.warning("%s:%d: not a queued notification; skipped", self.spool, number)
        with self._lock:
            self._items.extendleft(reversed(items))
        self.spool.unlink()
        log.info("read %d queued notifications back from %s", len(items), self.spool)
