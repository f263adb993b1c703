"""The SLO rules and their generated promtool tests, against the mistakes they exist for.

Each case breaks the generated rules the way an old or careless rule was written and
runs the generated SLO test case that must catch it with the real promtool: a test
that still passes on the broken rule proves nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator.commands import render
from generator.loader import load_spec
from generator.output import write_atomically
from generator.rules import RULES_FILE, slo_tests

ROOT = Path(__file__).resolve().parents[2]
SLO_TESTS = "alert_rules/tests/slo.test.yml"

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("slo")
    write_atomically(root, render(load_spec(ROOT / "slo" / "spec.yaml")))
    return root


def _promtool(generated: Path, work: Path, rules: str, names: list[str]) -> str:
    """Run the generated SLO cases whose names start with `names` on `rules`; the output."""
    body = yaml.safe_load((generated / SLO_TESTS).read_text())
    body["tests"] = [t for t in body["tests"] if any(t["name"].startswith(n) for n in names)]
    assert len(body["tests"]) == len(names), [t["name"] for t in body["tests"]]
    (work / "alert_rules/tests").mkdir(parents=True)
    (work / RULES_FILE).write_text(rules)
    (work / SLO_TESTS).write_text(yaml.safe_dump(body, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", SLO_TESTS], cwd=work,
                            capture_output=True, text=True, timeout=300)
    return ("SUCCESS" if result.returncode == 0 else "FAILED") + "\n" + result.stdout + result.stderr


AVAILABILITY_ERRORS = 'vigil_http_requests_total{status_class="5xx",'
EXHAUSTION_GUARD = re.compile(
    r'(<= 0) and ignoring \(window\) vigil_slo:total:avg_rate\{[^}\n]*window="30d"\} \* 60 >= 0\.999999999')
MUTATIONS = [
    ("guard as the rounded rate (1/m read as 0.016666666667)",
     lambda r: r.replace("* 60 >= 0.999999999", ">= 0.016666666667"),
     "slo availability: outage for 1h30m at exactly 1/m"),
    ("latency SLI on a bucket the exporter does not have",
     lambda r: r.replace('le="2.0"', 'le="0.3"'), "slo latency: burning 21.6x"),
    ("availability SLI on a status class the exporter does not write",
     lambda r: r.replace(AVAILABILITY_ERRORS, AVAILABILITY_ERRORS.replace("5xx", "5XX")),
     "slo availability: burning 21.6x"),
    ("budget of a short history read as the whole period",
     lambda r: re.sub(r" \* \(last_over_time\(vigil_slo:period_covered:ratio[^\n]*? \+ [0-9.]+\)",
                      "", r),
     "slo availability: burning 21.6x"),
    ("errors recorded only once a 5xx series exists",
     lambda r: re.sub(r"\) or 0 \* \(sum\(rate\(vigil_http_requests_total\{[^}]*\}\[5m\]\)\)\)",
                      ")", r),
     "slo availability: no errors for 1h"),
    ("exhaustion without the low-traffic guard", lambda r: EXHAUSTION_GUARD.sub(r"\1", r),
     "slo availability: outage for 1h30m just below 1/m"),
]


@pytest.mark.parametrize(("mutate", "case"), [m[1:] for m in MUTATIONS],
                         ids=[m[0] for m in MUTATIONS])
def test_a_broken_rule_fails_its_generated_case(generated: Path, tmp_path: Path, mutate,
                                                case: str) -> None:
    rules = (generated / RULES_FILE).read_text()
    broken = mutate(rules)
    assert broken != rules  # the mutation applies to what is generated today
    output = _promtool(generated, tmp_path, broken, [case])
    # the unbroken rules pass these cases: test_generated_outputs runs every one of them.
    # promtool names the case of a failed alert check, and the query of a failed expr check.
    assert output.startswith("FAILED") and (f"name: {case}" in output or "expr:" in output), \
        output


def test_slo_cases_feed_the_exporter_series_not_the_recorded_rates(generated: Path) -> None:
    body = yaml.safe_load((generated / SLO_TESTS).read_text())
    names = {re.match(r"[^{]+", s["series"]).group(0)
             for t in body["tests"] for s in t["input_series"]}
    assert names == {"vigil_http_requests_total", "vigil_http_request_duration_seconds_bucket",
                     "vigil_http_request_duration_seconds_count",
                     "vigil_http_request_duration_seconds_sum"}


def test_an_sli_outside_the_exporter_model_is_fed_its_recorded_rates() -> None:
    spec = load_spec(ROOT / "slo" / "examples" / "custom-service.yaml")
    cases = [t for t in slo_tests.slo_tests(spec) if t["name"].startswith("slo jobs:")]
    assert cases
    for case in cases:
        assert {s["series"].split("{")[0] for s in case["input_series"]} == {
            "vigil_slo:errors:rate5m", "vigil_slo:total:rate5m"}


@pytest.mark.parametrize(("history", "share"), [
    # tiled from the first evaluation on, read one evaluation later
    (2 * 3600.0, (2 * 3600 - 600) / (30 * 86400)),
    (1800.0, 3600 / (30 * 86400)),  # under an hour: counted as one hour
    (40 * 86400.0, 1.0),  # a full period
])
def test_covered_share_of_the_period(history: float, share: float) -> None:
    slo = load_spec(ROOT / "slo" / "spec.yaml").slos["availability"]
    assert slo_tests.covered(slo, history) == pytest.approx(share)


def test_an_slo_whose_windows_are_all_tiled_still_generates_passing_rules(write_spec,
                                                                          tmp_path: Path) -> None:
    """Windows of a day or more are recorded by the tiled group only: the main group then
    has no untiled ratio to record, and the generated cases read what the SLO does record."""
    def only_long_windows(data) -> None:
        data["slos"]["availability"]["windows"] = [
            {"long": "3d", "short": "1d", "budget": "10%", "severity": "warning"}]

    root = tmp_path / "out"
    write_atomically(root, render(load_spec(write_spec(only_long_windows))))
    rules = yaml.safe_load((root / RULES_FILE).read_text())
    main = next(g for g in rules["groups"] if g["name"] == "vigil.slo.availability")
    assert all(r.get("expr") for r in main["rules"])
    assert "vigil_slo:error_ratio" not in {r.get("record") for r in main["rules"]}
    for command in (["promtool", "check", "rules", RULES_FILE],
                    ["promtool", "test", "rules", SLO_TESTS]):
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
