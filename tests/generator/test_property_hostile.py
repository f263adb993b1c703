"""Property: hostile text in every free-text and label field of a spec still yields
files that promtool and amtool accept, and stays text.

Prometheus runs annotations and alert labels as Go templates, PromQL and promtool's
series notation end a string at an unescaped `"`, and a newline ends a YAML plain
scalar. Hypothesis fills titles, descriptions, runbooks, team names, selector values,
job names, URLs, a Slack channel and an e-mail address with braces, quotes,
backslashes, newlines, control and non-ASCII characters. The generated promtool
tests compare every rendered annotation and label with the literal text, so their
passing is what proves the text inert; `{{ printf "INJ-%d" 42 }}` is checked
explicitly as well.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import output, templating
from generator.commands import render
from generator.loader import load_spec

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None or shutil.which("amtool") is None,
                                reason="promtool and amtool are needed")

INJECTION = '{{ printf "INJ-%d" 42 }}'
HOSTILE = st.sampled_from(['{{', '}}', '{', '"', "\\", "\n", "\r", "\t", "$", "|", "`", "'",
                           "{{ .Labels }}", "{{ end }}", "\x00", "\x7f", "\u2028", "é", "😀",
                           "#", ": ", "- ", "%", "&a", "*a", "!!python", "--", " "])
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=3)), min_size=1, max_size=6).map(
    lambda parts: "".join(parts) or "x")
ONE_LINE = TEXT.map(lambda t: t.replace("\n", "") or "x")  # a Slack channel is one line
NO_SPACE = TEXT.map(lambda t: "".join(c for c in t if not c.isspace()) or "x")


def _spec(title: str, description: str, runbook: str, team: str, selector: str, job: str,
          url_tail: str, channel: str, mailbox: str, slo_title: str) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "hostile",
        "grafana_url": f"https://grafana.example/{url_tail}",
        "runbook_url": f"https://runbooks.example/{url_tail}",
        "selectors": {"environment": selector},
        "jobs": {"host": job},
        "email": {"smarthost": "mail.example:25", "from": f"{mailbox}@example.com"},
        "severities": {
            "critical": {"priority": "P0", "channels": ["slack"], "recipients": ["chat"],
                         "escalation": [{"after": "5m", "notify": ["mail"]}]},
            "warning": {"priority": "P2", "channels": ["email"], "recipients": ["mail"]},
        },
        "receivers": {
            "chat": {"slack": {"webhook_url": {"env": "SLACK_URL"}, "channel": f"#{channel}"}},
            "mail": {"email": {"to": f"{mailbox}@example.com"}},
        },
        "signals": {
            "queue_depth": {"title": title, "description": description, "runbook": runbook,
                            "expr": "sum(queue_messages_ready{$sel})", "unit": "count",
                            "warning": 100, "critical": 1000, "for": "1m", "team": team},
            "jobs_failed": {"title": f"{title} failed", "expr":
                            "sum(increase(queue_jobs_failed_total{$sel}[$window]))",
                            "unit": "events", "warning": "20/h", "team": team},
        },
        "slos": {"jobs": {
            "title": slo_title, "description": description, "objective": "99%", "period": "7d",
            "team": team,
            "sli": {"error": "sum(rate(queue_jobs_failed_total{$sel}[$window]))",
                    "total": "sum(rate(queue_jobs_total{$sel}[$window]))"},
            "windows": [{"long": "1h", "short": "5m", "budget": "2%", "severity": "critical"}],
        }},
    }


def _tools(root: Path, files: dict[str, str]) -> None:
    tests = sorted(p for p in files if p.endswith(".test.yml"))
    for command in (["promtool", "check", "rules", "alert_rules/vigil.rules.yml"],
                    ["promtool", "check", "config", "deploy/prometheus/prometheus.yml"],
                    ["promtool", "test", "rules", *tests],
                    ["amtool", "check-config", "deploy/alertmanager/alertmanager.yml"]):
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


def _generate(root: Path, data: dict[str, Any]) -> dict[str, str]:
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    files = render(load_spec(path))
    output.write_atomically(root, files)
    return files


def test_template_injection_renders_as_text(tmp_path):
    data = _spec(INJECTION, INJECTION, INJECTION, f"ops {INJECTION}", 'prod"\nline\\2',
                 'vigil-"host"', "x{{y}}", INJECTION, "a{{x}}", f"SLO {INJECTION}")
    files = _generate(tmp_path, data)
    _tools(tmp_path, files)
    rules = yaml.safe_load(files["alert_rules/vigil.rules.yml"])
    # The monitoring alerts' texts hold no spec text (generator/rules/monitoring.py).
    alerts = [r for g in rules["groups"] if not g["name"].endswith(".monitoring")
              for r in g["rules"] if "alert" in r]
    summaries = [a["annotations"]["summary"] for a in alerts if a["alert"] != "AlertEscalated"]
    assert summaries and all(templating.literal(INJECTION) in s for s in summaries)
    # The generated tests expect the literal text, and promtool has just passed them.
    tests = yaml.safe_load(files["alert_rules/tests/signals.test.yml"])
    expected = [a for t in tests["tests"] for c in t["alert_rule_test"] for a in c["exp_alerts"]]
    assert expected and all(a["exp_annotations"]["summary"].startswith(INJECTION)
                            and a["exp_labels"]["team"] == f"ops {INJECTION}" for a in expected)
    assert all("INJ-42" not in text for text in files.values())
    routing = yaml.safe_load(files["deploy/alertmanager/alertmanager.yml"])
    slack = next(r["slack_configs"][0] for r in routing["receivers"] if "slack_configs" in r)
    assert slack["channel"] == templating.literal(f"#{INJECTION}")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(title=TEXT, description=TEXT, runbook=TEXT, team=TEXT, selector=TEXT, job=TEXT,
       url_tail=NO_SPACE, channel=ONE_LINE, mailbox=NO_SPACE.map(lambda t: t.replace("@", "a")),
       slo_title=TEXT)
def test_hostile_text_everywhere_still_loads(tmp_path_factory, title, description, runbook, team,
                                             selector, job, url_tail, channel, mailbox, slo_title):
    root = tmp_path_factory.mktemp("hostile")
    data = _spec(title, description, runbook, team, selector, job, url_tail, channel, mailbox,
                 slo_title)
    _tools(root, _generate(root, data))
