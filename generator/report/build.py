"""The report's content: figures, sentences, pictures and incidents for one period.

`collect` asks Prometheus and the incident store everything once; the HTML, the PDF
and the mail all render this one object, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import catalogue, units
from generator.model import Spec
from generator.report import figures, plots
from generator.report.figures import Figure, Section
from generator.report.incidents import Incidents, read
from generator.report.prometheus import Prometheus
from generator.rules.signals import recorded_name, selector

NO_DATA = "no data"
COLOURS = {"red": "#c0392b", "orange": "#e67e22", "yellow": "#f1c40f", "blue": "#2980b9",
           "green": "#27ae60"}


@dataclass
class Report:
    spec: Spec
    start: float
    end: float
    period: float
    audience: str
    summary: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    pictures: dict[str, bytes] = field(default_factory=dict)  # section title -> PNG
    incidents: Incidents | None = None  # None: no incident store given
    busiest: list[tuple[str, str, float]] = field(default_factory=list)


def show(value: float | None, unit: str, currency: str = catalogue.DEFAULT_CURRENCY) -> str:
    """A value as people read it; None is "no data", never 0. Money is written with its
    ISO code after it (`1,250.00 EUR`), the same in every currency."""
    if value is None:
        return NO_DATA
    if unit == "ratio":
        return units.format_percent(round(value, 6)).replace("%", " %")
    if unit == "seconds":
        return _duration(value)
    if unit == "per_second":
        return f"{value:,.2f}/s"
    if unit == "currency":
        return f"{value:,.2f} {currency}"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.2f}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _reliability(spec: Spec, found: Incidents | None, before: Incidents | None) -> Section:
    section = Section("Reliability")
    if found is None:
        section.note = f"Incidents: {NO_DATA} (no incident store given: --incidents DSN)."
        return section
    was = before or Incidents()
    section.figures += [
        Figure("Incidents opened", "count", float(sum(found.opened.values())),
               float(sum(was.opened.values()))),
        Figure("Failures (" + ", ".join(spec.failure_severities) + ")", "count",
               float(found.failures), float(was.failures)),
        Figure("MTTR", "seconds", found.mttr, was.mttr, target=spec.reliability.get("mttr"),
               target_text=f"target < {show(spec.reliability['mttr'], 'seconds')}"
               if "mttr" in spec.reliability else ""),
        Figure("MTBF", "seconds", found.mtbf, was.mtbf, target=spec.reliability.get("mtbf"),
               better="higher",
               target_text=f"target > {show(spec.reliability['mtbf'], 'seconds')}"
               if "mtbf" in spec.reliability else ""),
    ]
    for severity in spec.severities.values():
        for kind, breaches, target in (("response", found.response_breaches, severity.response),
                                       ("resolution", found.resolution_breaches,
                                        severity.resolution)):
            if target is None:
                continue
            section.figures.append(Figure(
                f"{severity.priority} ({severity.name}) {kind} target breaches", "count",
                float(breaches[severity.priority]),
                float((was.response_breaches if kind == "response" else
                       was.resolution_breaches)[severity.priority]),
                target_text=f"{'respond' if kind == 'response' else 'resolve'} within "
                            f"{show(target, 'seconds')}"))
    if found.mtbf is None:
        section.note = "MTBF: no failures in the period."
    return section


def _summary(spec: Spec, report: Report) -> list[str]:
    sentences = []
    slo = report.sections[0].figures if report.sections else []
    for figure in slo:
        if figure.target is not None:
            sentences.append(f"{figure.label} {show(figure.now, 'ratio')} "
                             f"({figure.target_text}).")
        elif figure.now is not None or "budget" in figure.label:
            sentences.append(f"{figure.label}: {show(figure.now, 'ratio')}.")
    found = report.incidents
    if found is None:
        sentences.append(f"Incidents: {NO_DATA}.")
    else:
        total = sum(found.opened.values())
        by = ", ".join(f"{n} {s}" for s, n in found.opened.most_common())
        sentences.append(f"{total} incident{'s' if total != 1 else ''} opened" +
                         (f" ({by})." if by else "."))
        for key, word in (("mttr", "<"), ("mtbf", ">")):
            if key in spec.reliability:
                value = found.mttr if key == "mttr" else found.mtbf
                shown = show(value, "seconds") if value is not None or key == "mttr" \
                    else "no failures"
                verdict = ""
                if value is not None:
                    good = value < spec.reliability[key] if key == "mttr" \
                        else value > spec.reliability[key]
                    verdict = " — met" if good else " — missed"
                sentences.append(f"{key.upper()} {shown} (target {word} "
                                 f"{show(spec.reliability[key], 'seconds')}){verdict}.")
    return sentences


def collect(spec: Spec, prom: Prometheus, dsn: str | None, end: float, period: float,
            audience: str) -> Report:
    prom.check()
    start = end - period
    report = Report(spec, start, end, period, audience)
    report.incidents = read(spec, dsn, start, end) if dsn else None
    previous = read(spec, dsn, start - period, start) if dsn else None
    report.sections.append(Section("Service level", figures.slo_figures(spec, prom, end, period)))
    report.sections.append(_reliability(spec, report.incidents, previous))
    report.sections.append(figures.performance(spec, prom, end, period))
    report.sections.append(figures.business(spec, prom, end, period))
    report.sections.append(figures.security(spec, prom, end, period))
    report.busiest = figures.busiest(spec, prom, end, period)
    report.sections.append(Section("Capacity", note="" if report.busiest else
                                   f"Busiest hosts: {NO_DATA}."))
    report.summary = _summary(spec, report)
    _pictures(spec, prom, report)
    return report


def _pictures(spec: Spec, prom: Prometheus, report: Report) -> None:
    start, end = report.start, report.end
    span = (start, end)
    slo = next(iter(spec.slos.values()), None)
    if "error_rate" in spec.signals:
        series = prom.series(f"max({recorded_name(spec.signals['error_rate'])}{selector(spec)})",
                             start, end)
        picture = plots.timeseries("Error rate", [("error rate", s) for _, s in series], span,
                                   "ratio",
                                   1 - slo.objective if slo else None,
                                   "error budget rate" if slo else "")
        if picture:
            report.pictures["Service level"] = picture
    if "response_time" in spec.signals:
        series = prom.series(f"max({recorded_name(spec.signals['response_time'])}{selector(spec)})",
                             start, end)
        picture = plots.timeseries("Response time P95 (s)", [("p95", s) for _, s in series],
                                   span, "s")
        if picture:
            report.pictures["Performance"] = picture
    if report.incidents is not None and report.incidents.opened:
        colours = {s.name: COLOURS.get(s.colour, s.colour) for s in spec.severities.values()}
        picture = plots.bars("Incidents opened by severity", dict(report.incidents.opened),
                             colours)
        if picture:
            report.pictures["Reliability"] = picture
    if "daily_revenue" in spec.signals:
        series = prom.series(f"sum({recorded_name(spec.signals['daily_revenue'])}{selector(spec)})",
                             start, end)
        picture = plots.timeseries("Daily revenue", [("revenue", s) for _, s in series], span,
                                   spec.signals["daily_revenue"].definition.currency)
        if picture:
            report.pictures["Business"] = picture
    if "cpu_usage" in spec.signals:
        series = prom.series(f"topk(3, {recorded_name(spec.signals['cpu_usage'])}{selector(spec)})",
                             start, end)
        picture = plots.timeseries("CPU usage of the busiest hosts",
                                   [(m.get("instance", "?"), s) for m, s in series], span,
                                   "ratio")
        if picture:
            report.pictures["Capacity"] = picture
