"""Abuse against real exporter processes: slow clients and wrong-password floods.

Bounded and on loopback only: a few hundred connections for a few seconds,
against a process whose RLIMIT_NOFILE is lowered to 256 so that this is
enough to exhaust its descriptors.
"""

from __future__ import annotations

import base64
import errno
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest
import requests

from tests import processes

VIGIL = Path(sys.executable).with_name("vigil")
NOFILE = 256
ATTACK_CONNECTIONS = 400
ATTACK_SECONDS = 8.0
PASSWORD = "scrape-secret"
FLOODERS = 24
HOST_MARKER = 'vigil_host_collector_success{collector="cpu"} 1.0'

# An exporter whose bound is the descriptor limit itself (no reserve): every
# attack reaches EMFILE, the path that used to spin.
NO_RESERVE = """\
import logging, sys
from prometheus_client.core import GaugeMetricFamily
from exporters.common.exporter import Exporter, Source
from exporters.common.server import MetricsServer, ServerLimits, serve_until_signal
logging.basicConfig(level="INFO", stream=sys.stderr)
exporter = Exporter("vigil_t", [Source("ok", lambda: [GaugeMetricFamily("vigil_t_value", "V.", value=42)])])
server = MetricsServer(exporter.registry, "127.0.0.1", int(sys.argv[1]),
                       limits=ServerLimits(max_connections=100000))
server.max_connections = 100000
sys.exit(serve_until_signal(server))
"""


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Exporter:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    log: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


def _start(tmp_path: Path, port: int, kind: str, web_config: str | None = None) -> Exporter:
    log = tmp_path / f"{kind}.log"
    if kind == "host":
        config = tmp_path / "host.yml"
        config.write_text("filesystems: {timeout: 1s}\n")
        args = [str(VIGIL), "exporter", "host", "--config", str(config),
                "--web.listen-address", f"127.0.0.1:{port}"]
        if web_config:
            (tmp_path / "web.yml").write_text(web_config)
            args += ["--web.config.file", str(tmp_path / "web.yml")]
    else:
        script = tmp_path / "no_reserve.py"
        script.write_text(NO_RESERVE)
        args = [sys.executable, str(script), str(port)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=sink, preexec_fn=_low_nofile)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "exporter did not become healthy"
        time.sleep(0.05)
    return Exporter(proc, url, port, log)


@pytest.fixture
def exporters() -> Iterator[list[Exporter]]:
    started: list[Exporter] = []
    yield started
    for exporter in started:
        processes.stop(exporter.proc)


@dataclass
class Scrapes:
    """A legitimate scraper running in the background: statuses and latencies."""

    url: str
    marker: str  # a sample every good answer holds
    auth: tuple[str, str] | None = None
    results: list[tuple[int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        session = requests.Session()  # keep-alive, like Prometheus
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                response = session.get(self.url + "/metrics", auth=self.auth, timeout=5)
                code = response.status_code if self.marker in response.text else -1
            except requests.RequestException:
                code = 0
                session = requests.Session()
            self.results.append((code, time.monotonic() - started))
            self.stop.wait(0.25)


def _slow_clients(port: int, seconds: float) -> int:
    """Hold ATTACK_CONNECTIONS connections, each sending one header byte a second; reconnect
    the ones the server closes. Returns how many connections were opened."""
    request = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    socks: dict[socket.socket, int] = {}
    opened = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while len(socks) < ATTACK_CONNECTIONS:
            sock = socket.socket()
            sock.setblocking(False)
            err = sock.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                sock.close()
                break
            socks[sock] = 0
            opened += 1
        for sock, sent in list(socks.items()):
            try:
                sock.send(request[sent % len(request):][:1])
                socks[sock] = sent + 1
                if sock.recv(1) == b"":
                    raise ConnectionResetError
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                sock.close()
                del socks[sock]
        time.sleep(1.0)
    for sock in socks:
        sock.close()
    return opened


@pytest.mark.parametrize("kind", ["host", "no_reserve"])
def test_slow_clients_do_not_stop_scrapes(tmp_path: Path, free_port, exporters, kind: str) -> None:
    exporter = _start(tmp_path, free_port(), kind)
    exporters.append(exporter)
    scrapes = Scrapes(exporter.url, HOST_MARKER if kind == "host" else "vigil_t_value 42.0")
    scraper = threading.Thread(target=scrapes.run, daemon=True)
    cpu_before, wall_before = _cpu_seconds(exporter.proc.pid), time.monotonic()
    scraper.start()
    opened = _slow_clients(exporter.port, ATTACK_SECONDS)
    cpu = (_cpu_seconds(exporter.proc.pid) - cpu_before) / (time.monotonic() - wall_before)
    scrapes.stop.set()
    scraper.join(10)

    assert opened > ATTACK_CONNECTIONS  # the server did close slow clients to make room
    codes = [code for code, _ in scrapes.results]
    assert len(codes) >= ATTACK_SECONDS and codes == [200] * len(codes), codes
    assert max(latency for _, latency in scrapes.results) < 2.5
    assert cpu < 0.5, f"exporter used {cpu:.0%} of a CPU during the attack"
    lines = exporter.log_lines()
    assert len(lines) < 30, lines[-10:]
    assert not any("Traceback" in line for line in lines)
    # and afterwards
    assert requests.get(exporter.url + "/metrics", timeout=5).status_code == 200
    assert exporter.proc.poll() is None


def test_wrong_password_flood_does_not_starve_scrapes(tmp_path: Path, free_port,
                                                     exporters) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    exporter = _start(tmp_path, free_port(), "host",
                      web_config=f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    exporters.append(exporter)
    scrapes = Scrapes(exporter.url, HOST_MARKER, auth=("prometheus", PASSWORD))
    assert requests.get(exporter.url + "/metrics", auth=scrapes.auth, timeout=10).status_code == 200
    stop = threading.Event()
    answers: dict[int, int] = {}
    lock = threading.Lock()

    def flood(worker: int) -> None:
        session = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            token = base64.b64encode(f"prometheus:wrong-{worker}-{n}".encode()).decode()
            try:
                code = session.get(exporter.url + "/metrics", timeout=10,
                                   headers={"Authorization": f"Basic {token}"}).status_code
            except requests.RequestException:
                code = 0
            with lock:
                answers[code] = answers.get(code, 0) + 1

    scraper = threading.Thread(target=scrapes.run, daemon=True)
    with ThreadPoolExecutor(FLOODERS) as pool:
        for worker in range(FLOODERS):
            pool.submit(flood, worker)
        scraper.start()
        cpu_before, wall_before = _cpu_seconds(exporter.proc.pid), time.monotonic()
        time.sleep(5)
        cpu = (_cpu_seconds(exporter.proc.pid) - cpu_before) / (time.monotonic() - wall_before)
        stop.set()
        scrapes.stop.set()
    scraper.join(10)
    codes = [code for code, _ in scrapes.results]
    assert len(codes) >= 10 and codes == [200] * len(codes), codes
    assert max(latency for _, latency in scrapes.results) < 1.0
    assert sum(answers.values()) > 100 and set(answers) <= {401, 429}, answers
    assert answers.get(401, 0) > 0  # bcrypt work was done, just bounded
    assert cpu < 1.4, f"exporter used {cpu:.0%} of a CPU during the flood"  # one bcrypt at a time
    assert PASSWORD not in exporter.log.read_text()
