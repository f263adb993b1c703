"""Overview: what an executive and the on-call engineer look at first.

The headline SLO (the one named `availability`, else the first in the spec) against
its objective, its error budget and burn rate; a table of every SLO; alerts firing
by severity and by team from `ALERTS`; the reliability targets; and the health of the
monitoring itself (generator/rules/monitoring.py): scrape targets up and down, the
Watchdog, the firing `category="monitoring"` alerts, rule evaluation failures and
failed notifications. The Watchdog and the InfoInhibitor (severity `none`) always or
routinely fire, so the alert counts above leave them out.

MTTR and MTBF are measured: not from `ALERTS` (it exists only while an alert is
pending or firing, so a resolved alert leaves no trace of when it was repaired) but
from the incident recorder (`vigil incidents`), whose store keeps every incident from
first firing to resolved; the generated rules record them (`vigil:mttr:seconds`,
`vigil:mtbf:seconds`, generator/rules/reliability.py) and each panel turns the
target's colour past the spec's target. Beside them: open incidents and the breaches
of response and resolution targets by priority over the dashboard's time range. The
list of the last incidents is `vigil incidents list` and `vigil report`: a table here
would need Grafana to reach the incident database, which the bundle does not assume.
The recovery point is measured too: it is the age of the newest transaction-log backup.
"""

from __future__ import annotations

from typing import Any

from generator import catalogue, promql, units
from generator.dashboards import slo_series as series
from generator.dashboards.assemble import assemble
from generator.dashboards.context import Context, target
from generator.dashboards.layout import PanelIds
from generator.dashboards.navigation import panel_link
from generator.dashboards.panels.bargauge import bargauge
from generator.dashboards.panels.common import by_name, dashed_line, fixed_colour
from generator.dashboards.panels.gauge import gauge
from generator.dashboards.panels.row import row
from generator.dashboards.panels.stat import stat
from generator.dashboards.panels.table import merge, organize, table
from generator.dashboards.panels.timeseries import timeseries
from generator.dashboards.slo import objective_steps
from generator.dashboards.steps import OK_COLOUR, clean
from generator.model import Slo, Spec
from generator.rules import monitoring, reliability

FIRING = 'ALERTS{alertstate="firing",severity!="none",$sel}'
TARGETS = {
    "mttr": ("MTTR target", "Mean time to repair the spec aims below."),
    "mtbf": ("MTBF target", "Mean time between failures the spec aims above."),
    "rpo": ("Recovery point target", "Most data, in time, that may be lost."),
    "rto": ("Recovery time target", "Longest time a restore may take."),
}
MEASURED = {  # key -> (title, recorded series, which side of the target is bad)
    "mttr": ("MTTR", "vigil:mttr:seconds", "above"),
    "mtbf": ("MTBF", "vigil:mtbf:seconds", "below"),
}


def headline(spec: Spec) -> Slo | None:
    return spec.slos.get("availability") or next(iter(spec.slos.values()), None)


def _zero_filled(ctx: Context, label: str, values: list[str]) -> str:
    """Firing alerts per label value, with an explicit 0 for values that have none."""
    return _zero_filled_expr(f"sum by ({label}) ({ctx.query(FIRING, None)})", label, values)


def _service_level(ctx: Context, slo: Slo) -> list[Any]:
    spec = ctx.spec
    period = series.window_label(slo.period)
    first = slo.windows[0] if slo.windows else None
    link = panel_link(spec, "slo", "SLO detail")
    panels: list[Any] = [
        row(ctx, "Service level"),
        stat(id=ctx.ids(), title=f"{slo.title} over {period}", unit="percentunit",
             grid=ctx.place(5, 7), decimals=3, links=[link],
             description=f"{slo.description} Objective {units.format_percent(slo.objective)}: "
                         "green at or above it.".strip(),
             targets=[target(series.sli(ctx, slo, period))], steps=objective_steps(ctx, slo)),
        timeseries(id=ctx.ids(), title=f"{slo.title} against its objective", unit="percentunit",
                   grid=ctx.place(10, 7),
                   description=f"{slo.title} over the rolling {period} period against the "
                               f"objective of {units.format_percent(slo.objective)} (dashed).",
                   targets=[target(series.sli(ctx, slo, period), "A", slo.title),
                            target(series.objective(ctx, slo), "B", "objective")],
                   overrides=[by_name("objective", fixed_colour("text"), dashed_line())],
                   steps=objective_steps(ctx, slo)),
        gauge(id=ctx.ids(), title="Error budget remaining", unit="percentunit",
              grid=ctx.place(4, 7), decimals=1, minimum=0, maximum=1,
              description=f"Share of the {period} error budget of {slo.title} still unspent; "
                          "at 0 the budget is exhausted.",
              targets=[target(series.budget_remaining(ctx, slo))],
              steps=[{"color": series.exhaustion_colour(ctx), "value": None},
                     {"color": OK_COLOUR, "value": 0}]),
    ]
    if first is not None:
        long = series.window_label(first.long)
        panels.append(stat(
            id=ctx.ids(), title=f"Burn rate ({long})", unit="short", grid=ctx.place(5, 7),
            decimals=2, graph=True, links=[link],
            description=f"How fast {slo.title} spends its error budget over {long} (1 = exactly "
                        f"used up over {period}). Its page fires above "
                        f"{units.format_number(first.factor)}.",
            targets=[target(series.burn_rate(ctx, slo, long))],
            steps=[{"color": OK_COLOUR, "value": None},
                   {"color": spec.severities[first.severity].colour, "value": clean(first.factor)}]))
    return panels


def _all_slos(ctx: Context) -> Any:
    q = ctx.query
    # Aggregating by the identifying labels drops `__name__`, which differs per query and
    # would otherwise stop the merge from joining the three values of one SLO into one row.
    by = ", ".join(("slo", *ctx.selector_labels))
    objective = f"max by ({by}) ({q('vigil_slo:objective:ratio{$sel}', None)})"
    remaining = f"max by ({by}) ({q('vigil_slo:error_budget_remaining:ratio{$sel}', None)})"
    return table(
        id=ctx.ids(), title="All SLOs", unit="percentunit", decimals=3,
        grid=ctx.place(24, min(4 + len(ctx.spec.slos), 12)),
        description="Every SLO of the spec: objective, SLI over its period and error budget "
                    "left (negative when overspent).",
        targets=[
            target(objective, "A", instant=True, table=True),
            target(f"1 - (1 - {remaining}) * (1 - {objective})", "B", instant=True, table=True),
            target(remaining, "C", instant=True, table=True),
        ],
        transformations=[merge(), organize(
            ["Time"],
            {"slo": "SLO", "Value #A": "Objective", "Value #B": "SLI over period",
             "Value #C": "Budget remaining"})],
    )


def _alerts(ctx: Context) -> list[Any]:
    spec = ctx.spec
    teams = sorted({s.team for s in spec.signals.values()} | {s.team for s in spec.slos.values()})
    return [
        row(ctx, "Alerts"),
        stat(id=ctx.ids(), title="Alerts firing", unit="short", grid=ctx.place(4, 8),
             description="Alerts firing now, across all severities (from ALERTS).",
             targets=[target(f"count({ctx.query(FIRING, None)}) or vector(0)")],
             steps=[{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}],
             graph=True),
        bargauge(id=ctx.ids(), title="Firing by severity", unit="short", grid=ctx.place(10, 8),
                 description="Alerts firing now per severity, in the severities' spec colours.",
                 targets=[target(_zero_filled(ctx, "severity", list(spec.severities)), "A",
                                 "{{severity}}", instant=True)],
                 overrides=[by_name(s.name, fixed_colour(s.colour)) for s in spec.severities.values()]),
        bargauge(id=ctx.ids(), title="Firing by team", unit="short", grid=ctx.place(10, 8),
                 description="Alerts firing now per owning team.",
                 targets=[target(_zero_filled(ctx, "team", teams), "A", "{{team}}", instant=True)],
                 steps=[{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}]),
        table(id=ctx.ids(), title="Firing alerts", unit="none", grid=ctx.place(24, 8),
              description="Every alert firing now, with its severity, priority and team.",
              targets=[target(ctx.query(FIRING, None), "A", instant=True, table=True)],
              transformations=[organize(["Time", "Value", "__name__", "alertstate"])]),
    ]


def _measured(ctx: Context, key: str, width: int) -> Any:
    """MTTR or MTBF over the spec's reliability window, coloured past its target."""
    spec = ctx.spec
    title, recorded, bad = MEASURED[key]
    window = units.format_duration(spec.reliability_window)
    target_value = spec.reliability[key]
    expr = ctx.query(f'{recorded}{{window="{window}",$sel}}', None)
    ok, worse = OK_COLOUR, ctx.worst_colour
    steps = ([{"color": ok, "value": None}, {"color": worse, "value": clean(target_value)}]
             if bad == "above" else
             [{"color": worse, "value": None}, {"color": ok, "value": clean(target_value)}])
    return stat(
        id=ctx.ids(), title=f"{title} ({window})", unit="s", grid=ctx.place(width, 5),
        description=f"{TARGETS[key][1]} Measured over the last {window} from the incident "
                    f"recorder (failures: {', '.join(spec.failure_severities)}); target "
                    f"{units.format_duration(target_value)} (reliability.{key} in "
                    f"{spec.source.as_posix()}). No value: no failure in the window.",
        targets=[target(f"max({expr})")], steps=steps)


def _incidents(ctx: Context) -> list[Any]:
    """Open incidents and target breaches by priority, from the incident recorder."""
    spec = ctx.spec
    sel = ctx.query("{$sel}", None).strip("{}")
    priorities = [s.priority for s in spec.severities.values()]

    def by_priority(kind: str) -> str:
        # Exact counts from the recorder's store (recorded by priority): the time range's
        # breaches are now minus then, or all of them while history is shorter.
        series = f"{reliability.BREACHES[kind]}{{{sel}}}"
        expr = f"(max by (priority) ({series}) - max by (priority) ({series} offset $__range)" \
               f" or max by (priority) ({series}))"
        return _zero_filled_expr(expr, "priority", priorities)
    colours = {s.priority: s.colour for s in spec.severities.values()}
    overrides = [by_name(p, fixed_colour(c)) for p, c in colours.items()]
    return [
        stat(id=ctx.ids(), title="Open incidents", unit="short", grid=ctx.place(4, 7),
             description="Incidents not resolved yet, every severity (incident recorder).",
             targets=[target(f"sum({ctx.query('vigil_incidents_open{$sel}', 'incidents')}) "
                             "or vector(0)")],
             steps=[{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}],
             graph=True),
        *(bargauge(id=ctx.ids(), title=f"{kind.capitalize()} target breaches by priority",
                   unit="short", grid=ctx.place(10, 7),
                   description=f"Incidents of the time range not {what} within their "
                               f"priority's {kind} target (severities.*.{kind}).",
                   targets=[target(by_priority(kind), "A", "{{priority}}", instant=True)],
                   overrides=overrides)
          for kind, what in (("response", "acknowledged (nor resolved)"),
                             ("resolution", "resolved"))),
        _last_incidents(ctx),
    ]


def _last_incidents(ctx: Context) -> Any:
    """The recorder's last incidents, one row each: how long ago each started, how long it
    lasted. From its metrics, so Grafana needs no access to the incident database."""
    def recent(what: str) -> str:
        return ctx.query(f"vigil_incidents_recent_{what}{{$sel}}", "incidents")
    return table(
        id=ctx.ids(), title="Last incidents", unit="s", grid=ctx.place(24, 8),
        description="The incident recorder's last incidents, newest first: alert, severity, "
                    "priority, team, state (open, acknowledged, resolved), how long ago it "
                    "started and how long it lasted (so far, if open). `vigil incidents list` "
                    "and `vigil report` show more.",
        targets=[target(f"time() - {recent('started_timestamp_seconds')}", "A", instant=True,
                        table=True),
                 target(recent("duration_seconds"), "B", instant=True, table=True)],
        transformations=[merge(), organize(
            ["Time", "__name__", "job", "instance", *ctx.spec.selectors],
            {"Value #A": "Started (ago)", "Value #B": "Lasted", "alertname": "Alert"})],
    )


def _zero_filled_expr(expr: str, label: str, values: list[str]) -> str:
    """`expr`, with an explicit 0 for each of the label's values it has no series for."""
    for value in values:
        expr += f' or label_replace(vector(0), "{label}", "{value}", "", "")'
    return expr


def _reliability(ctx: Context) -> list[Any]:
    spec = ctx.spec
    panels: list[Any] = [row(ctx, "Reliability targets")]
    keys = [k for k in TARGETS if k in spec.reliability]
    measured_rpo = "rpo" in keys and _measures_recovery_point(spec)
    width = 24 // (len(keys) + (1 if measured_rpo else 0) or 1)
    for key in keys:
        if key in MEASURED:
            panels.append(_measured(ctx, key, width))
            continue
        title, text = TARGETS[key]
        note = " The recovery time is only known from restore drills; it is not a metric."
        if key == "rpo" and measured_rpo:
            note = " The measured recovery point is the panel beside this one."
        elif key == "rpo":
            note = " Vigil's host exporter measures it from the backups, when it is read."
        panels.append(stat(
            id=ctx.ids(), title=title, unit="s", grid=ctx.place(width, 5),
            description=f"{text} From reliability.{key} in {spec.source.as_posix()}.{note}",
            targets=[target(f"vector({units.format_number(spec.reliability[key])})")],
            colour_mode="none"))
        if key == "rpo" and measured_rpo:
            wal = catalogue.BUILTIN["wal_backup_age"]
            expr = promql.render(wal.expr, ctx.matchers(wal.exporter), promql.DASHBOARD_WINDOW)
            panels.append(stat(
                id=ctx.ids(), title="Recovery point now", unit="s", grid=ctx.place(width, 5),
                description="Age of the newest transaction-log backup on any host: the data "
                            "that would be lost if the database were lost now.",
                targets=[target(f"max({expr})")],
                steps=[{"color": OK_COLOUR, "value": None},
                       {"color": ctx.worst_colour, "value": spec.reliability[key]}]))
    return panels


def _measures_recovery_point(spec: Spec) -> bool:
    """The recovery point is the WAL backups' age, which only Vigil's host exporter reads."""
    return "host" in spec.used_exporters() and spec.source_of("host") == catalogue.VIGIL


def _monitoring_health(ctx: Context) -> list[Any]:
    spec = ctx.spec
    jobs = promql.quote("|".join(promql.regex_literal(j) for j in monitoring.scrape_jobs(spec)))
    up = f"up{{job=~{jobs},$sel}}"
    prometheus = promql.quote(spec.monitoring.jobs["prometheus"])
    alertmanager = promql.quote(spec.monitoring.jobs["alertmanager"])
    watchdog = f'ALERTS{{alertname="{monitoring.WATCHDOG}",alertstate="firing",$sel}}'
    own = f'ALERTS{{category="{monitoring.CATEGORY}",alertstate="firing",$sel}}'
    bad = [{"color": OK_COLOUR, "value": None}, {"color": ctx.worst_colour, "value": 1}]
    good = [{"color": ctx.worst_colour, "value": None}, {"color": OK_COLOUR, "value": 1}]
    return [
        row(ctx, "Monitoring health"),
        stat(id=ctx.ids(), title="Targets up", unit="short", grid=ctx.place(4, 6),
             description="Scrape targets of the generated jobs (exporters, Prometheus, "
                         "Alertmanager) that answered their last scrape.",
             targets=[target(f"count({ctx.query(up, None)} == 1) or vector(0)")],
             steps=good),
        stat(id=ctx.ids(), title="Targets down", unit="short", grid=ctx.place(4, 6),
             description="Scrape targets Prometheus cannot scrape now; TargetDown fires for "
                         "each after monitoring.target_down.for.",
             targets=[target(f"count({ctx.query(up, None)} == 0) or vector(0)")], steps=bad),
        stat(id=ctx.ids(), title="Watchdog", unit="none", grid=ctx.place(4, 6),
             description="1 while the always-firing Watchdog fires, i.e. Prometheus evaluates "
                         "its rules. The heartbeat service pages when Alertmanager stops "
                         "posting it; 0 here means the pipeline is broken.",
             targets=[target(f"count({ctx.query(watchdog, None)}) or vector(0)")],
             steps=good),
        table(id=ctx.ids(), title="Monitoring alerts firing", unit="none", grid=ctx.place(12, 6),
              description="Every alert about the monitoring itself (category=\"monitoring\") "
                          "firing now; the Watchdog is always among them.",
              targets=[target(ctx.query(own, None), "A", instant=True, table=True)],
              transformations=[organize(["Time", "Value", "__name__", "alertstate", "category"])]),
        timeseries(id=ctx.ids(), title="Rule evaluation failures", unit="short",
                   grid=ctx.place(12, 7),
                   description="Failed rule evaluations per rule group: each failing group's "
                               "alerts cannot fire (PrometheusRuleFailures).",
                   targets=[target(ctx.query(
                       "sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total"
                       f"{{job={prometheus},$sel}}[$window]))", None), "A", "{{rule_group}}")]),
        timeseries(id=ctx.ids(), title="Notification failures", unit="short",
                   grid=ctx.place(12, 7),
                   description="Notifications Alertmanager failed to deliver, per integration "
                               "(AlertmanagerNotificationsFailing), and alerts Prometheus "
                               "failed to send to Alertmanager.",
                   targets=[target(ctx.query(
                       "sum by (integration) (increase(alertmanager_notifications_failed_total"
                       f"{{job={alertmanager},$sel}}[$window]))", None), "A", "{{integration}}"),
                       target(ctx.query(
                           "sum(increase(prometheus_notifications_errors_total"
                           f"{{job={prometheus},$sel}}[$window]))", None), "B",
                           "Prometheus → Alertmanager")]),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    ctx = Context(spec=spec, name="overview", ids=PanelIds())
    panels: list[Any] = []
    slo = headline(spec)
    if slo is not None:
        panels.extend(_service_level(ctx, slo))
        panels.append(_all_slos(ctx))
    panels.extend(_alerts(ctx))
    if spec.reliability:
        panels.extend(_reliability(ctx))
        panels.extend(_incidents(ctx))
    panels.extend(_monitoring_health(ctx))
    return assemble(spec, "overview", "Service level, error budget, alerts and reliability "
                    "targets at a glance; links lead to every other dashboard.",
                    panels, spec.used_exporters(), alert_scope="")
