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

import re
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


def _rules(spec: Spec, slo: Slo) -> dict[str, Any]:
    """The SLO's own groups as generated, and the Sloth-shaped groups for its SLI."""
    groups = [g for g in slo_rules.groups(spec) if g["name"].startswith(f"{spec.name}.slo.{slo.name}")]
    matchers = promql.matchers(sorted({**spec.selectors, "job": spec.jobs["http"]}.items()))
    groups += sloth_groups(PeerSlo(
        slo.name, f'vigil_http_requests_total{{status_class="5xx",{matchers}}}',
        f"vigil_http_requests_total{{{matchers}}}", slo.objective))
    return {"groups": groups}


def _promtool(tmp_path: Path, rules: dict[str, Any], tests: list[dict[str, Any]]) -> str:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    body = {"rule_files": ["rules.yml"], "evaluation_interval": units.format_duration(STEP),
            # groups read each other's records: promtool's own order is random per step
            "group_eval_order": [group["name"] for group in rules["groups"]],
            "tests": tests}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(body, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    return ("SUCCESS" if result.returncode == 0 else "FAILED") + "\n" + result.stdout + result.stderr


def _marked(case: str, expr: str) -> str:
    """`expr` with a PromQL comment naming its case: promtool prints a failing expression."""
    return f"# case {case};\n{expr}"


def _passed(output: str, case: str) -> bool:
    """Whether promtool ran and every expression of `case` passed."""
    assert output.startswith("SUCCESS") or "expr: " in output, output  # it ran at all
    return f"# case {case};" not in output


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


WINDOWS = ("1d", "3d", "30d")
BIAS_CASE = "day/night ratio of sums"


def _bias_test(spec: Spec, slo: Slo) -> dict[str, Any]:
    """Three days and nights: the 1d window holds the last day and night, the 3d and 30d
    windows the whole history."""
    segments, sums, _ = day_night(3)
    series, minutes = input_series(spec, segments)
    at = units.format_duration(minutes * MINUTE)
    checks = []
    for window in WINDOWS:
        expected = day_night(1)[1] if window == "1d" else sums
        selector = slo_rules.series_matchers(spec, slo, window=window)
        labels = {"slo": slo.name, **spec.selectors, "window": window}
        checks.append({
            # within 2 %: promtool evaluates the hourly tiles every step, as overlapping
            # hours that weigh the last hour less (in Prometheus they do not overlap); an
            # average of ratios is 17 times off
            "expr": _marked(BIAS_CASE, f"abs(vigil_slo:error_ratio{selector} / {expected!r} - 1)"
                                       " < bool 0.02"),
            "eval_time": at,
            "exp_samples": [{"labels": "{" + promql.matchers(sorted(labels.items())) + "}",
                             "value": 1}]})
    return {"name": BIAS_CASE, "interval": "1m", "input_series": series,
            "promql_expr_test": checks}


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
    case = f"pace {name}"
    series, minutes = input_series(spec, segments)
    at = units.format_duration(minutes * MINUTE)
    checks = []
    for kind, severity in (("page", "critical"), ("ticket", "warning")):
        vigil = _first(f'alertname="{alert_name(slo.name)}BudgetBurn",severity="{severity}"', minutes)
        sloth = _first(f'alertname="BenchSloth{kind.title()}"', minutes)
        checks += [
            # Sloth's fires (or stays silent) as the scenario says: the rest is not vacuous
            {"expr": _marked(case, f"count({sloth})"), "eval_time": at,
             "exp_samples": [{"labels": "{}", "value": 1}] if kind in fires else []},
            {"expr": _marked(case, f"{vigil} - {sloth} > {STEP}"), "eval_time": at,
             "exp_samples": []},
            {"expr": _marked(case, f"{sloth} unless {vigil}"), "eval_time": at, "exp_samples": []},
            {"expr": _marked(case, f"{vigil} unless {sloth}"), "eval_time": at, "exp_samples": []},
        ]
    return {"name": case, "interval": "1m", "input_series": series,
            "promql_expr_test": checks}


@pytest.fixture(scope="module")
def verdict(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> str:
    """promtool's output for every case here, run once: Vigil's and Sloth's rules loaded
    side by side on the same input series."""
    slo = spec.slos["availability"]
    tests = [_bias_test(spec, slo)] + [_pace_test(spec, slo, name) for name in SCENARIOS]
    return _promtool(tmp_path_factory.mktemp("pace"), _rules(spec, slo), tests)


def test_long_windows_are_errors_over_requests(verdict: str) -> None:
    assert _passed(verdict, BIAS_CASE), verdict
    _, sums, average = day_night(3)
    assert average / sums > 10  # the average of ratios would fail the case


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_alerts_fire_no_later_than_sloths_and_never_alone(verdict: str, scenario: str) -> None:
    assert _passed(verdict, f"pace {scenario}"), verdict


READS = re.compile(r"([a-zA-Z_:][\w:]*)\{[^}]*\}\[(\w+)\]")


def test_no_slo_rule_reads_far_back_in_a_fine_series(spec: Spec) -> None:
    """Raw series over 5 minutes at most; each recorded level no further than its own
    longest window: a month of samples is read from hourly tiles only."""
    reads = []
    for group in slo_rules.groups(spec):
        for rule in group["rules"]:
            reads += READS.findall(rule["expr"])
    assert reads
    longest = {f"vigil_slo:{kind}:{lv.suffix}": lv.longest
               for lv in slo_rules.LEVELS for kind in ("errors", "total")}
    for name, window in reads:
        seconds = units.parse_duration(window)
        if not name.startswith("vigil_slo:"):
            assert seconds <= 300, (name, window)
        elif name in longest:
            assert seconds <= longest[name], (name, window)
        else:  # the covered share and the hourly tiles' own times
            assert name in {"vigil_slo:period_covered:ratio", slo_rules.TILE_TIME}, name
