"""promtool tests of the recorded capacity projections (generator/rules/capacity.py).

Ten days of hourly disk samples on two hosts: one fills by 1 % a day from 40 %, one
stays at 20 %. After them, the growing host's trend reads 1 %/day, its 30-day
projection 30 points higher, its scale-up date when 1 %/day reaches the plan's line,
and its peak is above the scale-down line; the flat host has no scale-up date (it does
not grow) and its peak is below the scale-down line, a candidate to shrink. Each is
checked as a range (`> a < b`), not an exact float: the hourly means lag the samples
by up to an hour, and what matters is the projection, not its last digit.
"""

from __future__ import annotations

from typing import Any

from generator import promql, units
from generator.model import Spec
from generator.rules import capacity

DAYS = 10
STEP = 3600.0
GROWTH = 0.01  # per day
START = 0.4
FLAT = 0.2


def _series(spec: Spec, instance: str, values: str) -> dict[str, str]:
    """The recorded disk signal (the hourly means read it), or the raw gauge when the
    spec has no disk_usage signal."""
    labels = {**spec.selectors, "instance": instance, "mountpoint": "/"}
    name = "vigil:disk_usage"
    if "disk_usage" not in spec.signals:
        labels["job"] = spec.jobs["host"]
        name = "vigil_host_filesystem_used_ratio"
    return {"series": f"{name}{{{promql.matchers(sorted(labels.items()))}}}", "values": values}


def _count(expr: str, at: float, expected: int) -> dict[str, Any]:
    samples = [{"labels": "{}", "value": expected}] if expected else []
    return {"expr": f"count({expr})" if expected else expr, "eval_time": units.format_duration(at),
            "exp_samples": samples}


def tests(spec: Spec) -> list[dict[str, Any]]:
    disk = next((r for r in capacity.resources(spec) if r.name == "disk_usage"), None)
    if disk is None or ("disk_usage" not in spec.signals and spec.source_of("host") != "vigil"):
        return []  # no disk to project, or only a standard exporter's raw series to feed
    steps = int(DAYS * 86400 // STEP)
    at = steps * STEP
    now = START + GROWTH * DAYS
    sel = promql.matchers(sorted(spec.selectors.items()))
    growing, flat = f'instance="grows",{sel}', f'instance="flat",{sel}'
    plan = spec.capacity
    checks = [
        _count(f"{capacity.trend_name(disk)}{{{growing}}} > {GROWTH * 0.98} < {GROWTH * 1.02}",
               at, 1),
    ]
    for ahead in plan.projections:
        days = ahead / 86400
        low, high = now + GROWTH * (days - 1), now + GROWTH * (days + 1)
        checks.append(_count(f"{capacity.projected_name(disk, ahead)}{{{growing}}} > "
                             f"{units.format_number(round(low, 6))} < "
                             f"{units.format_number(round(high, 6))}", at, 1))
    if plan.scale_up > now:
        crossing = at + (plan.scale_up - now) / GROWTH * 86400
        checks.append(_count(f"{capacity.scale_up_name(disk)}{{{growing}}} > "
                             f"{units.format_number(crossing - 86400)} < "
                             f"{units.format_number(crossing + 86400)}", at, 1))
    checks.append(_count(f"{capacity.scale_up_name(disk)}{{{flat}}}", at, 0))
    checks.append(_count(f"{capacity.peak_name(disk)}{{{flat}}} < "
                         f"{units.format_number(plan.scale_down)}", at, 1))
    checks.append(_count(f"{capacity.peak_name(disk)}{{{growing}}} < "
                         f"{units.format_number(plan.scale_down)}", at, 0))
    per_step = GROWTH * STEP / 86400
    return [{
        "name": "capacity: a filesystem filling 1%/day is projected and dated; a flat one is "
                "a candidate to shrink",
        "interval": units.format_duration(STEP),
        "input_series": [_series(spec, "grows", f"{START}+{round(per_step, 12)!r}x{steps}"),
                         _series(spec, "flat", f"{FLAT}x{steps}")],
        "promql_expr_test": checks,
    }]
