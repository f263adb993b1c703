"""exporters.common.tasks: last result served, timeouts, stale results dropped."""

from __future__ import annotations

import threading
import time

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
