"""The standard exporters, for real: node_exporter, postgres_exporter and blackbox_exporter.

A small stack of its own: Debian's `prometheus-node-exporter`, `prometheus-postgres-exporter`
(against a throwaway PostgreSQL, its password in the environment only) and
`prometheus-blackbox-exporter` (probing a local HTTPS endpoint with a certificate of its
own, through the module Vigil generates for `probes.ca_file`), an Alertmanager, and one
Prometheus loading the configuration generated from slo/examples/standard-exporters.yaml
(addresses overridden for loopback; scrapes and evaluations every second). It shows:

- the generated blackbox job scrapes each probed URL through blackbox_exporter, with the
  URL as `instance` and `target`, and every standard exporter's target is up;
- every generated rule evaluates with health ok, and every signal's recorded series has
  data: the catalogue's expressions for the standard exporters name metrics they export;
- every panel of every generated dashboard returns data, with the dashboard's default
  variables substituted the way Grafana sends them;
- the database password is in neither the exporter's log nor its metrics.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from generator.dashboards.queries import executable, panel_queries
from generator.demo.certs import self_signed
from generator.demo.shop import PaymentsApi
from generator.loader import load_spec
from generator.model import Spec
from generator.rules import signals
from tests import pg
from tests.e2e.harness import evaluated_rules, generate
from tests.e2e.processes import Server, free_port, wait_for

NODE_EXPORTER = shutil.which("prometheus-node-exporter")
POSTGRES_EXPORTER = shutil.which("prometheus-postgres-exporter")
BLACKBOX_EXPORTER = shutil.which("prometheus-blackbox-exporter")
ALERTMANAGER = shutil.which("prometheus-alertmanager")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("standard-exporters"),
    pytest.mark.skipif(None in (NODE_EXPORTER, POSTGRES_EXPORTER, BLACKBOX_EXPORTER, ALERTMANAGER,
                                shutil.which("prometheus")) or not pg.available(),
                       reason="needs the standard exporters, prometheus, alertmanager and "
                              "PostgreSQL"),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "slo/examples/standard-exporters.yaml"
MODULE = "vigil_http_2xx"  # not a stock module: Vigil writes deploy/blackbox/blackbox.yml
PROBE_PATH = "/v1/health"
WAIT = 30.0  # seconds for data that a 1 s scrape and evaluation produce within a few


@dataclass
class Standard:
    spec: Spec
    out: Path
    prometheus: Server
    postgres_exporter: Server
    probed: str  # the URL blackbox_exporter probes
    password: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.prometheus.url}/api/v1/query", params={"query": promql},
                              timeout=10).json()
        assert answer["status"] == "success", (promql, answer.get("error"))
        return answer["data"]["result"]


def _write_spec(work: Path, ports: dict[str, int], probed: str, ca_file: Path) -> Path:
    """The example spec, on loopback, with the probes trusting the endpoint's own CA."""
    spec = work / "spec.yaml"
    spec.write_text(yaml.safe_dump({
        "extends": str(EXAMPLE),
        "targets": {"host": [f"127.0.0.1:{ports['node']}"],
                    "postgres": [f"127.0.0.1:{ports['postgres']}"],
                    "http": [f"127.0.0.1:{ports['blackbox']}"],
                    "incidents": [f"127.0.0.1:{ports['incidents']}"]},
        "alertmanager": [f"127.0.0.1:{ports['alertmanager']}"],
        # The incident recorder is not started: its TargetDown fires at once, so the
        # overview's firing-alert panels have an alert to show.
        "monitoring": {"prometheus": {"targets": [f"127.0.0.1:{ports['prometheus']}"]},
                       "target_down": {"for": "0s"}},
        "probes": {"urls": [probed], "module": MODULE, "ca_file": str(ca_file)},
    }))
    return spec


def _fast(config_path: Path) -> None:
    """Scrape and evaluate every second, so the test waits seconds, not minutes."""
    config = yaml.safe_load(config_path.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    for job in config["scrape_configs"]:
        job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
    config_path.write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def standard() -> Iterator[Standard]:
    work = Path(tempfile.mkdtemp(prefix="vigil-standard-"))
    stops: list[Callable[[], None]] = []
    cluster = pg.PgCluster.create()
    try:
        cluster.start()
        stops.append(cluster.destroy)
        cert, key, _ = self_signed(work, name="endpoint")
        endpoint = PaymentsApi(free_port(), cert, key)
        endpoint.start()
        stops.append(endpoint.stop)
        probed = f"https://127.0.0.1:{endpoint.port}{PROBE_PATH}"
        ports = {name: free_port() for name in
                 ("node", "postgres", "blackbox", "incidents", "alertmanager", "prometheus")}
        spec_path = _write_spec(work, ports, probed, cert)
        generate(spec_path, work / "out")
        out = work / "out"
        _fast(out / "deploy/prometheus/prometheus.yml")

        def start(name: str, argv: list[str], port: int, ready: str = "/metrics",
                  env: dict[str, str] | None = None) -> Server:
            server = Server(name, argv, port, work / f"{name}.log", ready_path=ready, env=env)
            stops.append(server.stop)
            return server

        start("node_exporter", [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ports['node']}"],
              ports["node"])
        # The password reaches postgres_exporter through its environment only: not in
        # its arguments (visible to every user in ps) and not in a URI it may log.
        postgres_exporter = start(
            "postgres_exporter",
            [POSTGRES_EXPORTER, f"--web.listen-address=127.0.0.1:{ports['postgres']}"],
            ports["postgres"],
            env={**os.environ, "DATA_SOURCE_URI": f"127.0.0.1:{cluster.port}/postgres?sslmode=disable",
                 "DATA_SOURCE_USER": pg.SERVER_USER, "DATA_SOURCE_PASS": cluster.password})
        start("blackbox_exporter", [
            BLACKBOX_EXPORTER, f"--config.file={out / 'deploy/blackbox/blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{ports['blackbox']}"], ports["blackbox"])
        (work / "alertmanager.yml").write_text(yaml.safe_dump(
            {"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}))
        start("alertmanager", [
            ALERTMANAGER, f"--config.file={work / 'alertmanager.yml'}",
            f"--storage.path={work / 'alertmanager'}", "--cluster.listen-address=",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager']}"],
            ports["alertmanager"], ready="/-/ready")
        prometheus = start("prometheus", [
            "prometheus", f"--config.file={out / 'deploy/prometheus/prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}"],
            ports["prometheus"], ready="/-/ready")
        yield Standard(load_spec(spec_path), out, prometheus, postgres_exporter, probed,
                       cluster.password)
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(work, ignore_errors=True)


def _settled(problems: Callable[[], list[Any]]) -> list[Any]:
    """`problems()` once it is empty, or what is still wrong after WAIT."""
    deadline = time.monotonic() + WAIT
    while (found := problems()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def _targets(standard: Standard) -> list[dict[str, Any]]:
    answer = requests.get(f"{standard.prometheus.url}/api/v1/targets", timeout=10).json()
    return answer["data"]["activeTargets"]


def test_the_standard_exporters_are_scraped_and_probes_go_through_blackbox(standard):
    spec = standard.spec
    wanted = {spec.jobs[role] for role in ("host", "postgres", "http")}

    def up() -> list[dict[str, Any]] | None:
        found = [t for t in _targets(standard) if t["labels"]["job"] in wanted]
        return found if len(found) == 3 and all(t["health"] == "up" for t in found) else None

    found = wait_for(up, WAIT, 0.5, "the standard exporters' targets are not all up")
    probe = next(t for t in found if t["labels"]["job"] == spec.jobs["http"])
    assert probe["labels"]["instance"] == probe["labels"]["target"] == standard.probed
    assert probe["scrapeUrl"].startswith(f"http://{spec.targets['http'][0]}/probe?")
    assert f"module={MODULE}" in probe["scrapeUrl"]
    # The generated module trusts the endpoint's CA: the probe succeeds over TLS.
    assert wait_for(lambda: standard.query(f'probe_success{{target="{standard.probed}"}} == 1'),
                    WAIT, 0.5, "the probe through blackbox_exporter did not succeed")
    assert standard.query("pg_up == 1"), "postgres_exporter does not reach PostgreSQL"


def test_every_generated_rule_evaluates_healthy(standard):
    rules = evaluated_rules(f"{standard.prometheus.url}/api/v1/rules", standard.prometheus.url, WAIT)
    generated = yaml.safe_load((standard.out / "alert_rules/vigil.rules.yml").read_text())
    assert len(rules) == sum(len(g["rules"]) for g in generated["groups"])
    assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []


def test_every_signal_has_data(standard):
    recorded = {signals.recorded_name(s, t) for s in standard.spec.signals.values()
                for t in s.thresholds}
    assert len(recorded) >= len(standard.spec.signals)

    assert _settled(lambda: [name for name in sorted(recorded) if not standard.query(name)]) == []


def test_every_dashboard_panel_has_data(standard):
    queries = []
    for path in sorted((standard.out / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        queries += [(path.stem, q.panel_title, executable(dashboard, q.expr))
                    for q in panel_queries(dashboard)]
    assert {kind for kind, _, _ in queries} == {"overview", "infrastructure", "application",
                                                "database", "capacity"}
    # The capacity dashboard reads hourly means: the first is recorded only after an hour.
    # Its queries must still run (a wrong metric name is an empty answer, so check the
    # hourly means' sources instead: the rules' health test above covers them).
    queries = [q for q in queries if q[0] != "capacity"]
    assert _settled(lambda: [q for q in queries if not standard.query(q[2])]) == []


def test_the_database_password_stays_out_of_logs_and_metrics(standard):
    metrics = requests.get(f"{standard.postgres_exporter.url}/metrics", timeout=10).text
    assert standard.password not in metrics
    assert standard.password not in standard.postgres_exporter.log.read_text()


def test_a_healthy_stack_raises_no_alert_about_the_exporters(standard):
    wait_for(lambda: standard.query('ALERTS{alertname="TargetDown",alertstate="firing"}'), WAIT,
             0.5, "the recorder's TargetDown never fired")
    raised = {(a["metric"]["alertname"], a["metric"].get("job"))
              for a in standard.query('ALERTS{category="monitoring"}')}
    # node_exporter's collectors that only fail for want of hardware (bonding, hwmon...)
    # are not watched; the recorder is not started here.
    assert raised == {("Watchdog", None), ("TargetDown", standard.spec.jobs["incidents"])}
