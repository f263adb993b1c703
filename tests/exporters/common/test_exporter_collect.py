"""exporters.common.exporter: failing sources become metrics, families merge."""

from __future__ import annotations

import re

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from exporters.common.exporter import Exporter, Source
from exporters.common.selfmetrics import vigil_version
from exporters.common.tasks import CollectionError, PeriodicTask


def exposition(exporter: Exporter) -> str:
    text = generate_latest(exporter.registry).decode()
    # durations vary; pin them so the exposition can be written out in full
    return re.sub(r'(_duration_seconds\{collector="[^"]+"\}) \S+', r"\1 D", text)


def test_failing_source_is_a_metric_not_an_exception() -> None:
    def ok():
        return [GaugeMetricFamily("vigil_t_up", "Up.", value=1)]

    def broken():
        raise OSError("source gone")

    def partial():
        family = CounterMetricFamily("vigil_t_items", "Items.", labels=["kind"])
        family.add_metric(["a"], 3)
        raise CollectionError("b unreadable", [family])

    exporter = Exporter("vigil_t", [Source("ok", ok), Source("broken", broken),
                                    Source("partial", partial)])
    python = __import__("platform").python_version()
    assert exposition(exporter) == f"""\
# HELP vigil_t_up Up.
# TYPE vigil_t_up gauge
vigil_t_up 1.0
# HELP vigil_t_items_total Items.
# TYPE vigil_t_items_total counter
vigil_t_items_total{{kind="a"}} 3.0
# HELP vigil_t_exposition_label_values_truncated_total Long label values shortened (summed over scrapes).
# TYPE vigil_t_exposition_label_values_truncated_total counter
vigil_t_exposition_label_values_truncated_total 0.0
# HELP vigil_t_exposition_samples_dropped_total Samples left out by the response size limit (summed).
# TYPE vigil_t_exposition_samples_dropped_total counter
vigil_t_exposition_samples_dropped_total 0.0
# HELP vigil_t_collector_success Whether the collector's last collection succeeded (1) or failed (0).
# TYPE vigil_t_collector_success gauge
vigil_t_collector_success{{collector="ok"}} 1.0
vigil_t_collector_success{{collector="broken"}} 0.0
vigil_t_collector_success{{collector="partial"}} 0.0
# HELP vigil_t_collector_duration_seconds Duration of the collector's last collection.
# TYPE vigil_t_collector_duration_seconds gauge
vigil_t_collector_duration_seconds{{collector="ok"}} D
vigil_t_collector_duration_seconds{{collector="broken"}} D
vigil_t_collector_duration_seconds{{collector="partial"}} D
# HELP vigil_t_build_info A metric with a constant '1' value labelled by the Vigil version and Python version.
# TYPE vigil_t_build_info gauge
vigil_t_build_info{{python_version="{python}",version="{vigil_version()}"}} 1.0
"""


def test_same_named_families_from_tasks_merge() -> None:
    def probe(target: str, ok: int):
        def fn():
            family = GaugeMetricFamily("vigil_t_probe_success", "Probe.", labels=["target"])
            family.add_metric([target], ok)
            return [family]
        return fn

    tasks = [PeriodicTask(f"probe:{t}", probe(t, ok), interval=60, timeout=1)
             for t, ok in [("a", 1), ("b", 0)]]
    exporter = Exporter("vigil_t", [], tasks)
    for task in tasks:
        task.run_once()
    text = exposition(exporter)
    assert """\
# HELP vigil_t_probe_success Probe.
# TYPE vigil_t_probe_success gauge
vigil_t_probe_success{target="a"} 1.0
vigil_t_probe_success{target="b"} 0.0
""" in text
    assert text.count("# TYPE vigil_t_probe_success") == 1
    # merging must not grow the task's stored family scrape after scrape
    exposition(exporter)
    assert len(tasks[0].state().metrics[0].samples) == 1


def test_task_not_yet_run_has_no_self_metric() -> None:
    task = PeriodicTask("later", lambda: [], interval=60, timeout=1)
    text = exposition(Exporter("vigil_t", [], [task]))
    assert 'collector="later"' not in text


def test_a_failing_source_is_logged_once_a_minute_not_once_a_scrape(caplog) -> None:
    def broken():
        raise OSError("source gone")

    exporter = Exporter("vigil_t", [Source("broken", broken)])
    with caplog.at_level("WARNING", logger="exporters.common.exporter"):
        for _ in range(50):
            generate_latest(exporter.registry)
    lines = [r.getMessage() for r in caplog.records if "collector broken failed" in r.getMessage()]
    assert lines == ["collector broken failed: OSError: source gone"]
