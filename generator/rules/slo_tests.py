"""promtool unit tests for the SLO rules (`alert_rules/tests/slo.test.yml`).

Each SLO gets, fed as exporter-shaped raw series (generator/rules/slo_inputs.py):
- constant traffic at three burn rates for a few hours: each burn-rate alert fires
  exactly when its factor is crossed, and the budget is *not* reported exhausted,
  because a few hours of burning spend only that share of the period's budget;
- a total outage at exactly `min_rate`, long enough to spend 1.5 times the budget
  projected for the period: every burn-rate alert and the exhaustion alert fire,
  so traffic of exactly the stated rate passes the guard;
- no bad request at all, and no `5xx` series (as from an exporter that creates it
  with the first error): the error ratio
  is recorded as 0 and the budget as whole, nothing fires;
- the same outage just below `min_rate` (99 % of it): nothing fires (it lasts as long
  as the previous case, or the steady cases' time if that is shorter).

Expected values are computed here from the definitions (burn = error ratio ÷ budget;
budget spent = error ratio × covered share of the period ÷ budget), not read from the
rules, so a rule that computes either differently fails.
"""

from __future__ import annotations

import math
from typing import Any

from generator import promql, templating, units
from generator.model import BurnWindow, Slo, Spec
from generator.rules import signals
from generator.rules.humanize import humanize_value
from generator.rules.slo import COVERAGE_WINDOW, series_matchers, windows
from generator.rules.slo import alerting_rules as slo_alerting_rules
from generator.rules.slo_inputs import input_series, modelled

EVALUATION = 300.0  # the test file's evaluation_interval: SLO windows are hours to days
STEADY = 2 * 3600.0  # how long the constant-burn cases run: the 1h windows fill
EXHAUSTED_FOR = 900.0  # the exhaustion alert's `for`
BELOW = 0.99  # "just below min_rate"
NO_ERRORS = 3600.0  # how long the error-free case runs


def covered(slo: Slo, history: float, first: float = EVALUATION) -> float:
    """The share of the period the 5-minute tiles span, as read after `history` seconds.

    promtool evaluates every group at every step, the SLO's main group first: the
    budget reads the share its tile group recorded one evaluation earlier. From raw
    series the first tile is recorded at the first evaluation after t=0 (a rate needs
    two samples); recorded rates fed directly give a tile at t=0 (`first=0`).
    """
    span = history - EVALUATION - first
    hour = units.parse_duration(COVERAGE_WINDOW)
    if span < hour:
        return min(hour / slo.period, 1.0)
    return min(span / slo.period, 1.0)


def _first(spec: Spec, slo: Slo) -> float:
    """When the SLO's first tile is recorded in its cases."""
    return EVALUATION if modelled(spec, slo) else 0.0


def _burns(slo: Slo) -> list[float]:
    factors = sorted({w.factor for w in slo.windows})
    middle = (factors[0] + factors[-1]) / 2
    if middle in factors and len(factors) > 1:  # a burn exactly at a factor is a coin toss
        middle = (factors[0] + factors[1]) / 2
    return [factors[-1] * 1.5, *([middle] if len(factors) > 1 else []), factors[0] * 0.5]


def _outage_history(slo: Slo) -> float:
    """Long enough for a total outage to spend 1.5× the projected budget, then `for`."""
    spend = 1.5 * slo.period * (1 - slo.objective) + EVALUATION
    return math.ceil((spend + EXHAUSTED_FOR + EVALUATION) / EVALUATION) * EVALUATION


def slo_tests(spec: Spec) -> list[dict[str, Any]]:
    tests = []
    for slo in spec.slos.values():
        if not slo.windows:
            continue
        budget = 1 - slo.objective
        steady_rate = max(slo.min_rate * 10, 10.0)
        for burn in _burns(slo):
            spent = burn * covered(slo, STEADY, _first(spec, slo))
            tests.append(_case(spec, slo, f"burning {burn:g}x for {units.format_duration(STEADY)} "
                               f"spends {units.format_percent(round(spent, 4))} of the budget",
                               steady_rate, min(burn * budget, 1.0), STEADY))
        tests.append(_no_errors_case(spec, slo, steady_rate))
        history = _outage_history(slo)
        outage = units.format_duration(history)
        if slo.min_rate > 0:
            rate = units.format_number(slo.min_rate * slo.min_rate_per)
            per = units.format_duration(slo.min_rate_per).removeprefix("1")  # 1/m, 5/10m
            tests.append(_case(spec, slo, f"outage for {outage} at exactly {rate}/{per} spends "
                               "the budget", slo.min_rate, 1.0, history))
            # Only as long as needed: where spending the budget takes longer than the
            # steady cases, the burn alerts' guard is what this case shows.
            short = min(history, STEADY)
            tests.append(_case(spec, slo, f"outage for {units.format_duration(short)} just "
                               f"below {rate}/{per} stays silent", slo.min_rate * BELOW, 1.0,
                               short))
        else:
            tests.append(_case(spec, slo, f"outage for {outage} spends the budget", 10.0, 1.0,
                               history))
    return tests


def _no_errors_case(spec: Spec, slo: Slo, rate: float) -> dict[str, Any]:
    """No bad request yet: the SLO still records an error ratio of 0 and a whole budget."""
    case = _case(spec, slo, f"no errors for {units.format_duration(NO_ERRORS)} leaves the "
                 "budget whole", rate, 0.0, NO_ERRORS)
    at = units.format_duration(NO_ERRORS)
    labels = dict(sorted({"slo": slo.name, **spec.selectors}.items()))
    case["promql_expr_test"] = [
        {"expr": f"{name}{series_matchers(spec, slo, **extra)}", "eval_time": at,
         "exp_samples": [{"labels": _series_text(name, {**labels, **extra}), "value": value}]}
        # the shortest window the SLO records: 5m by default, a spec's own otherwise
        for name, extra, value in (("vigil_slo:error_ratio", {"window": windows(slo)[0]}, 0),
                                   ("vigil_slo:error_budget_remaining:ratio", {}, 1))]
    return case


def _series_text(name: str, labels: dict[str, str]) -> str:
    return f"{name}{{{promql.matchers(sorted(labels.items()))}}}"


def _case(spec: Spec, slo: Slo, title: str, rate: float, ratio: float,
          history: float) -> dict[str, Any]:
    budget = 1 - slo.objective
    burn = ratio / budget
    guarded = rate >= slo.min_rate
    samples = int(history // 60) + 1
    expected = [_burn_expected(spec, slo, w, burn) for w in slo.windows
                if guarded and burn > w.factor and (w.for_ or 0) + 600 <= history]
    first = _first(spec, slo)
    remaining = 1 - ratio * covered(slo, history, first) / budget
    still = 1 - ratio * covered(slo, history - EXHAUSTED_FOR, first) / budget
    exhausted = [_exhausted_expected(spec, slo, remaining)] if guarded and still <= 0 else []
    at = units.format_duration(history)
    name = signals.alert_name(slo.name)
    return {
        "name": f"slo {slo.name}: {title}",
        "interval": "1m",
        "input_series": input_series(spec, slo, rate, ratio, samples),
        "alert_rule_test": [
            {"eval_time": at, "alertname": f"{name}BudgetBurn", "exp_alerts": expected},
            {"eval_time": at, "alertname": f"{name}ErrorBudgetExhausted", "exp_alerts": exhausted},
        ],
    }


def _rule(spec: Spec, slo: Slo, labels: dict[str, str]) -> dict[str, Any]:
    """The alerting rule with these labels (a burn alert is named by its windows)."""
    return next(r for r in slo_alerting_rules(spec, slo, templating.verbatim)
                if all(r["labels"].get(k) == v for k, v in labels.items())
                and ("long_window" in r["labels"]) == ("long_window" in labels))


def _exhausted_expected(spec: Spec, slo: Slo, remaining: float) -> dict[str, Any]:
    rule = _rule(spec, slo, {"slo": slo.name})
    annotations = dict(rule["annotations"])
    annotations["description"] = annotations["description"].replace(
        "{{ $value | humanizePercentage }}", humanize_value("ratio", remaining))
    return {"exp_labels": {**rule["labels"], **spec.selectors}, "exp_annotations": annotations}


def _burn_expected(spec: Spec, slo: Slo, window: BurnWindow, burn: float) -> dict[str, Any]:
    long, short = units.format_duration(window.long), units.format_duration(window.short)
    rule = _rule(spec, slo, {"long_window": long, "short_window": short})
    annotations = dict(rule["annotations"])
    annotations["description"] = annotations["description"].replace(
        "{{ $value | humanize }}", humanize_value("count", burn))
    return {"exp_labels": {**rule["labels"], "slo": slo.name, "window": long, **spec.selectors},
            "exp_annotations": annotations}
