"""Two services on one real Prometheus, sharing one host exporter.

checkout and payments (slo/examples/services/) are generated together, pointed at one
`vigil exporter host` and loaded into one Prometheus with 1 s scrape and evaluation
intervals (the generated file with only its intervals shortened). Every rule of both
specs evaluates with health ok, every recorded series carries its spec's `service`,
both specs record each series separately, and the alerts that fire are routed by the
generated Alertmanager configuration (real amtool) to their own spec's receivers.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.harness import evaluated_rules
from tests.e2e.processes import Server, free_port, wait_for
from tests.multi.conftest import ROOT, SERVICES, generate

PROMETHEUS = shutil.which("prometheus")
AMTOOL = shutil.which("amtool")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PROMETHEUS is None or AMTOOL is None or shutil.which("promtool") is None,
                       reason="prometheus/promtool/amtool not installed"),
    pytest.mark.xdist_group("multi-prometheus"),
]
INTERVAL = "1s"


class Deployment:
    def __init__(self, out: Path, prometheus: Server) -> None:
        self.out = out
        self.prometheus = prometheus

    def query(self, promql: str) -> list[dict]:
        answer = requests.get(f"{self.prometheus.url}/api/v1/query", params={"query": promql},
                              timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    work = Path(tempfile.mkdtemp(prefix="vigil-multi-"))
    started: list[Server] = []
    try:
        (work / "host.yml").write_text("{}\n")
        port = free_port()
        started.append(Server("host exporter", [
            str(Path(ROOT / ".venv/bin/vigil")) if (ROOT / ".venv/bin/vigil").exists()
            else shutil.which("vigil") or "vigil",
            "exporter", "host", "--config", str(work / "host.yml"),
            "--web.listen-address", f"127.0.0.1:{port}"], port, work / "host.log",
            ready_path="/metrics"))
        prometheus_port = free_port()
        specs = []
        for base in SERVICES:
            spec = work / base.name
            spec.write_text(yaml.safe_dump({
                "extends": str(base), "targets": {"host": [f"127.0.0.1:{port}"]},
                "monitoring": {"prometheus": {"targets": [f"127.0.0.1:{prometheus_port}"]}}}))
            specs.append(spec)
        out = work / "out"
        generate(specs, out)
        generated = out / "deploy/prometheus/prometheus.yml"
        config = yaml.safe_load(generated.read_text())
        config["global"].update(scrape_interval=INTERVAL, evaluation_interval=INTERVAL)
        for job in config["scrape_configs"]:
            job.update(scrape_interval=INTERVAL, scrape_timeout=INTERVAL)
        fast = generated.with_name("prometheus.fast.yml")  # beside it: rule_files resolve
        fast.write_text(yaml.safe_dump(config, sort_keys=False))
        check = subprocess.run(["promtool", "check", "config", str(fast)],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        started.append(Server("prometheus", [
            PROMETHEUS, f"--config.file={fast}", f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}"], prometheus_port,
            work / "prometheus.log", ready_path="/-/ready"))
        yield Deployment(out, started[-1])
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_every_rule_of_both_specs_evaluates_ok(deployment):
    rules = evaluated_rules(f"{deployment.prometheus.url}/api/v1/rules", deployment.prometheus.url, 60)
    expected = sum(len(g["rules"]) for spec in ("checkout", "payments") for g in yaml.safe_load(
        (deployment.out / f"alert_rules/{spec}/vigil.rules.yml").read_text())["groups"])
    assert len(rules) == expected
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []


def test_recorded_series_of_each_spec_stay_apart(deployment):
    def both() -> list[dict] | None:
        found = deployment.query("vigil:memory_usage")
        return found if len(found) == 2 else None

    memory = wait_for(both, 60, interval=0.5, message="vigil:memory_usage not recorded twice")
    assert {s["metric"]["service"] for s in memory} == {"checkout", "payments"}
    # One host scraped for each spec: two series of about the same value, not their sum.
    low, high = sorted(float(s["value"][1]) for s in memory)
    assert 0 < low <= high < 1 and high - low < 0.05
    wait_for(lambda: len(deployment.query("vigil:cpu_usage")) == 2, 60, interval=0.5)
    unlabelled = deployment.query('count by (__name__) ({__name__=~"vigil.*:.+", service=""})')
    assert unlabelled == []
    def per_spec() -> dict[str, dict[str, str]] | None:
        found = deployment.query('count by (__name__, service) ({__name__=~"vigil.*:.+"})')
        counts = {svc: {s["metric"]["__name__"]: s["value"][1] for s in found
                        if s["metric"]["service"] == svc} for svc in ("checkout", "payments")}
        return counts if counts["checkout"] and counts["checkout"] == counts["payments"] else None

    # The same records, each with as many series for one spec as for the other (a record
    # needing two samples, like a forecast, may appear for one spec a step earlier).
    wait_for(per_spec, 30, interval=0.5, message="the specs' records differ")


def test_each_specs_alerts_carry_its_label_and_reach_its_receivers(deployment):
    def watchdogs() -> list[dict] | None:
        found = deployment.query('ALERTS{alertname="Watchdog", alertstate="firing"}')
        return found if len(found) == 2 else None

    wait_for(watchdogs, 60, interval=0.5, message="not one Watchdog per spec")
    alerts = deployment.query("ALERTS")
    assert [a["metric"] for a in alerts if "service" not in a["metric"]] == []
    config = deployment.out / "deploy/alertmanager/alertmanager.yml"
    for alert in alerts:
        labels = {k: v for k, v in alert["metric"].items()
                  if k not in ("__name__", "alertstate")}
        routed = subprocess.run(
            [AMTOOL, "config", "routes", "test", f"--config.file={config}",
             *(f"{k}={v}" for k, v in labels.items())],
            capture_output=True, text=True, timeout=30)
        assert routed.returncode == 0, routed.stderr
        receivers = routed.stdout.strip().split(",")
        assert all(r.startswith(f"{labels['service']}.") for r in receivers), (labels, receivers)
