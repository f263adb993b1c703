"""The PDF, printed by WeasyPrint from the report's own HTML (one source for both)."""

from __future__ import annotations

from pathlib import Path

from generator.report.prometheus import ReportError


def write(html: str, path: Path) -> None:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango missing (Debian libpango-1.0-0)
        raise ReportError(f"cannot make the PDF: WeasyPrint is not usable here ({exc})") from None
    HTML(string=html).write_pdf(str(path))
