"""The report as one self-contained HTML page (pictures inline as data URIs).

The same page is what the PDF is printed from (:mod:`.pdf`), so the page is styled
for both: A4 width, no scripts, no external files, system fonts. All text that came
from outside (labels, summaries of incidents) is escaped.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from html import escape

from generator.report.build import NO_DATA, Report, show
from generator.report.figures import Figure

SECTION_ORDER = ("Executive summary", "Service level", "Reliability", "Performance",
                 "Business", "Security", "Capacity", "Incidents")
STYLE = """
@page { size: A4; margin: 14mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; font-size: 10.5pt;
       max-width: 190mm; margin: 0 auto; background: #fff; }
h1 { font-size: 19pt; margin: 0 0 2mm; color: #1b2a41; }
h2 { font-size: 13pt; border-bottom: 2px solid #1b2a41; padding-bottom: 1mm; margin-top: 7mm;
     color: #1b2a41; page-break-after: avoid; }
.meta { color: #666; margin-bottom: 4mm; }
.summary { background: #eef3f8; border-left: 4px solid #2c5d8a; padding: 3mm 4mm; }
.summary p { margin: 1mm 0; font-size: 11pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; page-break-inside: avoid; }
th, td { text-align: left; padding: 1.2mm 2mm; border-bottom: 1px solid #ddd; font-size: 9.5pt; }
th { background: #f4f6f8; }
.better { color: #1e8449; } .worse { color: #c0392b; } .nodata { color: #999; font-style: italic; }
img { max-width: 100%; margin: 2mm 0; }
.note { color: #555; font-style: italic; }
"""


def _change(figure: Figure) -> str:
    if figure.now is None or figure.before is None:
        return f'<span class="nodata">{NO_DATA}</span>' if figure.before is None else ""
    delta = figure.now - figure.before
    if abs(delta) < 1e-12:
        return "unchanged"
    good = (delta < 0) == (figure.better == "lower")
    sign = "+" if delta > 0 else "−"
    shown = show(abs(delta), figure.unit, figure.currency)
    return f'<span class="{"better" if good else "worse"}">{sign}{escape(shown)}</span>'


def _value(value: float | None, unit: str, currency: str) -> str:
    text = escape(show(value, unit, currency))
    return f'<span class="nodata">{text}</span>' if value is None else text


def _figures(figures: list[Figure]) -> str:
    if not figures:
        return ""
    rows = "".join(
        f"<tr><td>{escape(f.label)}</td><td>{_value(f.now, f.unit, f.currency)}</td>"
        f"<td>{_value(f.before, f.unit, f.currency)}</td><td>{_change(f)}</td>"
        f"<td>{escape(f.target_text)}</td></tr>" for f in figures)
    return ("<table><tr><th>Measure</th><th>This period</th><th>Previous period</th>"
            f"<th>Change</th><th>Target</th></tr>{rows}</table>")


def _picture(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _incidents(report: Report) -> str:
    found = report.incidents
    if found is None:
        return f'<p class="nodata">{NO_DATA} (no incident store given)</p>'
    if not found.rows:
        return "<p>No incidents in the period.</p>"
    rows = []
    for row in found.rows[:100]:
        resolved = row["resolved_at"]
        took = show((resolved - row["started_at"]).total_seconds(), "seconds") if resolved \
            else "open"
        acked = escape(row["acknowledged_by"] or "—")
        rows.append(f"<tr><td>#{row['id']}</td><td>{_when(row['started_at'].timestamp())}</td>"
                    f"<td>{escape(row['priority'])} {escape(row['severity'])}</td>"
                    f"<td>{escape(row['alertname'])}</td><td>{escape(row['summary'][:160])}</td>"
                    f"<td>{escape(took)}</td><td>{acked}</td></tr>")
    more = f"<p class='note'>and {len(found.rows) - 100} more</p>" if len(found.rows) > 100 else ""
    return ("<table><tr><th>#</th><th>Started</th><th>Priority</th><th>Alert</th>"
            "<th>Summary</th><th>Duration</th><th>Acknowledged by</th></tr>"
            + "".join(rows) + "</table>" + more)


def render(report: Report) -> str:
    spec = report.spec
    title = f"Operations report — {spec.name}"
    parts = [f"<h1>{escape(title)}</h1>",
             f'<p class="meta">{escape(report.audience)} · {_when(report.start)} to '
             f"{_when(report.end)} ({escape(show(report.period, 'seconds'))}), compared with "
             "the period before</p>",
             '<h2 id="executive-summary">Executive summary</h2><div class="summary">'
             + "".join(f"<p>{escape(s)}</p>" for s in report.summary) + "</div>"]
    for section in report.sections:
        anchor = section.title.lower().replace(" ", "-")
        body = _figures(section.figures)
        if section.title == "Capacity" and report.busiest:
            body += ("<table><tr><th>Resource</th><th>Host</th><th>Average over the period</th>"
                     "</tr>" + "".join(f"<tr><td>{escape(r)}</td><td>{escape(h)}</td>"
                                       f"<td>{escape(show(v, 'ratio'))}</td></tr>"
                                       for r, h, v in report.busiest) + "</table>")
        if section.note:
            body += f'<p class="note">{escape(section.note)}</p>'
        body += _picture(report.pictures.get(section.title), section.title)
        parts.append(f'<h2 id="{anchor}">{escape(section.title)}</h2>{body}')
    parts.append(f'<h2 id="incidents">Incidents</h2>{_incidents(report)}')
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
