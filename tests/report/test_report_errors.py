"""`vigil report` without a usable Prometheus: one clear line, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.report.build import NO_DATA, show
from tests.e2e.processes import free_port


def test_an_unreachable_prometheus_is_a_clear_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = main(["report", "--prometheus", f"http://127.0.0.1:{free_port()}", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert err.startswith("vigil report: cannot reach Prometheus at http://127.0.0.1:")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_mail_needs_a_report_of_that_period(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            ) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"extends: {Path('slo/spec.yaml').resolve()}\nreports: null\n")
    code = main(["report", "--spec", str(spec), "--mail", "--out", str(tmp_path / "r.html")])
    assert code == 2 and "no report with period 7d" in capsys.readouterr().err


@pytest.mark.parametrize("unit", ["ratio", "seconds", "per_second", "currency", "count"])
def test_missing_data_is_no_data_never_zero(unit: str) -> None:
    assert show(None, unit) == NO_DATA
    assert show(0.0, unit) != NO_DATA
