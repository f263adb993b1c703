"""Background periodic tasks: expensive sources run on their own clock.

Why: a scrape must cost the same whether a source takes 1 ms or 10 s. A
``PeriodicTask`` calls its function every ``interval`` seconds in a daemon
thread, bounded by ``timeout``; scrapes only read the last stored result
(``task.state()``), so a slow database or a hanging URL never slows ``/metrics``.

Semantics the exporters rely on:

- ``fn()`` returns a list of metric families (may be empty when the task only
  updates state another collector reads). Raising marks the run failed.
  Raising ``CollectionError(message, metrics)`` marks it failed but still
  serves ``metrics`` (partial results, e.g. one unreadable file out of ten).
- A run that exceeds ``timeout`` is recorded as failed at once; its late
  result is discarded. Python cannot kill a thread, so the next run starts only
  once the stuck one returns (the source should enforce the timeout itself too,
  e.g. ``statement_timeout``); runs never pile up.
- ``keep_stale=False`` (default): after a failure ``state().metrics`` is empty
  (series disappear instead of showing an old value). ``keep_stale=True`` keeps
  the last good metrics until they are older than ``max_age``.
- ``max_age`` (default ``2 * interval + timeout``): metrics from a run that
  finished longer ago than this are not served, whatever ``keep_stale`` says.
- ``run_once()`` runs synchronously in the caller's thread (tests, first run).
- ``interval`` and ``timeout`` must be finite, positive and at most
  :data:`MAX_SECONDS`: an infinite interval used to kill the loop thread
  (``Event.wait(inf)`` raises ``OverflowError``) and leave the first result
  served forever as a success.
- The loop thread cannot die quietly: an error outside ``fn`` (a thread that
  cannot be started, a failing wait) is recorded as a failed run and the loop
  goes on; if the thread ends anyway, ``state()`` reports the task failed and
  serves none of its metrics.

Public API: ``PeriodicTask``, ``TaskState``, ``CollectionError``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)

# Longest interval or timeout a task accepts: a week. Far above any sensible
# config value (see exporters.common.config.DURATION_BOUNDS) and far below
# threading.TIMEOUT_MAX, so every wait the loop makes is valid.
MAX_SECONDS = 7 * 86400.0
# After an error outside fn, the loop waits at least this long before the
# next run, so a persistent failure cannot become a busy loop.
MIN_RETRY_SECONDS = 1.0
THREAD_STOPPED = "the task's thread has stopped"


class CollectionError(Exception):
    """The collection failed, but ``metrics`` (partial results) may still be served."""

    def __init__(self, message: str, metrics: Sequence[Metric] = ()) -> None:
        super().__init__(message)
        self.metrics = list(metrics)


@dataclass(frozen=True)
class TaskState:
    """What a scrape may read about a task, captured atomically."""

    metrics: list[Metric] = field(default_factory=list)
    ran: bool = False  # at least one run finished (or timed out)
    success: bool = False
    duration: float = 0.0
    finished_at: float = 0.0  # time.time() of the last finished run
    metrics_at: float = 0.0  # time.time() when the served metrics were produced
    last_success_at: float = 0.0  # time.time() of the last successful run, 0 if never
    runs_total: int = 0
    failures_total: int = 0
    error: str | None = None


class PeriodicTask:
    """Run ``fn`` every ``interval`` seconds in the background; serve its last result."""

    def __init__(
        self,
        name: str,
        fn: Callable[[], Sequence[Metric]],
        interval: float,
        timeout: float,
        *,
        keep_stale: bool = False,
        max_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for what, seconds in (("interval", interval), ("timeout", timeout)):
            if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
                raise ValueError(
                    f"task {name}: {what} must be a positive number of seconds"
                    f" up to {MAX_SECONDS:g}, got {seconds!r}"
                )
        self.name = name
        self.fn = fn
        self.interval = interval
        self.timeout = timeout
        self.keep_stale = keep_stale
        self.max_age = max_age if max_age is not None else 2 * interval + timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = TaskState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs_started = 0

    # -- lifecycle --------------------------------------------------------
    def start(self) -> None:
        """Start the loop; the first run begins immediately."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"task:{self.name}", daemon=True)
        self._thread.start()

    def stop(self, wait: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)
            self._thread = None

    def _loop(self) -> None:
        next_run = time.monotonic()
        while not self._stop.is_set():
            try:
                self.run_once()
                next_run += self.interval
                now = time.monotonic()
                if next_run < now:  # overran: skip missed slots rather than bursting
                    next_run = now + self.interval - ((now - next_run) % self.interval)
                self._sleep_until(next_run)
            except Exception as exc:  # the loop itself failed: record it and go on
                log.exception("task %s: error in its schedule loop", self.name)
                self._record(None, f"{type(exc).__name__}: {exc}", [], 0.0)
                next_run = time.monotonic() + max(MIN_RETRY_SECONDS, min(self.interval, 60.0))
                self._stop.wait(next_run - time.monotonic())

    def _sleep_until(self, deadline: float) -> None:
        """Wait until ``deadline`` (monotonic) or until the task is stopped."""
        self._stop.wait(max(0.0, deadline - time.monotonic()))

    # -- one run ----------------------------------------------------------
    def run_once(self) -> TaskState:
        """Run ``fn`` once with the timeout and record the outcome; returns the new state."""
        box: dict[str, object] = {}
        started = time.monotonic()

        def target() -> None:
            try:
                box["metrics"] = list(self.fn())
            except BaseException as exc:  # recorded, never propagated out of the thread
                box["error"] = exc

        self._runs_started += 1
        worker = threading.Thread(
            target=target, name=f"task:{self.name}#{self._runs_started}", daemon=True
        )
        worker.start()
        worker.join(self.timeout)
        duration = time.monotonic() - started
        if worker.is_alive():
            self._record(None, f"timed out after {self.timeout:g}s", [], duration)
            # Do not start another run while this one is still stuck in the source.
            while worker.is_alive() and not self._stop.is_set():
                worker.join(0.5)
            return self.state()
        error = box.get("error")
        if error is None:
            self._record(box.get("metrics", []), None, [], duration)  # type: ignore[arg-type]
        elif isinstance(error, CollectionError):
            self._record(None, str(error) or type(error).__name__, error.metrics, duration)
        else:
            assert isinstance(error, BaseException)
            self._record(None, f"{type(error).__name__}: {error}", [], duration)
        return self.state()

    def _record(
        self,
        metrics: list[Metric] | None,
        error: str | None,
        partial: list[Metric],
        duration: float,
    ) -> None:
        now = self._clock()
        with self._lock:
            old = self._state
            if error is None:
                self._state = TaskState(
                    metrics=metrics or [], ran=True, success=True, duration=duration,
                    finished_at=now, metrics_at=now, last_success_at=now,
                    runs_total=old.runs_total + 1, failures_total=old.failures_total,
                )
                return
            kept = partial or (old.metrics if self.keep_stale else [])
            self._state = replace(
                old, metrics=kept, ran=True, success=False, duration=duration,
                finished_at=now,
                metrics_at=now if partial or not self.keep_stale else old.metrics_at,
                runs_total=old.runs_total + 1, failures_total=old.failures_total + 1,
                error=error,
            )
        log.warning("collector %s failed: %s", self.name, error)

    # -- reading ----------------------------------------------------------
    def is_current(self) -> bool:
        """Whether the task is keeping up: a run finished within ``max_age``, loop alive.

        For health gauges fed by something else than the task's own metrics
        (``vigil_pg_up`` reads the session): a stalled or dead task must not
        leave them reading an old "up".
        """
        state = self.state()
        if state.error == THREAD_STOPPED:
            return False
        return state.ran and self._clock() - state.finished_at <= self.max_age

    def state(self) -> TaskState:
        """The last outcome; metrics older than ``max_age`` are withheld.

        A started task whose loop thread has ended without being stopped is
        reported failed with no metrics: its last values would otherwise be
        served as fresh until ``max_age``, with success 1.
        """
        with self._lock:
            state = self._state
        thread = self._thread
        if thread is not None and not thread.is_alive() and not self._stop.is_set():
            return replace(state, metrics=[], ran=True, success=False, error=THREAD_STOPPED)
        if state.metrics and self._clock() - state.metrics_at > self.max_age:
            return replace(state, metrics=[])
        return state
