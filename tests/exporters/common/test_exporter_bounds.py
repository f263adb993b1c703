"""Output bounds: long label values and oversized scrapes are cut, counted and logged."""

from __future__ import annotations

import logging

import pytest
import requests
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from exporters.common.exporter import Exporter, Source
from exporters.common.exposition import MAX_LABEL_VALUE_LENGTH, bound_families, cap_label_value
from exporters.common.server import MetricsServer


def _wide(name: str, values: list[str]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, "Wide labels.", labels=["v"])
    for n, value in enumerate(values):
        family.add_metric([value], n)
    return family


def test_cap_label_value_keeps_long_values_distinct() -> None:
    short = "x" * MAX_LABEL_VALUE_LENGTH
    assert cap_label_value(short) is short
    a, b = cap_label_value("y" * 10**6 + "a"), cap_label_value("y" * 10**6 + "b")
    assert len(a) == len(b) == MAX_LABEL_VALUE_LENGTH and a != b
    assert a.startswith("y" * 900) and a == cap_label_value("y" * 10**6 + "a")


def test_bound_families_cuts_values_and_drops_whole_families_beyond_the_budget() -> None:
    long_values = _wide("vigil_t_long", ["z" * 100_000, "z" * 100_001, "ok"])
    stored = list(long_values.samples)
    histogram = HistogramMetricFamily("vigil_t_h", "H.", buckets=[("1", 1), ("+Inf", 2)],
                                      sum_value=3)
    big = _wide("vigil_t_big", [f"value-{n}" for n in range(5000)])
    after = GaugeMetricFamily("vigil_t_after", "After.", value=1)
    kept, cuts = bound_families([long_values, histogram, big, after], max_bytes=50_000)
    assert [f.name for f in kept] == ["vigil_t_long", "vigil_t_h", "vigil_t_after"]
    assert [len(s.labels["v"]) for s in kept[0].samples] == [MAX_LABEL_VALUE_LENGTH] * 2 + [2]
    assert long_values.samples == stored  # a task's stored result is never modified
    assert cuts.label_values == 2 and cuts.first_truncated == "vigil_t_long{v}"
    assert cuts.samples_dropped == 5000 and cuts.first_dropped == "vigil_t_big"
    kept, cuts = bound_families([histogram, after])
    assert kept == [histogram, after] and not cuts


def test_a_huge_scrape_is_bounded_and_reported(caplog: pytest.LogCaptureFixture,
                                               parse_samples) -> None:
    """1 MB label values and a flood of series: the response stays small, the cut is a metric."""
    rows = _wide("vigil_t_rows", ["v" * 1_000_000] * 1 + [f"r{n}" * 50 for n in range(60_000)])
    exporter = Exporter("vigil_t", [Source("rows", lambda: [rows]),
                                    Source("ok", lambda: [GaugeMetricFamily("vigil_t_ok", "Ok.",
                                                                            value=1)])],
                        max_response_bytes=256 * 1024)
    server = MetricsServer(exporter.registry, "127.0.0.1", 0)
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="exporters.common.exporter"):
            bodies = [requests.get(server.url + "/metrics", timeout=10).text for _ in range(3)]
    finally:
        server.shutdown()
    assert all(len(body) < 300 * 1024 for body in bodies)
    samples = parse_samples(bodies[-1])
    assert samples[("vigil_t_exposition_samples_dropped_total", ())] == 3 * 60_001
    assert samples[("vigil_t_exposition_label_values_truncated_total", ())] == 3
    assert samples[("vigil_t_ok", ())] == 1  # families that fit are still served
    assert samples[("vigil_t_collector_success", (("collector", "rows"),))] == 1
    cut_lines = [r.getMessage() for r in caplog.records if "scrape output cut" in r.getMessage()]
    assert len(cut_lines) == 1 and "vigil_t_rows" in cut_lines[0]
