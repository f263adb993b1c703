"""The whole path, with real servers: a metric crosses a spec threshold, the generated
rules raise the alert in a real Prometheus, the generated routing delivers it through a
real Alertmanager to a webhook receiver listening here.

Along the way: every generated rule evaluates without error on a live Prometheus, and
every dashboard query is accepted by it. PagerDuty, Slack and e-mail cannot be reached
from here, so the test spec sends the critical severity to a local webhook instead —
the only change to the default spec besides timings and addresses.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from generator.dashboards.queries import annotation_queries, executable, panel_queries

ROOT = Path(__file__).resolve().parents[2]
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None or ALERTMANAGER is None,
                                reason="prometheus and prometheus-alertmanager are not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append({"path": self.path, "payload": json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("e2e")
    ports = {name: free_port() for name in ("metrics", "prometheus", "alertmanager", "hook")}

    registry = CollectorRegistry()
    used = Gauge("vigil_host_filesystem_used_ratio", "Used share.",
                 ["device", "mountpoint", "fstype"], registry=registry)
    used.labels("/dev/sda1", "/", "ext4").set(0.97)  # beyond the spec's critical 90%
    metrics_server, _ = start_http_server(ports["metrics"], "127.0.0.1", registry)

    _Hook.received = []
    hook = ThreadingHTTPServer(("127.0.0.1", ports["hook"]), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()

    spec = work / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "extends": str(ROOT / "slo/spec.yaml"),
        "duplicate_suppression": "10s",
        "maintenance": None,  # the test must not depend on the hour in Bangkok
        "targets": {"host": [f"127.0.0.1:{ports['metrics']}"]},
        "alertmanager": [f"127.0.0.1:{ports['alertmanager']}"],
        "receivers": {"local_hook": {"webhook": {
            "url": f"http://127.0.0.1:{ports['hook']}/page"}}},
        "severities": {"critical": {"channels": ["webhook"], "recipients": ["local_hook"],
                                    "escalation": []}},
        "signals": {"disk_usage": {"critical": "90%", "for": "0s"}},
    }))
    out = work / "out"
    subprocess.run([sys.executable, "-m", "generator.cli", "generate", "--spec", str(spec),
                    "--out", str(out)], check=True, cwd=ROOT, capture_output=True)

    # The generated Prometheus config, with intervals shortened so the test takes seconds.
    prom_config = yaml.safe_load((out / "deploy/prometheus/prometheus.yml").read_text())
    prom_config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    for job in prom_config["scrape_configs"]:
        job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
    (out / "deploy/prometheus/prometheus.yml").write_text(yaml.safe_dump(prom_config))

    processes = [
        subprocess.Popen([ALERTMANAGER, f"--config.file={out}/deploy/alertmanager/alertmanager.yml",
                          f"--storage.path={work}/am",
                          f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
                          "--cluster.listen-address="],
                         stdout=subprocess.DEVNULL, stderr=(work / "am.log").open("w")),
        subprocess.Popen(["prometheus", f"--config.file={out}/deploy/prometheus/prometheus.yml",
                          f"--storage.tsdb.path={work}/tsdb",
                          f"--web.listen-address=127.0.0.1:{ports['prometheus']}"],
                         stdout=subprocess.DEVNULL, stderr=(work / "prom.log").open("w")),
    ]
    base = f"http://127.0.0.1:{ports['prometheus']}"
    try:
        _wait(lambda: _ready(f"{base}/-/ready"), 30, "Prometheus to start")
        _wait(lambda: _ready(f"http://127.0.0.1:{ports['alertmanager']}/-/ready"), 30,
              "Alertmanager to start")
        yield {"prometheus": base, "out": out, "work": work}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        metrics_server.shutdown()
        hook.shutdown()


def _ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_threshold_crossing_reaches_the_receiver(stack):
    delivered = _wait(lambda: [r for r in _Hook.received
                               if any(a["labels"].get("alertname") == "DiskUsage"
                                      for a in r["payload"]["alerts"])],
                      90, "the DiskUsage notification at the webhook")
    payload = delivered[0]["payload"]
    assert delivered[0]["path"] == "/page"
    assert payload["receiver"] == "severity-critical"
    assert payload["status"] == "firing"
    alert = next(a for a in payload["alerts"] if a["labels"]["alertname"] == "DiskUsage")
    assert alert["labels"] == {
        "alertname": "DiskUsage", "environment": "production", "instance": alert["labels"]["instance"],
        "mountpoint": "/", "priority": "P0", "severity": "critical", "signal": "disk_usage",
        "team": "operations",
    }
    assert alert["annotations"]["description"] == (
        "Disk usage is 97%, above the critical threshold of 90%.")
    assert alert["annotations"]["dashboard_url"].endswith("/d/vigil-infrastructure/"
                                                          "vigil-infrastructure?viewPanel=3")


def test_every_generated_rule_evaluates_without_error(stack):
    def evaluated():
        groups = requests.get(f"{stack['prometheus']}/api/v1/rules", timeout=5).json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules) \
            else None

    rules = _wait(evaluated, 30, "every rule to be evaluated once")
    generated = yaml.safe_load((stack["out"] / "alert_rules/vigil.rules.yml").read_text())
    assert len(rules) == sum(len(g["rules"]) for g in generated["groups"])
    broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert broken == []


def test_every_dashboard_query_is_accepted_by_prometheus(stack):
    failures = []
    count = 0
    for path in sorted((stack["out"] / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        exprs = [q.expr for q in panel_queries(dashboard)] + [a[2] for a in annotation_queries(dashboard)]
        for expr in exprs:
            query = executable(dashboard, expr)
            response = requests.get(f"{stack['prometheus']}/api/v1/query", params={"query": query},
                                    timeout=10).json()
            count += 1
            if response["status"] != "success":
                failures.append((path.name, query, response.get("error")))
    assert count > 50
    assert failures == []
