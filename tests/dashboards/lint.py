"""Grafana dashboard-linter's rules, offline, under the linter's own rule names.

Each rule is a function from a dashboard's JSON (plus the spec's exemptions) to a list
of findings, with a docstring saying why the rule exists. The suite runs every rule
on every generated dashboard, and runs each rule on hand-written bad dashboards to
show it can fail. Queries are parsed with PyPI's promql-parser after Grafana's macros
are replaced: `$__rate_interval` by a sentinel duration no one writes, so the
rate-interval rule can still see where it was used; `$job` inside a quoted matcher is
already valid PromQL and is kept, so the job rule can see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser

from generator.dashboards.exemptions import Exemption
from generator.dashboards.queries import substitute

RATE_INTERVAL_SENTINEL = "7777s"
SENTINELS = {"__rate_interval": RATE_INTERVAL_SENTINEL, "__interval": "6666s", "__range": "5555s",
             "__range_s": "5555", "__interval_ms": "6666000"}
RANGE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
# Counters by Prometheus naming: `_total`, and histogram buckets (stricter than the linter).
COUNTER_SUFFIXES = ("_total", "_bucket")
# Grafana unit ids (a subset of Grafana's registry: the ones a Prometheus dashboard uses).
VALID_UNITS = frozenset({
    "none", "short", "percent", "percentunit", "s", "ms", "µs", "ns", "m", "h", "d", "dtdurations",
    "bytes", "decbytes", "bits", "Bps", "binBps", "bps", "reqps", "rps", "ops", "wps", "rpm",
    "opm", "currencyUSD", "currencyEUR", "bool", "bool_yes_no", "bool_on_off", "dateTimeAsIso",
    "dateTimeFromNow", "hertz", "celsius",
})
DATASOURCE_UIDS = frozenset({"$datasource", "${datasource}"})


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.where}: {self.message}"


Rule = Callable[[Mapping[str, Any], tuple[Exemption, ...]], list[Finding]]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        RULES[name] = function
        return function
    return register


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def _where(dashboard: Mapping[str, Any], panel: Mapping[str, Any] | None = None,
           target: Mapping[str, Any] | None = None) -> str:
    text = dashboard.get("uid", "?")
    if panel is not None:
        text += f" panel {panel.get('id')} {panel.get('title', '')!r}"
    if target is not None:
        text += f" target {target.get('refId', '?')}"
    return text


def _targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel, target


def parse(expr: str) -> Any:
    return promql_parser.parse(substitute(expr, SENTINELS))


@dataclass
class _Node:
    node: Any
    ancestors: tuple[Any, ...]


def nodes(expr: Any) -> list[_Node]:
    """Every node of a parsed expression with its ancestors (nearest last)."""
    found: list[_Node] = []
    stack: list[Any] = []

    def pre(node: Any) -> None:
        found.append(_Node(node, tuple(stack)))
        stack.append(node)

    def post(node: Any) -> None:
        stack.pop()

    promql_parser.walk(expr, pre, post)
    return found


def _selectors(expr: Any) -> Iterator[_Node]:
    for item in nodes(expr):
        if isinstance(item.node, promql_parser.VectorSelector):
            yield item


def _exempt(exemptions: Iterable[Exemption], name: str, metric: str | None = None,
            dashboard_uid: str = "", panel_id: int = -1) -> bool:
    return any(e.rule == name and (e.covers_metric(metric) or e.covers_panel(dashboard_uid, panel_id))
               for e in exemptions)


# Dashboard rules ------------------------------------------------------------------------

def _variable(dashboard: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((v for v in dashboard.get("templating", {}).get("list", []) if v.get("name") == name),
                None)


@rule("template-datasource-rule")
def template_datasource(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """A `datasource` variable of type prometheus lets one dashboard serve every Prometheus."""
    variable = _variable(dashboard, "datasource")
    where = _where(dashboard)
    if variable is None:
        return [Finding("template-datasource-rule", where, "no templated datasource variable")]
    findings = []
    if variable.get("type") != "datasource" or variable.get("query") != "prometheus":
        findings.append(Finding("template-datasource-rule", where,
                                "datasource variable must be of type datasource, query prometheus"))
    if variable.get("label") not in ("Data source", "Data Source"):
        findings.append(Finding("template-datasource-rule", where,
                                f"datasource variable labelled {variable.get('label')!r}, "
                                "expected 'Data source'"))
    return findings


def _template_rule(name: str, dashboard: Mapping[str, Any]) -> list[Finding]:
    rule_name = f"template-{name}-rule"
    variable = _variable(dashboard, name)
    where = _where(dashboard)
    if variable is None:
        return [Finding(rule_name, where, f"missing the {name} template variable")]
    problems = []
    if (variable.get("datasource") or {}).get("uid") not in DATASOURCE_UIDS:
        problems.append(f"{name} variable should use the datasource variable")
    if variable.get("type") != "query":
        problems.append(f"{name} variable should be a Prometheus query")
    if variable.get("label") != name.capitalize():
        problems.append(f"{name} variable should be labelled {name.capitalize()!r}")
    if not variable.get("multi"):
        problems.append(f"{name} variable should be multi-select")
    if not variable.get("includeAll"):
        problems.append(f"{name} variable should offer All")
    if variable.get("allValue") != ".+":
        problems.append(f"{name} variable allValue should be '.+'")
    return [Finding(rule_name, where, p) for p in problems]


@rule("template-job-rule")
def template_job(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """A multi-select `job` variable lets one dashboard show one service or all of them."""
    return _template_rule("job", dashboard)


@rule("template-instance-rule")
def template_instance(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """A multi-select `instance` variable lets an engineer narrow to the host that pages."""
    return _template_rule("instance", dashboard)


# Panel rules ----------------------------------------------------------------------------

@rule("panel-datasource-rule")
def panel_datasource(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """Panels and targets use the datasource variable, so switching it switches every query."""
    findings = []
    for panel in panels(dashboard):
        for where, owner in [(_where(dashboard, panel), panel)] + [
                (_where(dashboard, panel, t), t) for t in panel.get("targets", [])]:
            source = owner.get("datasource")
            if not isinstance(source, dict) or source.get("uid") not in DATASOURCE_UIDS:
                findings.append(Finding("panel-datasource-rule", where,
                                        f"datasource {source!r} is not the datasource variable"))
    return findings


@rule("panel-title-description-rule")
def panel_title_description(dashboard: Mapping[str, Any],
                            exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """A title says what a panel shows; a description says how to read it at 3 a.m."""
    return [Finding("panel-title-description-rule", _where(dashboard, panel),
                    f"missing {key}")
            for panel in panels(dashboard)
            for key in ("title", "description") if not str(panel.get(key) or "").strip()]


@rule("panel-units-rule")
def panel_units(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """Without a unit, 0.8 could be 80 %, 800 ms or 0.8 requests: every panel says which."""
    findings = []
    for panel in panels(dashboard):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if unit not in VALID_UNITS:
            findings.append(Finding("panel-units-rule", _where(dashboard, panel),
                                    f"unit {unit!r} is not a Grafana unit"))
    return findings


# Target rules ---------------------------------------------------------------------------

@rule("target-promql-rule")
def target_promql(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """A query that does not parse shows "No data", which reads like a healthy quiet system."""
    findings = []
    for panel, target in _targets(dashboard):
        try:
            parse(target["expr"])
        except (ValueError, SyntaxError) as err:
            findings.append(Finding("target-promql-rule", _where(dashboard, panel, target),
                                    f"invalid PromQL: {err}"))
    return findings


def _parsed_targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any],
                                                                    Mapping[str, Any], Any]]:
    for panel, target in _targets(dashboard):
        try:
            yield panel, target, parse(target["expr"])
        except (ValueError, SyntaxError):
            continue  # reported by target-promql-rule


@rule("target-rate-interval-rule")
def target_rate_interval(dashboard: Mapping[str, Any],
                         exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """`$__rate_interval` is always at least four scrapes: a rate never silently goes empty."""
    findings = []
    sentinel = timedelta(seconds=int(RATE_INTERVAL_SENTINEL[:-1]))
    for panel, target, expr in _parsed_targets(dashboard):
        if _exempt(exemptions, "target-rate-interval-rule", dashboard_uid=dashboard["uid"],
                   panel_id=panel["id"]):
            continue
        for item in nodes(expr):
            node = item.node
            if isinstance(node, promql_parser.Call) and node.func.name in RANGE_FUNCTIONS:
                ranged = [a for a in node.args
                          if isinstance(a, promql_parser.MatrixSelector | promql_parser.SubqueryExpr)]
                if any(a.range != sentinel for a in ranged):
                    findings.append(Finding("target-rate-interval-rule",
                                            _where(dashboard, panel, target),
                                            f"{node.func.name}() should use $__rate_interval"))
    return findings


def _matcher_rule(label: str, dashboard: Mapping[str, Any],
                  exemptions: tuple[Exemption, ...]) -> list[Finding]:
    rule_name = f"target-{label}-rule"
    findings = []
    for panel, target, expr in _parsed_targets(dashboard):
        for item in _selectors(expr):
            selector = item.node
            if _exempt(exemptions, rule_name, metric=selector.name):
                continue
            matched = any(m.name == label and m.op == promql_parser.MatchOp.Re
                          and m.value in (f"${label}", f"${{{label}}}")
                          for m in selector.matchers.matchers)
            if not matched:
                findings.append(Finding(rule_name, _where(dashboard, panel, target),
                                        f'{selector.name or selector} lacks {label}=~"${label}"'))
    return findings


@rule("target-job-rule")
def target_job(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """Without `job=~"$job"` a query mixes in every job exporting a same-named metric."""
    return _matcher_rule("job", dashboard, exemptions)


@rule("target-instance-rule")
def target_instance(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """Without `instance=~"$instance"` picking a host in the variable changes nothing."""
    return _matcher_rule("instance", dashboard, exemptions)


@rule("target-counter-agg-rule")
def target_counter_agg(dashboard: Mapping[str, Any],
                       exemptions: tuple[Exemption, ...]) -> list[Finding]:
    """A raw counter only grows and resets on restart; only its rate or increase means anything."""
    findings = []
    for panel, target, expr in _parsed_targets(dashboard):
        if _exempt(exemptions, "target-counter-agg-rule", dashboard_uid=dashboard["uid"],
                   panel_id=panel["id"]):
            continue
        for item in _selectors(expr):
            name = item.node.name or ""
            if not name.endswith(COUNTER_SUFFIXES):
                continue
            parents = item.ancestors[-2:]
            inside = (len(parents) == 2
                      and isinstance(parents[1], promql_parser.MatrixSelector | promql_parser.SubqueryExpr)
                      and isinstance(parents[0], promql_parser.Call)
                      and parents[0].func.name in RANGE_FUNCTIONS)
            if not inside:
                findings.append(Finding("target-counter-agg-rule", _where(dashboard, panel, target),
                                        f"counter {name} used outside rate()/irate()/increase()"))
    return findings


def lint(dashboard: Mapping[str, Any], exemptions: tuple[Exemption, ...] = (),
         only: Iterable[str] | None = None) -> list[Finding]:
    names = list(only) if only is not None else list(RULES)
    return [finding for name in names for finding in RULES[name](dashboard, exemptions)]
