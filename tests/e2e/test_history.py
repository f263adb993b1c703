"""Backfilled history: the generated baseline rules find weeks of past in a real Prometheus.

promtool turns the OpenMetrics text into blocks, a real Prometheus opens them, and the
generated `vigil:daily_revenue:baseline` expression, run as it is, returns the level
the history was written with.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from pathlib import Path

import pytest
import requests
import yaml

from generator.demo import history
from tests.e2e.processes import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "alert_rules/vigil.rules.yml"

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="prometheus and promtool are not installed")


def _rule(record: str) -> dict:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return next(r for g in groups for r in g["rules"] if r.get("record") == record)


@pytest.mark.parametrize(("expr", "expected"), [
    ("sum(x)", []),
    ("x offset 1w", [history.Series("x", (), 7 * 86400.0)]),
    ('x{a="1",b=~"2"} offset 1d or x{a="1"} offset 2w',
     [history.Series("x", (("a", "1"),), 14 * 86400.0)]),
    ("rate(y_total[5m] offset 1h)", [history.Series("y_total", (), 3600.0)]),
])
def test_offset_series_are_read_from_rule_expressions(expr, expected):
    assert history.offset_series([{"rules": [{"record": "r", "expr": expr}]}]) == expected


def test_the_generated_rules_need_the_past_of_what_they_compare_with():
    found = history.offset_series_of_file(RULES)
    assert {s.labels for s in found} == {(("environment", "production"),)}
    offsets = {s.name: s.max_offset_seconds for s in found}
    anomalies = ("conversion_rate", "daily_revenue", "error_rate", "response_time", "throughput")
    # The slo/spec.yaml plan: baselines over 4 weeks; anomaly bands from the same hour of
    # the last 3 weeks (offsets centred on the hour: 30 minutes short); forecasts compare
    # with half their lookback ago (1h for memory and the pool, 2h for the disk).
    expected = {
        "vigil:conversion_rate": 4 * history.WEEK, "vigil:daily_revenue": 4 * history.WEEK,
        **{f"vigil:{name}:{stat}_1h": 3 * history.WEEK - 1800
           for name in anomalies for stat in ("avg", "stddev")},
        "vigil:memory_usage": 1800.0, "vigil:connection_pool_usage": 1800.0,
        "vigil:disk_usage": 3600.0,
    }
    assert offsets == expected


def test_history_is_bounded():
    series = history.Series("x", (), 4 * history.WEEK)
    with pytest.raises(history.HistoryError, match="exceeds the bound"):
        history.openmetrics({series: 1.0}, end=1e9, step=0.1)


def test_a_level_for_a_series_no_rule_reads_is_refused(tmp_path):
    stray = history.Series("vigil:daily_revenue", (("environment", "staging"),), history.WEEK)
    unread = re.escape('no rule reads vigil:daily_revenue{environment="staging"}')
    with pytest.raises(history.HistoryError, match=unread):
        history.backfill(RULES, {stray: 1.0}, tmp_path / "tsdb", end=1e9, work_dir=tmp_path)


def test_openmetrics_keeps_recorded_names_and_ends_with_eof():
    series = history.Series("vigil:daily_revenue", (("environment", 'pro"d'),), history.WEEK)
    text = history.openmetrics({series: 10.0}, end=1_000_000_000, step=3600).decode()
    lines = text.splitlines()
    assert lines[-1] == "# EOF"
    assert lines[2].startswith('vigil:daily_revenue{environment="pro\\"d"} ')
    assert len(lines) == 3 + (8 * 24 + 1)  # HELP, TYPE, EOF and one sample an hour for 8 days


@needs_prometheus
def test_prometheus_opens_the_blocks_and_the_baseline_rule_has_data(tmp_path):
    level = 1234.5
    series = history.Series("vigil:daily_revenue", (("environment", "production"),),
                            4 * history.WEEK)
    now = time.time()
    blocks = history.backfill(RULES, {series: level}, tmp_path / "tsdb", end=now - 60,
                              work_dir=tmp_path)
    assert blocks, "promtool wrote no block"

    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 15s}\n")
    port = free_port()
    prometheus = Server("prometheus", [
        "prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        "--storage.tsdb.retention.time=60d", f"--web.listen-address=127.0.0.1:{port}",
    ], port, tmp_path / "prometheus.log", ready_path="/-/ready")
    try:
        base = prometheus.url
        baseline = _rule("vigil:daily_revenue:baseline")["expr"]
        result = requests.get(f"{base}/api/v1/query", params={"query": baseline, "time": now},
                              timeout=10).json()["data"]["result"]
        assert len(result) == 1
        # Every week repeats the daily wave, so the four-week average is the wave at now.
        wave = level * (1 + 0.05 * math.sin(2 * math.pi * (now % history.DAY) / history.DAY))
        assert float(result[0]["value"][1]) == pytest.approx(wave, rel=0.001)
    finally:
        prometheus.stop()
