"""The SLO rules' long windows, built from recorded tiles, against the Sloth-shaped rules.

Two properties the tiled windows must keep, each checked with the real promtool on the
demo spec's availability SLO fed exporter-shaped raw counters:
- unbiased: on day/night traffic (busy days with few errors, quiet nights with many)
  the 1d, 3d and 30d error ratios equal all errors over all requests, where an average
  of per-slice ratios is 17 times too high;
- alerts are not traded for speed: on the same burn scenarios as Sloth's documented
  rules (bench/rules_peers.py), the page and ticket alerts fire no more than one
  evaluation later than Sloth's, and never where Sloth's stay silent.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.rules_peers import PeerSlo, sloth_groups
from generator import promql, units
from generator.loader import load_spec
from generator.model import Slo, Spec
from generator.rules import slo as slo_rules
from generator.rules.signals import alert_name
from generator.rules.slo_inputs import INSTANCE, REQUEST

ROOT = Path(__file__).resolve().parents[2]
STEP = 300  # the SLO tests' evaluation interval, seconds
MINUTE = 60

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")

Segment = tuple[float, float, float]  # minutes, requests per minute, error ratio


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(ROOT / "slo" / "spec.yaml")


def _labels(spec: Spec, status: str) -> str:
    labels = {**REQUEST, "status_class": status, **spec.selectors,
              "job": spec.jobs["http"], "instance": INSTANCE}
    return "vigil_http_requests_total{" + promql.matchers(sorted(labels.items())) + "}"


def _values(per_minute: list[float]) -> str:
    """promtool's expanding notation for a counter growing by `per_minute[i]` in minute i."""
    parts, total, i = [], 0.0, 0
    parts.append("0")
    while i < len(per_minute):
        j = i
        while j + 1 < len(per_minute) and per_minute[j + 1] == per_minute[i]:
            j += 1
        step = per_minute[i]
        parts.append(f"{total + step!r}+{step!r}x{j - i}")
        total += step * (j - i + 1)
        i = j + 1
    return " ".join(parts)


def input_series(spec: Spec, segments: list[Segment]) -> tuple[list[dict[str, str]], int]:
    """2xx and 5xx counters for the segments, and how many minutes they last."""
    good: list[float] = []
    bad: list[float] = []
    for minutes, rate, ratio in segments:
        good += [round(rate * (1 - ratio), 9)] * int(minutes)
        bad += [round(rate * ratio, 9)] * int(minutes)
    return ([{"series": _labels(spec, "2xx"), "values": _values(good)},
             {"series": _labels(spec, "5xx"), "values": _values(bad)}], len(good))


def _rules(spec: Spec, slo: Slo, peers: bool) -> dict[str, Any]:
    groups = [g for g in slo_rules.groups(spec) if g["name"].startswith(f"{spec.name}.slo.{slo.name}")]
    if peers:
        matchers = promql.matchers(sorted({**spec.selectors, "job": spec.jobs["http"]}.items()))
        groups += sloth_groups(PeerSlo(
            slo.name, f'vigil_http_requests_total{{status_class="5xx",{matchers}}}',
            f"vigil_http_requests_total{{{matchers}}}", slo.objective))
    return {"groups": groups}


def _promtool(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]]) -> str:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    body = {"rule_files": ["rules.yml"], "evaluation_interval": units.format_duration(STEP),
            "tests": tests}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(body, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    return ("SUCCESS" if result.returncode == 0 else "FAILED") + "\n" + result.stdout + result.stderr


# Day: 100 requests a second, 0.1 % errors; night: 2 a second, 10 % errors.
DAY, NIGHT = (720, 6000.0, 0.001), (720, 120.0, 0.1)


def day_night(days: int) -> tuple[list[Segment], float, float]:
    """`days` of day/night traffic, its error ratio of sums and its average of ratios."""
    segments = [DAY, NIGHT] * days
    errors = sum(m * r * e for m, r, e in segments)
    total = sum(m * r for m, r, _ in segments)
    return segments, errors / total, sum(e for _, _, e in segments) / len(segments)


def test_day_night_traffic_averaging_ratios_is_off_17_times() -> None:
    _, sums, average = day_night(1)
    assert average / sums == pytest.approx(17.17, rel=0.01)


@pytest.mark.parametrize("window", ["1d", "3d", "30d"])
def test_long_windows_are_errors_over_requests(spec: Spec, tmp_path: Path, window: str) -> None:
    slo = spec.slos["availability"]
    days = 2 if window == "1d" else 3
    segments, sums, average = day_night(days)
    series, minutes = input_series(spec, segments)
    # At the end of the last night the window holds whole days (1d) or the whole
    # history. The 1d window is read at the end of a night: one day and one night.
    expected = day_night(1)[1] if window == "1d" else sums
    at = units.format_duration(minutes * MINUTE)
    selector = slo_rules.series_matchers(spec, slo, window=window)
    test = {"name": f"{window} ratio of sums", "interval": "1m", "input_series": series,
            "promql_expr_test": [{
                # within 2 %: the first and last 5 minutes are counted by the tiles as
                # rates, not as exact counts
                "expr": f"abs(vigil_slo:error_ratio{selector} / {expected!r} - 1) < bool 0.02",
                "eval_time": at,
                "exp_samples": [{"labels": "{" + promql.matchers(sorted(
                    {"slo": slo.name, **spec.selectors, "window": window}.items())) + "}",
                    "value": 1}]}]}
    output = _promtool(tmp_path, _rules(spec, slo, peers=False), [test])
    assert output.startswith("SUCCESS"), output
    assert average / expected > 10  # the average of ratios would fail this test


def _first(selector: str, minutes: int) -> str:
    """When alerts matching `selector` first fired in the test (as a timestamp)."""
    return (f'min(min_over_time(timestamp(ALERTS{{{selector},alertstate="firing"}})'
            f"[{minutes}m:1m]))")


BUDGET = 0.001  # availability: 99.9 %
# name: (segments, which of Sloth's alerts fire)
SCENARIOS: dict[str, tuple[list[Segment], set[str]]] = {
    "steady": ([(8 * 60, 600.0, 0.5 * BUDGET)], set()),
    "20x for 2h": ([(60, 600.0, 0.5 * BUDGET), (120, 600.0, 20 * BUDGET),
                    (120, 600.0, 0.5 * BUDGET)], {"page", "ticket"}),
    "8x for 8h": ([(60, 600.0, 0.5 * BUDGET), (480, 600.0, 8 * BUDGET),
                   (60, 600.0, 0.5 * BUDGET)], {"page", "ticket"}),
    "4x for 36h": ([(60, 600.0, 0.5 * BUDGET), (36 * 60, 600.0, 4 * BUDGET)], {"ticket"}),
    "3-minute spike": ([(60, 600.0, 0.5 * BUDGET), (3, 600.0, 1.0), (120, 600.0, 0.5 * BUDGET)],
                       {"page", "ticket"}),
    "10-minute outage": ([(60, 600.0, 0.5 * BUDGET), (10, 600.0, 1.0),
                          (120, 600.0, 0.5 * BUDGET)], {"page", "ticket"}),
}


def _pace_test(spec: Spec, slo: Slo, name: str) -> dict[str, Any]:
    segments, fires = SCENARIOS[name]
    series, minutes = input_series(spec, segments)
    at = units.format_duration(minutes * MINUTE)
    checks = []
    for kind, severity in (("page", "critical"), ("ticket", "warning")):
        vigil = _first(f'alertname="{alert_name(slo.name)}BudgetBurn",severity="{severity}"', minutes)
        sloth = _first(f'alertname="BenchSloth{kind.title()}"', minutes)
        checks += [
            # Sloth's fires (or stays silent) as the scenario says: the rest is not vacuous
            {"expr": f"count({sloth})", "eval_time": at,
             "exp_samples": [{"labels": "{}", "value": 1}] if kind in fires else []},
            {"expr": f"{vigil} - {sloth} > {STEP}", "eval_time": at, "exp_samples": []},
            {"expr": f"{sloth} unless {vigil}", "eval_time": at, "exp_samples": []},
            {"expr": f"{vigil} unless {sloth}", "eval_time": at, "exp_samples": []},
        ]
    return {"name": f"pace {name}", "interval": "1m", "input_series": series,
            "promql_expr_test": checks}


def test_alerts_fire_no_later_than_sloths_and_never_alone(spec: Spec, tmp_path: Path) -> None:
    slo = spec.slos["availability"]
    tests = [_pace_test(spec, slo, name) for name in SCENARIOS]
    output = _promtool(tmp_path, _rules(spec, slo, peers=True), tests)
    assert output.startswith("SUCCESS"), output
