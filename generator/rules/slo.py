"""SLO recording rules and multiwindow, multi-burn-rate alerts (Google SRE workbook, ch. 5).

How long windows stay cheap and unbiased: the SLI's error and total rates are
recorded once, over 5 minutes (`vigil_slo:errors:rate5m`, `vigil_slo:total:rate5m`),
the only rules that read raw series. Every longer window is a ratio of sums of
recorded rates, `sum_over_time(errors[W]) / sum_over_time(total[W])`, which weighs each
slice by its traffic (an average of ratios does not: on day/night traffic it is off by
an order of magnitude) and reads recorded samples instead of raw counters.

What a window reads is chosen by its length, so no evaluation scans a month of
samples (the per-window cost is `W / spacing` samples):
- up to 6h (the page alerts' windows): the 5m rates themselves, recorded every
  evaluation, so fast burns are seen at once;
- up to 3d: `vigil_slo:*:rate_tile5m`, the 5m rate recorded once per 5-minute tile
  by a group evaluated every 5 minutes (288 samples a day);
- longer (the 30d period): `vigil_slo:*:rate_tile1h`, the mean over each hour, recorded
  hourly (720 samples in 30 days).
A tile's rate times its length is the events it holds, so sums of tiles are sums of
events and the ratio stays errors over requests. Tiles lag by at most their length
(the ticket windows by 5 minutes, the period by an hour). Until a new SLO has its first
tile, the window falls back to the last hour of 5m rates, which is then its whole
history. Other groups' sparse series are only read as ranges (an instant read of a
series written every 5 minutes would fall out of Prometheus's 5-minute lookback).

The tiled windows' ratios, and the traffic guards' means over them
(`vigil_slo:total:avg_rate{window}`), change only once a tile, so they are recorded by
a group of their own every 2m30s (`<spec>.slo.<slo>.2m30s`) instead of every
evaluation: those reads were half of what an SLO cost (bench/RESULTS.md). At half the
lookback every instant read of them finds a sample, so the burn rates, the budget,
the alerts (which stay in the main group, where escalations read their `ALERTS`
every evaluation) and the dashboards read them as they read any other series. The
ticket alerts may thus see a new tile up to 2m30s later than before.

Burn rate is the error ratio divided by the error budget (1 − objective). A window
pair alerts when both its long and its short window burn faster than
`budget share × period / long window` (2 % of a 30-day budget in 1 h → 14.4). The
short window makes the alert stop soon after the burn does. A guard keeps the alert
quiet while the service sees fewer events than `min_rate`: three failed requests out
of five are not a page. The guard multiplies instead of dividing (`1/m` is
`avg rate × 60 >= 1`, less a relative 1e-9 for float rounding), so traffic of exactly
the stated rate passes: `>= 0.016666666667`, a rounded 1/60, did not. It averages the
same recorded series as the window it guards.

The error budget is counted in events: allowed bad events = (1 − objective) × the
events the period is expected to hold. While the history is shorter than the period,
the expected events are projected from the traffic seen:
`vigil_slo:period_covered:ratio` is the share of the period the recorded history
spans: from the oldest hourly tile in the period (each records its own time, so 720
samples answer it) to now, at least an hour, and remaining budget =
1 − error ratio so far × covered share / (1 − objective). A 2-hour burn on a 2-day-old
SLO thus spends what it would spend of a full period, instead of reading the 2 days
as the whole period. Once the history spans the period the share is 1 and this is
the plain `1 − error ratio / budget`. The exhaustion alert has the burn alerts'
low-traffic guard, over the whole period's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator import links, promql, templating, units
from generator.model import Slo, Spec
from generator.rules.signals import alert_name

BASE_WINDOW = "5m"
COVERAGE_WINDOW = "1h"  # a history shorter than this counts as this long
GUARD_SLACK = 1e-9  # relative: a computed rate of exactly min_rate may be 1 ulp below it
FALLBACK_WINDOW = "1h"  # what a tiled window reads before its first tile exists
COVERED_LOOKBACK = "10m"  # two tiles: the covered share is read as a range of its samples
TILE_TIME = "vigil_slo:tile1h:timestamp_seconds"  # when each hourly tile was recorded
# The tiled windows' group: they change once a tile, so they need not be read every
# evaluation; at half of Prometheus's 5-minute lookback every instant read of what it
# records (the burn rates, the budget, dashboards) still finds a sample.
TILED_INTERVAL = "2m30s"


@dataclass(frozen=True)
class Level:
    """One level of the hierarchy: the recorded rate series a window reads.

    `interval` is the evaluation interval of the group recording them (None: the
    SLO's main group, at Prometheus's own interval); `longest` the longest window in
    seconds read from them.
    """

    suffix: str
    interval: str | None
    longest: float


LEVELS = (
    Level("rate5m", None, 6 * 3600.0),
    Level("rate_tile5m", "5m", 3 * 86400.0),
    Level("rate_tile1h", "1h", float("inf")),
)


def level(window: float) -> Level:
    """The level a window of `window` seconds is read from."""
    return next(lv for lv in LEVELS if window <= lv.longest)


def _labels(spec: Spec, slo: Slo, **extra: str) -> dict[str, str]:
    return {"slo": slo.name, **dict(sorted(spec.selectors.items())), **extra}


def series_matchers(spec: Spec, slo: Slo, **extra: str) -> str:
    """Matchers of an SLO's recorded series (its name, the selectors, and `extra`)."""
    pairs = {"slo": slo.name, **dict(sorted(spec.selectors.items())), **extra}
    return "{" + promql.matchers(pairs) + "}"


def windows(slo: Slo) -> list[str]:
    """Every window a ratio is recorded for: each alert's pair, and the whole period."""
    seconds = {w.long for w in slo.windows} | {w.short for w in slo.windows} | {slo.period}
    return [units.format_duration(s) for s in sorted(seconds)]


def _ratio(spec: Spec, slo: Slo, window: str) -> str:
    """Errors over requests in `window`: a ratio of sums of the window's level."""
    own = series_matchers(spec, slo)
    if window == BASE_WINDOW:
        return f"vigil_slo:errors:rate5m{own} / vigil_slo:total:rate5m{own}"
    suffix = level(units.parse_duration(window)).suffix

    def sums(name: str, span: str) -> str:
        return (f"sum_over_time(vigil_slo:errors:{name}{own}[{span}])"
                f" / sum_over_time(vigil_slo:total:{name}{own}[{span}])")

    if suffix == LEVELS[0].suffix:
        return sums(suffix, window)
    return f"({sums(suffix, window)}) or ({sums(LEVELS[0].suffix, FALLBACK_WINDOW)})"


def tiled(window: str) -> bool:
    """Whether a window reads tiles (and is recorded in the tiled windows' group)."""
    return level(units.parse_duration(window)) is not LEVELS[0]


def _each_window(parts: dict[str, str]) -> str:
    """One expression for several windows, each part labelled with its window.

    The parts' label sets differ only in `window`, so `or` keeps every one of them.
    """
    return " or ".join(f'label_replace({expr}, "window", "{window}", "", "")'
                       for window, expr in parts.items())


def _guarded_windows(slo: Slo) -> list[str]:
    """The tiled windows a traffic guard averages: long windows of alerts, and the period."""
    if slo.min_rate <= 0:
        return []
    seconds = {w.long for w in slo.windows} | ({slo.period} if slo.windows else set())
    return [w for w in (units.format_duration(s) for s in sorted(seconds)) if tiled(w)]


def _mean_traffic(spec: Spec, slo: Slo, window: str) -> str:
    """Mean of the 5m total rate over `window`, from the window's level."""
    own = series_matchers(spec, slo)
    suffix = level(units.parse_duration(window)).suffix
    mean = f"avg_over_time(vigil_slo:total:{suffix}{own}[{window}])"
    if suffix != LEVELS[0].suffix:
        mean = f"({mean} or avg_over_time(vigil_slo:total:rate5m{own}[{FALLBACK_WINDOW}]))"
    return mean


def _tiled_group(spec: Spec, slo: Slo) -> list[dict[str, Any]]:
    """The tiled windows' ratios, and the traffic guards' means over them.

    Evaluated after the tile groups, so each reads the tiles of its own step; the
    burn-rate rule and the alerts of the SLO's main group read what it records.
    """
    # A rule per window: the main group's one ratio rule has the same name and no
    # `window` of its own, and two such rules would be duplicates to promtool's lint.
    rules = [{"record": "vigil_slo:error_ratio", "expr": _ratio(spec, slo, w),
              "labels": _labels(spec, slo, window=w)} for w in windows(slo) if tiled(w)]
    if not rules:
        return []
    means = {w: _mean_traffic(spec, slo, w) for w in _guarded_windows(slo)}
    if means:
        rules.append({"record": "vigil_slo:total:avg_rate", "expr": _each_window(means),
                      "labels": _labels(spec, slo)})
    return [{"name": f"{spec.name}.slo.{slo.name}.{TILED_INTERVAL}", "interval": TILED_INTERVAL,
             "rules": rules}]


def _tile_groups(spec: Spec, slo: Slo) -> list[dict[str, Any]]:
    """The groups recording the tiles, each evaluated once per tile."""
    own = series_matchers(spec, slo)
    result = []
    for lv in LEVELS[1:]:
        # A 5m rate sampled every 5 minutes covers each event once; so does the mean of
        # the 5m rates over each hour (the rates' 5-minute overlaps add up to one).
        rules: list[dict[str, Any]] = [
            {"record": f"vigil_slo:{kind}:{lv.suffix}",
             "expr": (f"vigil_slo:{kind}:rate5m{own}" if lv.interval == BASE_WINDOW else
                      f"avg_over_time(vigil_slo:{kind}:rate5m{own}[{lv.interval}])"),
             "labels": _labels(spec, slo)}
            for kind in ("errors", "total")]
        if lv is LEVELS[1]:
            rules.append(_period_covered(spec, slo))
        else:
            rules.append({"record": TILE_TIME,
                          "expr": f"timestamp(vigil_slo:total:{lv.suffix}{own})",
                          "labels": _labels(spec, slo)})
        result.append({"name": f"{spec.name}.slo.{slo.name}.{lv.interval}",
                       "interval": lv.interval, "rules": rules})
    return result


def _period_covered(spec: Spec, slo: Slo) -> dict[str, Any]:
    own = series_matchers(spec, slo)
    period = units.format_duration(slo.period)
    seconds = units.format_number(slo.period)
    hour = units.format_number(units.parse_duration(COVERAGE_WINDOW))
    floor = units.format_number(min(units.parse_duration(COVERAGE_WINDOW) / slo.period, 1.0))
    return {
        "record": "vigil_slo:period_covered:ratio",
        "expr": (f"clamp_max(clamp_min(time() - min_over_time({TILE_TIME}{own}[{period}]), {hour})"
                 f" / {seconds}, 1)"
                 # before the first hourly tile: under an hour, counted as one hour
                 f" or (0 * count_over_time(vigil_slo:total:{LEVELS[1].suffix}{own}"
                 f"[{COVERAGE_WINDOW}]) + {floor})"),
        "labels": _labels(spec, slo),
    }


def recording_rules(spec: Spec, slo: Slo) -> list[dict[str, Any]]:
    matchers = spec.matchers(slo.exporter)
    total = promql.render(slo.total_expr, matchers, BASE_WINDOW)
    # A counter of bad (or good) events may have no series until the first such event
    # (Vigil's access-log exporter serves its 5xx series from 0, other exporters need
    # not). Without `or 0 * total` such an SLO that never failed would record no error
    # ratio and no budget.
    if slo.error_expr is not None:
        errors = f"({promql.render(slo.error_expr, matchers, BASE_WINDOW)}) or 0 * ({total})"
    else:
        good = promql.render(slo.good_expr or "", matchers, BASE_WINDOW)
        errors = f"({total}) - (({good}) or 0 * ({total}))"
    rules: list[dict[str, Any]] = [
        {"record": "vigil_slo:errors:rate5m", "expr": errors, "labels": _labels(spec, slo)},
        {"record": "vigil_slo:total:rate5m", "expr": total, "labels": _labels(spec, slo)},
    ]
    budget = units.format_number(round(1 - slo.objective, 12))
    own = series_matchers(spec, slo)
    # One rule for the untiled windows' ratios (the tiled ones are in their own group)
    # and one for every window's burn rate: the series are those of a rule per window,
    # each with its `window` label, for fewer evaluations. A spec may tile them all.
    untiled = {w: _ratio(spec, slo, w) for w in windows(slo) if not tiled(w)}
    if untiled:
        rules.append({"record": "vigil_slo:error_ratio", "expr": _each_window(untiled),
                      "labels": _labels(spec, slo)})
    rules.append({"record": "vigil_slo:burn_rate", "expr": f"vigil_slo:error_ratio{own} / {budget}",
                  "labels": _labels(spec, slo)})
    period = units.format_duration(slo.period)
    # The covered share is recorded every 5 minutes: read as a range, never as an
    # instant that could fall out of the lookback between two of its samples; before
    # its first sample the history is under an hour, which counts as one hour.
    floor = units.format_number(min(units.parse_duration(COVERAGE_WINDOW) / slo.period, 1.0))
    rules.append({
        "record": "vigil_slo:error_budget_remaining:ratio",
        "expr": f"1 - max without (window) (vigil_slo:error_ratio{series_matchers(spec, slo, window=period)})"
                f" * (last_over_time(vigil_slo:period_covered:ratio{own}[{COVERED_LOOKBACK}])"
                f" or 0 * vigil_slo:total:rate5m{own} + {floor}) / {budget}",
        "labels": _labels(spec, slo),
    })
    rules.append({
        "record": "vigil_slo:objective:ratio",
        "expr": f"vector({units.format_number(slo.objective)})",
        "labels": _labels(spec, slo),
    })
    return rules


def traffic_guard(spec: Spec, slo: Slo, window: str) -> str:
    """Mean traffic over `window` is at least `min_rate`, compared as written (`× 60 >= 1`)."""
    count = units.format_number(round(slo.min_rate * slo.min_rate_per * (1 - GUARD_SLACK), 12))
    scale = "" if slo.min_rate_per == 1 else f" * {units.format_number(slo.min_rate_per)}"
    mean = (f"vigil_slo:total:avg_rate{series_matchers(spec, slo, window=window)}"
            if tiled(window) else _mean_traffic(spec, slo, window))
    return f"{mean}{scale} >= {count}"


def alerting_rules(spec: Spec, slo: Slo,
                   text: Callable[[str], str] = templating.literal) -> list[dict[str, Any]]:
    """Burn-rate and budget alerts; `text` as in signals.annotations (the unit tests pass
    templating.verbatim to get what Prometheus renders)."""
    rules = []
    name = alert_name(slo.name)
    period = units.format_duration(slo.period)
    url = text(links.dashboard_url(spec, "slo"))
    runbook = text(links.runbook_url(spec, slo.name))
    title = text(slo.title)
    objective = units.format_percent(slo.objective)
    for window in slo.windows:
        long, short = units.format_duration(window.long), units.format_duration(window.short)
        factor = units.format_number(window.factor)
        expr = (
            f"vigil_slo:burn_rate{series_matchers(spec, slo, window=long)} > {factor}"
            f" and ignoring (window) vigil_slo:burn_rate{series_matchers(spec, slo, window=short)} > {factor}"
        )
        if slo.min_rate > 0:
            expr += f" and ignoring (window) {traffic_guard(spec, slo, long)}"
        severity = spec.severities[window.severity]
        rule: dict[str, Any] = {"alert": f"{name}BudgetBurn", "expr": expr}
        if window.for_:
            rule["for"] = units.format_duration(window.for_)
        rule["labels"] = {"severity": severity.name, "priority": severity.priority,
                          "team": text(slo.team), "slo": slo.name, "long_window": long,
                          "short_window": short}
        rule["annotations"] = {
            "summary": f"{title} is burning its error budget {factor}× too fast",
            "description": (
                f"{title} burns its error budget at {{{{ $value | humanize }}}}× the "
                f"sustainable rate over {long} (and over {short}): at this pace "
                f"{units.format_percent(window.budget)} of the {period} budget is gone in "
                f"{long}. Objective {objective}."
            ),
            "runbook_url": runbook,
            "dashboard_url": url,
        }
        rules.append(rule)
    exhausted = spec.severities[slo.windows[-1].severity] if slo.windows else None
    if exhausted is not None:
        expr = f"vigil_slo:error_budget_remaining:ratio{series_matchers(spec, slo)} <= 0"
        if slo.min_rate > 0:
            expr += f" and ignoring (window) {traffic_guard(spec, slo, period)}"
        rules.append({
            "alert": f"{name}ErrorBudgetExhausted",
            "expr": expr,
            "for": "15m",
            "labels": {"severity": exhausted.name, "priority": exhausted.priority,
                       "team": text(slo.team), "slo": slo.name},
            "annotations": {
                "summary": f"{title} has spent its {period} error budget",
                "description": (f"{title} has {{{{ $value | humanizePercentage }}}} of its "
                                f"{period} error budget left (objective {objective}). Freeze risky "
                                "changes until it recovers."),
                "runbook_url": runbook,
                "dashboard_url": url,
            },
        })
    return rules


def groups(spec: Spec) -> list[dict[str, Any]]:
    result = []
    for slo in spec.slos.values():
        result.append({"name": f"{spec.name}.slo.{slo.name}",
                       "rules": recording_rules(spec, slo) + alerting_rules(spec, slo)})
        result += _tile_groups(spec, slo) + _tiled_group(spec, slo)
    return result
