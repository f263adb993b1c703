"""`vigil report [--period 7d|1d|30d] [--prometheus URL] [--incidents DSN] --out report.html
[--pdf report.pdf] [--mail]`.

The period picks the spec's report of that period (its audience and recipients);
a period no report declares still works, for the operations team, without `--mail`.
Exit codes: 0 written (and sent), 2 for usage and spec errors, 1 when Prometheus,
the incident store or the mail server cannot be used; errors are one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

PERIODS = {"1d": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", type=Path, default=Path("slo/spec.yaml"))
    parser.add_argument("--period", choices=sorted(PERIODS), default="7d")
    parser.add_argument("--prometheus", default=os.environ.get("VIGIL_PROMETHEUS_URL",
                                                               "http://localhost:9090"),
                        help="Prometheus base URL (default: $VIGIL_PROMETHEUS_URL or "
                             "http://localhost:9090)")
    parser.add_argument("--incidents", default=os.environ.get("VIGIL_INCIDENTS_DSN"),
                        help="libpq DSN of the incident store (default: $VIGIL_INCIDENTS_DSN)")
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    parser.add_argument("--pdf", type=Path, default=None, help="also write this PDF")
    parser.add_argument("--mail", action="store_true",
                        help="send it to the recipients of the spec's report of this period")
    parser.add_argument("--end", type=float, default=None, help=argparse.SUPPRESS)


def _fail(code: int, message: str) -> int:
    from exporters.common.secrets import redact

    print(f"vigil report: {redact(message)}", file=sys.stderr)
    return code


def main(args: argparse.Namespace) -> int:
    from generator.loader import SpecError, load_spec
    from generator.report import html, mail, pdf
    from generator.report.build import collect
    from generator.report.prometheus import Prometheus, ReportError

    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        return _fail(2, f"spec error:\n{exc.render()}")
    period = PERIODS[args.period]
    declared = next((r for r in spec.reports.values() if r.period == period), None)
    if args.mail and declared is None:
        return _fail(2, f"--mail: the spec has no report with period {args.period} "
                        "(reports: ... period: ...) to name its recipients")
    audience = declared.audience if declared else "Operations team"
    end = args.end if args.end is not None else time.time()
    try:
        report = collect(spec, Prometheus(args.prometheus), args.incidents, end, period, audience)
        page = html.render(report)
        args.out.write_text(page, encoding="utf-8")
        if args.pdf:
            pdf.write(page, args.pdf)
        print(f"vigil report: wrote {args.out}" + (f" and {args.pdf}" if args.pdf else ""))
        if args.mail and declared is not None:
            subject = f"{spec.name} operations report ({args.period}): " + (
                report.summary[0] if report.summary else "")
            sent = mail.send(spec, declared, subject[:200], "\n".join(report.summary), page,
                             args.pdf)
            print(f"vigil report: mailed to {', '.join(sent)}")
    except ReportError as exc:
        return _fail(1, str(exc))
    except OSError as exc:
        return _fail(1, f"cannot write the report: {exc}")
    return 0
