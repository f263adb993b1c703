"""Rate-limited log lines: one line per kind of problem per interval, with a count.

Why: whatever a client can trigger at will (a failed ``accept``, a too-long
password, a scrape cut to size) must not be able to flood the log: thousands
of identical "Too many open files" lines cost CPU and disk and bury the one
line that matters. ``RateLimitedLog.warning(key, ...)`` writes the first
message of a ``key`` at once, then at most one per ``interval`` seconds, the
next one saying how many were suppressed in between. Keys are a small fixed
set chosen by the caller (never client data), so the table stays small.

Public API: ``RateLimitedLog(logger, interval=60.0)`` with ``.warning(key, msg, *args)``
and ``.suppressed(key) -> int``.
"""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    """At most one line per ``key`` per ``interval`` seconds; the rest are counted."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger = logger
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` at warning unless ``key`` was logged recently; True if written."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False
            self._last[key] = now
            skipped = self._suppressed.pop(key, 0)
        if skipped:
            msg += " (%d similar messages suppressed)"
            args = (*args, skipped)
        self.logger.warning(msg, *args)
        return True

    def suppressed(self, key: str) -> int:
        """Messages of ``key`` not written since its last line."""
        with self._lock:
            return self._suppressed.get(key, 0)


__all__ = ["RateLimitedLog"]
