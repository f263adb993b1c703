"""exporters.common.tasks: last result served, timeouts, stale results dropped."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client.core import GaugeMetricFamily

from exporters.common.tasks import CollectionError, PeriodicTask


def gauge(value: float, name: str = "vigil_test_value") -> GaugeMetricFamily:
    return GaugeMetricFamily(name, "A test value.", value=value)


def values(task: PeriodicTask) -> list[float]:
    return [s.value for f in task.state().metrics for s in f.samples]


def test_success_then_failure_drops_series_by_default() -> None:
    outcomes = [lambda: [gauge(1)], lambda: (_ for _ in ()).throw(RuntimeError("db down"))]
    task = PeriodicTask("q", lambda: outcomes.pop(0)(), interval=60, timeout=1)
    task.run_once()
    state = task.state()
    assert (state.success, state.runs_total, state.failures_total) == (True, 1, 0)
    assert values(task) == [1]
    task.run_once()
    state = task.state()
    assert values(task) == []
    assert (state.success, state.runs_total, state.failures_total) == (False, 2, 1)
    assert state.error == "RuntimeError: db down"
    assert state.last_success_at > 0


def test_keep_stale_keeps_last_good_until_max_age() -> None:
    now = [1000.0]
    results = iter([[gauge(7)]])

    def fn():
        return next(results)  # second call raises StopIteration: a failure

    task = PeriodicTask("log", fn, interval=10, timeout=1, keep_stale=True, max_age=30,
                        clock=lambda: now[0])
    task.run_once()
    now[0] += 20
    task.run_once()
    assert task.state().success is False
    assert values(task) == [7]  # kept: 20 s old, max_age 30 s
    now[0] += 11
    assert values(task) == []  # 31 s old: withheld


def test_old_results_are_not_served_even_when_successful() -> None:
    now = [0.0]
    task = PeriodicTask("q", lambda: [gauge(1)], interval=5, timeout=1, clock=lambda: now[0])
    assert task.max_age == 11  # 2 * interval + timeout
    task.run_once()
    now[0] = 11.5
    assert values(task) == []


def test_partial_results_are_served_and_marked_failed() -> None:
    def fn():
        raise CollectionError("one file unreadable", [gauge(3)])

    task = PeriodicTask("certs", fn, interval=60, timeout=1)
    task.run_once()
    assert task.state().success is False
    assert task.state().error == "one file unreadable"
    assert values(task) == [3]


def test_timeout_is_recorded_promptly_and_runs_do_not_pile_up() -> None:
    release = threading.Event()
    calls = []

    def hang():
        calls.append(1)
        release.wait(10)
        return [gauge(1)]

    task = PeriodicTask("slow", hang, interval=0.05, timeout=0.2)
    task.start()
    try:
        deadline = time.monotonic() + 3
        while not task.state().ran and time.monotonic() < deadline:
            time.sleep(0.02)
        state = task.state()
        assert state.ran and not state.success
        assert state.error == "timed out after 0.2s"
        assert 0.2 <= state.duration < 1.0
        time.sleep(0.3)
        assert len(calls) == 1  # still stuck: no second run started
        assert values(task) == []  # the late result is never served
    finally:
        release.set()
        task.stop()


def test_background_loop_keeps_running() -> None:
    counter = iter(range(1000))
    task = PeriodicTask("tick", lambda: [gauge(next(counter))], interval=0.05, timeout=1)
    task.start()
    try:
        time.sleep(0.4)
        assert task.state().runs_total >= 3
        assert values(task)[0] >= 2
    finally:
        task.stop()


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 0.0, -1.0, 1e12])
def test_degenerate_intervals_and_timeouts_are_refused(seconds: float) -> None:
    # An infinite interval used to kill the loop thread on its first wait
    # (Event.wait(inf) raises OverflowError) and leave the first result
    # served forever as a success.
    with pytest.raises(ValueError, match="must be a positive number of seconds"):
        PeriodicTask("q", lambda: [gauge(1)], interval=seconds, timeout=1)
    with pytest.raises(ValueError, match="must be a positive number of seconds"):
        PeriodicTask("q", lambda: [gauge(1)], interval=60, timeout=seconds)


def wait_until(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_an_error_in_the_loop_is_recorded_and_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = PeriodicTask("tick", lambda: [gauge(1)], interval=60, timeout=1)
    waits = []

    def broken_wait(deadline: float) -> None:
        waits.append(deadline)
        raise OverflowError("timeout value is too large")

    monkeypatch.setattr(task, "_sleep_until", broken_wait)
    monkeypatch.setattr("exporters.common.tasks.MIN_RETRY_SECONDS", 0.01)
    monkeypatch.setattr(task, "interval", 0.01)
    task.start()
    try:
        wait_until(lambda: len(waits) >= 2)  # a second run happened: the loop survived
        assert task._thread is not None and task._thread.is_alive()
        assert task.state().failures_total >= 1
    finally:
        task.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_loop_thread_is_reported_not_served_as_fresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = PeriodicTask("tick", lambda: [gauge(1)], interval=60, timeout=1)

    def fatal_wait(deadline: float) -> None:
        raise SystemExit  # not an Exception: ends the thread

    monkeypatch.setattr(task, "_sleep_until", fatal_wait)
    task.start()
    try:
        thread = task._thread
        assert thread is not None
        thread.join(5)
        assert not thread.is_alive()
        state = task.state()
        assert state.success is False
        assert state.metrics == []
        assert state.error == "the task's thread has stopped"
        assert not task.is_current()
    finally:
        task.stop()


def test_a_task_is_current_only_while_its_runs_are_recent() -> None:
    now = [0.0]
    task = PeriodicTask("q", lambda: [gauge(1)], interval=5, timeout=1, clock=lambda: now[0])
    assert not task.is_current()  # never ran
    task.run_once()
    assert task.is_current()
    now[0] = 11.5  # beyond max_age = 2 * interval + timeout
    assert not task.is_current()
