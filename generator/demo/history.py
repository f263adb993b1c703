"""Weeks of past samples for the series that baseline rules read at an offset.

Why this exists: the generated `N% below average` rules compare a signal with itself one
to four weeks ago (`vigil:daily_revenue offset 1w` ...). A Prometheus that started a
minute ago has no past, so the baseline, its alert and its dashboard lines stay empty
for a month. Prometheus imports history as TSDB blocks made by
`promtool tsdb create-blocks-from openmetrics`; this module writes that history as
OpenMetrics text and runs promtool, so a demo or an end-to-end test has baselines from
the first minute.

Which series: they are read from the generated rules, not from the catalogue, so there
is no second list to keep in step. Every vector selector in a rule expression that
carries an offset names a series whose past is needed; its equality matchers are its
labels (a signal's recorded series has exactly the labels its recording rule sets).
Except the incident recorder's counters (`vigil_incidents_*`, read a window ago by the
MTTR and MTBF rules): their past is real, in the incident store, and an invented one
would fake MTTR and MTBF.

Which values: the caller gives each series its level now (e.g. read from the running
Prometheus with :func:`current_levels`); the past is that level with a small daily wave.
The baseline is then today's level at this time of day give or take the wave, so the
`below average` alerts stay quiet until something real (a revenue dip) moves the
signal further than their threshold.

The text is written by prometheus_client's OpenMetrics encoder (escaping, `# EOF`)
rather than by hand. Bounded: at most :data:`MAX_SAMPLES` samples per history.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import promql_parser
import requests
import yaml
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.openmetrics.exposition import ALLOWUTF8, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

DAY = 86400.0
WEEK = 7 * DAY
MAX_SAMPLES = 5_000_000
# promtool cuts blocks at 2h by default: five weeks would be 420 blocks. Larger blocks
# keep Prometheus's open-block count small; it compacts them no further anyway.
MAX_BLOCK_DURATION = "168h"


class HistoryError(RuntimeError):
    """The history cannot be made; the message says which input or tool failed."""


class Series(NamedTuple):
    """One series whose past a rule reads: its name, its labels, the largest offset."""

    name: str
    labels: tuple[tuple[str, str], ...]
    max_offset_seconds: float

    def selector(self) -> str:
        """The series as a PromQL instant selector, for reading its level now."""
        matchers = ",".join(f'{k}="{_escape(v)}"' for k, v in self.labels)
        return f"{self.name}{{{matchers}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _offset_seconds(offset: Any) -> float:
    if offset is None:
        return 0.0
    return float(offset.total_seconds()) if hasattr(offset, "total_seconds") else float(offset)


MEASURED_PAST = "vigil_incidents_"  # exporters/incidents/metrics.py PREFIX


def offset_series(rule_groups: Iterable[Mapping[str, Any]]) -> list[Series]:
    """Every series that a rule reads with an offset, once, with its largest offset.

    `rule_groups` is the `groups` list of a generated rules file.
    """
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for group in rule_groups:
        for rule in group.get("rules", []):
            expr = promql_parser.parse(rule["expr"])

            def visit(node: Any) -> None:
                if isinstance(node, promql_parser.VectorSelector):
                    offset = _offset_seconds(node.offset)
                    if offset > 0 and node.name and not node.name.startswith(MEASURED_PAST):
                        labels = tuple(sorted(
                            (m.name, m.value) for m in node.matchers.matchers
                            if m.op == promql_parser.MatchOp.Equal and m.name != "__name__"))
                        key = (node.name, labels)
                        found[key] = max(found.get(key, 0.0), offset)

            promql_parser.walk(expr, visit, None)
    return [Series(name, labels, offset) for (name, labels), offset in sorted(found.items())]


def offset_series_of_file(rules_file: Path) -> list[Series]:
    """:func:`offset_series` of a rules file on disk."""
    try:
        data = yaml.safe_load(rules_file.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise HistoryError(f"{rules_file}: cannot read the rules: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise HistoryError(f"{rules_file}: expected a rules file with a `groups` list")
    return offset_series(data["groups"])


def current_levels(prometheus_url: str, series: Iterable[Series],
                   timeout: float = 5.0) -> dict[Series, float]:
    """Each series' value now in a running Prometheus; series without one are left out."""
    levels = {}
    for one in series:
        response = requests.get(f"{prometheus_url}/api/v1/query", params={"query": one.selector()},
                                timeout=timeout)
        response.raise_for_status()
        result = response.json()["data"]["result"]
        if result:
            levels[one] = float(result[0]["value"][1])
    return levels


def samples(level: float, start: float, end: float, step: float,
            amplitude: float = 0.05) -> Iterator[tuple[float, float]]:
    """(timestamp, value) from `start` to `end`: `level` with a daily wave of ±`amplitude`.

    The wave depends on the time of day only, so every week repeats the same curve and
    the four-week baseline at a given time equals the curve at that time.
    """
    if step <= 0 or end < start:
        raise HistoryError(f"expected start <= end and a positive step, got {start}..{end} "
                           f"every {step}s")
    count = int((end - start) // step) + 1
    for index in range(count):
        timestamp = start + index * step
        yield timestamp, level * (1 + amplitude * math.sin(2 * math.pi * (timestamp % DAY) / DAY))


class _History(Collector):
    def __init__(self, families: list[GaugeMetricFamily]):
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families


def openmetrics(levels: Mapping[Series, float], end: float, step: float = 60.0,
                weeks: int | None = None, amplitude: float = 0.05) -> bytes:
    """OpenMetrics text holding each series' past up to `end` (Unix seconds).

    The history reaches back the series' largest offset (or `weeks`) plus one day, so
    the offset selector finds samples for a whole day of evaluations after `end`.
    """
    families: dict[str, GaugeMetricFamily] = {}
    total = 0
    for one, level in sorted(levels.items()):
        span = (weeks * WEEK if weeks is not None else one.max_offset_seconds) + DAY
        total += int(span // step) + 1
        if total > MAX_SAMPLES:
            raise HistoryError(f"history of {total} samples exceeds the bound of {MAX_SAMPLES}; "
                               "use a larger step or fewer weeks")
        label_names = [k for k, _ in one.labels]
        family = families.setdefault(one.name, GaugeMetricFamily(
            one.name, "History written for baselines by vigil.", labels=label_names))
        values = [v for _, v in one.labels]
        for timestamp, value in samples(level, end - span, end, step, amplitude):
            family.add_metric(values, value, timestamp=timestamp)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_History(list(families.values())))
    # The default escaping rewrites the colons of recorded names in sample lines.
    return generate_latest(registry, escaping=ALLOWUTF8)


def create_blocks(openmetrics_file: Path, out_dir: Path, promtool: str | None = None,
                  timeout: float = 300.0) -> list[Path]:
    """Run promtool's backfill: TSDB blocks in `out_dir`, returned as their directories.

    Move (or write) them into a Prometheus data directory; Prometheus loads blocks it
    finds there at start and on its periodic block reload (about once a minute).
    """
    tool = promtool or shutil.which("promtool")
    if tool is None:
        raise HistoryError("promtool is not installed (Debian package `prometheus`)")
    out_dir.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out_dir.iterdir()}
    result = subprocess.run(
        [tool, "tsdb", "create-blocks-from", "openmetrics",
         f"--max-block-duration={MAX_BLOCK_DURATION}", str(openmetrics_file), str(out_dir)],
        capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise HistoryError(f"promtool tsdb create-blocks-from openmetrics {openmetrics_file} "
                           f"failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return sorted(p for p in out_dir.iterdir() if p.name not in before and (p / "meta.json").exists())


def backfill(rules_file: Path, levels: Mapping[Series, float], tsdb_dir: Path, end: float,
             work_dir: Path, step: float = 60.0) -> list[Path]:
    """Write the history of `levels` as blocks into `tsdb_dir` (a Prometheus data dir).

    `rules_file` is only checked: every level must be for a series its rules read at an
    offset, so a typo cannot write history nobody reads.
    """
    wanted = set(offset_series_of_file(rules_file))
    unknown = [s.selector() for s in levels if s not in wanted]
    if unknown:
        raise HistoryError(f"{rules_file}: no rule reads {', '.join(unknown)} at an offset")
    work_dir.mkdir(parents=True, exist_ok=True)
    text = work_dir / "history.om.txt"
    text.write_bytes(openmetrics(levels, end, step))
    return create_blocks(text, tsdb_dir)
