"""`vigil report --period 1d` against the end-to-end stack's Prometheus and incident store.

The numbers in the report are checked against values computed here from the same
data another way: incidents and MTTR with SQL of our own over the store; availability
and throughput from the raw request counters' samples (last minus first, resets
handled) instead of PromQL's `rate`. The HTML is rendered by headless Chromium (a
screenshot, and the DOM Chromium built), the PDF by pdftoppm and pdftotext; mail goes
to a local SMTP server (aiosmtpd).

Left behind on the shared stack: one resolved incident, `ReportProbe`
(:func:`tests.e2e.harness.record_probe_incident`), so the report has a finished
incident to measure; no test counts the stack's incidents exactly.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from aiosmtpd.controller import Controller
from PIL import Image

from generator.cli import main
from generator.report.build import NO_DATA
from generator.report.html import SECTION_ORDER
from tests.e2e.harness import E2E, STACK_MARKS, incident_rows, record_probe_incident
from tests.e2e.processes import free_port

pytestmark = STACK_MARKS

DAY = 86400.0


@pytest.fixture(scope="module")
def made(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    e2e.inject("probe incident", lambda: record_probe_incident(e2e))
    out = tmp_path_factory.mktemp("report")
    end = time.time()
    args = ["report", "--spec", str(e2e.stack.spec_path), "--period", "1d",
            "--prometheus", e2e.stack.prometheus_url, "--incidents", e2e.stack.incidents_dsn,
            "--out", str(out / "report.html"), "--pdf", str(out / "report.pdf"),
            "--end", repr(end)]
    before = _store_figures(e2e, end)
    assert main(args) == 0
    after = _store_figures(e2e, end)
    return {"out": out, "end": end, "html": (out / "report.html").read_text(), "args": args,
            "store": (before, after)}


def _store_figures(e2e: E2E, end: float) -> tuple[int, float | None]:
    """Incidents opened and MTTR in the day before ``end``, by SQL of our own.

    The live stack keeps delivering while the report runs, and Alertmanager stamps an
    alert with the time it started, not the time it arrived: an incident can appear in
    the window after the report read it. The fixture reads these figures just before
    and just after the report, and the report must lie between the two readings.
    """
    since = datetime.fromtimestamp(end - DAY, UTC)
    until = datetime.fromtimestamp(end, UTC)
    (opened,), = incident_rows(e2e, "SELECT count(*) FROM vigil_incidents.incidents "
                             "WHERE started_at BETWEEN %s AND %s", (since, until))
    failures = list(e2e.stack.spec.failure_severities)
    (mttr,), = incident_rows(e2e, "SELECT avg(extract(epoch FROM resolved_at - started_at)) FROM "
                           "vigil_incidents.incidents WHERE severity = ANY(%s) AND "
                           "resolved_at BETWEEN %s AND %s", (failures, since, until))
    return int(opened), None if mttr is None else float(mttr)


def _cell(html: str, label: str) -> str:
    found = re.search(rf"<tr><td>{re.escape(label)}</td><td>(?:<span[^>]*>)?([^<]*)", html)
    assert found, f"no row {label!r} in the report"
    return found.group(1)


def _number(text: str) -> float:
    value = float(re.sub(r"[^0-9.\-]", "", text.split()[0]))
    return value / 100 if "%" in text else value


def _raw_increase(e2e: E2E, selector: str, end: float) -> float:
    """Sum over series of last - first sample in the day, counter resets handled."""
    response = requests.get(f"{e2e.stack.prometheus_url}/api/v1/query", timeout=10,
                            params={"query": f"{selector}[1d]", "time": repr(end)})
    total = 0.0
    for series in response.json()["data"]["result"]:
        values = [float(v) for _, v in series["values"]]
        total += sum(b - a if b >= a else b for a, b in itertools.pairwise(values))
    return total


def test_the_incident_figures_match_the_store(made: dict[str, Any]) -> None:
    (opened_before, mttr_before), (opened_after, mttr_after) = made["store"]
    assert opened_before >= 1
    assert opened_before <= _number(_cell(made["html"], "Incidents opened")) <= opened_after
    assert mttr_before is not None and mttr_after is not None  # the probe incident at least
    shown = _cell(made["html"], "MTTR")
    seconds = _number(shown) * (60 if "min" in shown else 3600 if " h" in shown else 1)
    low, high = sorted((mttr_before, mttr_after))
    assert low * 0.99 <= seconds <= high * 1.01
    assert "ReportProbe" in made["html"] and "a probe incident for the report" in made["html"]


def test_availability_and_throughput_match_the_raw_counters(e2e: E2E,
                                                           made: dict[str, Any]) -> None:
    job = e2e.stack.spec.jobs["http"]
    total = _raw_increase(e2e, f'vigil_http_requests_total{{job="{job}"}}', made["end"])
    errors = _raw_increase(e2e, f'vigil_http_requests_total{{job="{job}",status_class="5xx"}}',
                           made["end"])
    assert total > 0
    # PromQL extrapolates each series to the window's edges; the raw samples do not
    assert _number(_cell(made["html"], "Availability")) == pytest.approx(1 - errors / total,
                                                                         abs=0.005)
    assert _number(_cell(made["html"], "Requests served").replace(",", "")) == \
        pytest.approx(total, rel=0.1)
    assert _number(_cell(made["html"], "Throughput")) == pytest.approx(total / DAY, rel=0.1,
                                                                       abs=0.01)


def test_the_previous_period_has_no_data_not_zero(made: dict[str, Any]) -> None:
    """The stack is minutes old: the day before has no traffic at all."""
    row = re.search(r"<tr><td>Availability</td>.*?</tr>", made["html"])
    assert row and row.group(0).count(NO_DATA) >= 1
    assert "<td>0 %</td>" not in row.group(0)


def _not_blank(path: Path, ink: float = 0.0) -> None:
    """Something is drawn, and (with `ink`) at least that share of the pixels is dark."""
    image = Image.open(path).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, f"{path.name} is blank"
    histogram = image.histogram()
    assert sum(histogram[:200]) > ink * sum(histogram), f"{path.name} is nearly empty"


def test_chromium_renders_every_section(made: dict[str, Any]) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed")
    out, page = made["out"], (made["out"] / "report.html").as_uri()
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    subprocess.run([*flags, "--window-size=1000,3000", f"--screenshot={out}/shot.png", page],
                   check=True, capture_output=True, timeout=120)
    _not_blank(out / "shot.png", ink=0.01)
    dom = subprocess.run([*flags, "--dump-dom", page], check=True, capture_output=True,
                         timeout=120, text=True).stdout
    for section in SECTION_ORDER:
        assert f'id="{section.lower().replace(" ", "-")}"' in dom, section
    assert dom.count("data:image/png;base64,") >= 2  # the pictures are inline


def test_the_pdf_has_every_section_on_non_blank_pages(made: dict[str, Any]) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed")
    out = made["out"]
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out / "report.pdf"), str(out / "page")],
                   check=True, timeout=120)
    pages = sorted(out.glob("page-*.png"))
    assert pages
    _not_blank(pages[0], ink=0.01)
    for page in pages[1:]:  # the last may hold only the end of the incident table
        _not_blank(page)
    text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    for section in SECTION_ORDER:
        assert section in text, section


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def test_mail_goes_to_the_recipients_of_the_daily_report(e2e: E2E, made: dict[str, Any],
                                                         tmp_path: Path) -> None:
    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        spec = tmp_path / "spec.yaml"
        spec.write_text(yaml.safe_dump({
            "extends": str(e2e.stack.spec_path),
            "email": {"smarthost": f"127.0.0.1:{port}", "from": "vigil@example.com",
                      "require_tls": False},
            "receivers": {"operations_team": {"email": {"to": "ops@example.com"}},
                          "management": {"email": {"to": "boss@example.com"}}},
            "reports": {"daily": {"audience": "Operations team", "period": "1d",
                                  "recipients": ["operations_team", "management"]}}}))
        args = [a if a != str(e2e.stack.spec_path) else str(spec) for a in made["args"]]
        args = [a.replace("report.html", "mailed.html").replace("report.pdf", "mailed.pdf")
                for a in args]
        assert main([*args, "--mail"]) == 0
    finally:
        controller.stop()
    (to, message), = inbox.messages
    assert to == ["ops@example.com", "boss@example.com"]
    assert message["Subject"].startswith("demo operations report (1d): Availability")
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "text/html" in parts and "application/pdf" in parts
    assert parts["application/pdf"].get_payload(decode=True).startswith(b"%PDF")


def test_a_spec_that_matches_nothing_shows_no_data(e2e: E2E, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"extends": str(e2e.stack.spec_path),
                                    "selectors": {"environment": "nowhere"}}))
    out = tmp_path / "empty.html"
    assert main(["report", "--spec", str(spec), "--period", "1d", "--prometheus",
                 e2e.stack.prometheus_url, "--out", str(out)]) == 0
    html = out.read_text()
    for label in ("Availability", "API response time P95", "Throughput", "Daily revenue"):
        assert _cell(html, label) == NO_DATA, label
    assert "Incidents: no data" in html
