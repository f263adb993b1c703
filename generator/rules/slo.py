"""SLO recording rules and multiwindow, multi-burn-rate alerts (Google SRE workbook, ch. 5).

How long windows stay cheap and unbiased: the SLI's error and total rates are
recorded once, over 5 minutes (`vigil_slo:errors:rate5m`, `vigil_slo:total:rate5m`).
The error ratio over any longer window is then
`sum_over_time(errors[W]) / sum_over_time(total[W])`: a ratio of sums, which weighs
each 5-minute slice by its traffic, unlike an average of ratios, and which reads
recorded samples instead of 30 days of raw counters.

Burn rate is the error ratio divided by the error budget (1 − objective). A window
pair alerts when both its long and its short window burn faster than
`budget share × period / long window` (2 % of a 30-day budget in 1 h → 14.4). The
short window makes the alert stop soon after the burn does. A guard keeps the alert
quiet while the service sees fewer events than `min_rate`: three failed requests out
of five are not a page. The guard multiplies instead of dividing (`1/m` is
`avg rate × 60 >= 1`, less a relative 1e-9 for float rounding), so traffic of exactly
the stated rate passes: `>= 0.016666666667`, a rounded 1/60, did not.

The error budget is counted in events: allowed bad events = (1 − objective) × the
events the period is expected to hold. While the history is shorter than the period,
the expected events are projected from the traffic seen:
`vigil_slo:period_covered:ratio` is the share of the period the recorded samples
span (their count over the period against their count over the last hour, which
needs no knowledge of the evaluation interval), and remaining budget =
1 − error ratio so far × covered share / (1 − objective). A 2-hour burn on a 2-day-old
SLO thus spends what it would spend of a full period, instead of reading the 2 days
as the whole period. Once the history spans the period the share is 1 and this is
the plain `1 − error ratio / budget`. The exhaustion alert has the burn alerts'
low-traffic guard, over the whole period's history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator import links, promql, templating, units
from generator.model import Slo, Spec
from generator.rules.signals import alert_name

BASE_WINDOW = "5m"
COVERAGE_WINDOW = "1h"  # samples counted here give the spacing of the recorded series
GUARD_SLACK = 1e-9  # relative: a computed rate of exactly min_rate may be 1 ulp below it


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


def recording_rules(spec: Spec, slo: Slo) -> list[dict[str, Any]]:
    matchers = spec.matchers(slo.exporter)
    total = promql.render(slo.total_expr, matchers, BASE_WINDOW)
    # A counter of bad (or good) events has no series until the first such event: the
    # http exporter writes `status_class="5xx"` after the first server error. Without
    # `or 0 * total` an SLO that never failed would record no error ratio and no budget.
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
    for window in windows(slo):
        if window == BASE_WINDOW:
            ratio = f"vigil_slo:errors:rate5m{own} / vigil_slo:total:rate5m{own}"
        else:
            ratio = (f"sum_over_time(vigil_slo:errors:rate5m{own}[{window}])"
                     f" / sum_over_time(vigil_slo:total:rate5m{own}[{window}])")
        rules.append({"record": "vigil_slo:error_ratio", "expr": ratio,
                      "labels": _labels(spec, slo, window=window)})
    for window in windows(slo):
        rules.append({
            "record": "vigil_slo:burn_rate",
            "expr": f"vigil_slo:error_ratio{series_matchers(spec, slo, window=window)} / {budget}",
            "labels": _labels(spec, slo, window=window),
        })
    period = units.format_duration(slo.period)
    rules.append({
        "record": "vigil_slo:period_covered:ratio",
        "expr": (f"clamp_max((count_over_time(vigil_slo:total:rate5m{own}[{period}]) - 1)"
                 f" / (count_over_time(vigil_slo:total:rate5m{own}[{COVERAGE_WINDOW}]) - 1)"
                 f" / {units.format_number(slo.period / units.parse_duration(COVERAGE_WINDOW))},"
                 " 1)"),
        "labels": _labels(spec, slo),
    })
    rules.append({
        "record": "vigil_slo:error_budget_remaining:ratio",
        "expr": f"1 - max without (window) (vigil_slo:error_ratio{series_matchers(spec, slo, window=period)})"
                f" * vigil_slo:period_covered:ratio{own} / {budget}",
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
    return (f"avg_over_time(vigil_slo:total:rate5m{series_matchers(spec, slo)}[{window}])"
            f"{scale} >= {count}")


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
            expr += f" and {traffic_guard(spec, slo, period)}"
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
    return [
        {"name": f"{spec.name}.slo.{slo.name}",
         "rules": recording_rules(spec, slo) + alerting_rules(spec, slo)}
        for slo in spec.slos.values()
    ]
