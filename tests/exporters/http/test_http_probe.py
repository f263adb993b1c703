"""HTTP probes against real local servers: 200, 500, hanging, redirects, TLS certs."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client import generate_latest

from exporters.common.config import ConfigError, ConfigNode
from exporters.common.server import MetricsServer
from exporters.http import build
from exporters.http.probe import Probe, run_probe

RELEASE = threading.Event()  # set at teardown so hanging handlers end


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        routes = {"/ok": 200, "/fail": 500, "/missing": 404}
        if self.path == "/hang":
            RELEASE.wait(30)
            return
        if self.path.startswith("/redirect/"):
            left = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/redirect/{left - 1}" if left > 1 else "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = routes.get(self.path, 404)
        body = b"hello\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def http_server() -> Iterator:
    started: list[Server] = []
    RELEASE.clear()

    def start(cert: Path | None = None, key: Path | None = None) -> str:
        server = Server(("127.0.0.1", 0), Handler)
        scheme = "http"
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
        started.append(server)
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    yield start
    RELEASE.set()
    for server in started:
        server.shutdown()
        server.server_close()


def values(families: list) -> dict[str, float]:
    return {f.name: f.samples[0].value for f in families}


def test_200_500_and_expected_status(http_server) -> None:
    base = http_server()
    ok = values(run_probe(Probe("ok", base + "/ok")))
    assert ok["vigil_http_probe_success"] == 1
    assert ok["vigil_http_probe_status_code"] == 200
    assert ok["vigil_http_probe_redirects"] == 0
    assert 0 < ok["vigil_http_probe_duration_seconds"] < 1
    assert "vigil_http_probe_tls_certificate_expiry_timestamp_seconds" not in ok
    fail = values(run_probe(Probe("fail", base + "/fail")))
    assert (fail["vigil_http_probe_success"], fail["vigil_http_probe_status_code"]) == (0, 500)
    wanted = values(run_probe(Probe("fail", base + "/fail", expected_status=("5xx",))))
    assert wanted["vigil_http_probe_success"] == 1
    post = values(run_probe(Probe("post", base + "/missing", method="POST",
                                  expected_status=("200",))))
    assert (post["vigil_http_probe_success"], post["vigil_http_probe_status_code"]) == (0, 404)


def test_redirects_are_counted(http_server) -> None:
    base = http_server()
    result = values(run_probe(Probe("r", base + "/redirect/3")))
    assert result["vigil_http_probe_redirects"] == 3
    assert result["vigil_http_probe_status_code"] == 200
    assert result["vigil_http_probe_success"] == 1
    unfollowed = values(run_probe(Probe("r", base + "/redirect/3", follow_redirects=False)))
    assert unfollowed["vigil_http_probe_status_code"] == 302
    assert unfollowed["vigil_http_probe_success"] == 0


def test_hanging_server_times_out(http_server) -> None:
    base = http_server()
    started = time.monotonic()
    result = values(run_probe(Probe("hang", base + "/hang", timeout=0.5)))
    assert time.monotonic() - started < 2
    assert result["vigil_http_probe_success"] == 0
    assert result["vigil_http_probe_status_code"] == 0
    assert 0.5 <= result["vigil_http_probe_duration_seconds"] < 2


def test_connection_refused(free_port) -> None:
    result = values(run_probe(Probe("down", f"http://127.0.0.1:{free_port()}/", timeout=1)))
    assert (result["vigil_http_probe_success"], result["vigil_http_probe_status_code"]) == (0, 0)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize(
    ("days", "success"),
    [(90, 1), (2, 1), (-3, 0)],
    ids=["valid", "about-to-expire", "expired"],
)
def test_tls_certificate_expiry(http_server, make_cert, tmp_path: Path, days: float,
                                success: int) -> None:
    cert, key, not_after = make_cert(tmp_path, days=days)
    base = http_server(cert, key)
    result = values(run_probe(Probe("tls", base + "/ok", verify=str(cert), timeout=3)))
    assert result["vigil_http_probe_success"] == success
    # reported even when the certificate has expired and verification failed
    assert result["vigil_http_probe_tls_certificate_expiry_timestamp_seconds"] == not_after
    # an untrusted (self-signed) certificate fails the probe, expiry still known
    untrusted = values(run_probe(Probe("tls", base + "/ok", timeout=3)))
    assert untrusted["vigil_http_probe_success"] == 0
    assert untrusted["vigil_http_probe_tls_certificate_expiry_timestamp_seconds"] == not_after
    unverified = values(run_probe(Probe("tls", base + "/ok", verify=False, timeout=3)))
    assert unverified["vigil_http_probe_success"] == 1


def test_hanging_probe_does_not_slow_scrapes(http_server, parse_samples) -> None:
    base = http_server()
    exporter = build(ConfigNode({"probes": [
        {"name": "hang", "url": base + "/hang", "timeout": "3s", "interval": "60s"},
        {"name": "ok", "url": base + "/ok", "interval": "60s"},
    ]}, "http.yml"))
    server = MetricsServer(exporter.registry)
    exporter.start()
    server.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = requests.get(server.url + "/metrics", timeout=5)
            assert time.monotonic() - started < 0.5  # the 3 s probe is not waited for
            samples = parse_samples(response.text)
            if ("vigil_http_probe_success", (("target", "ok"),)) in samples:
                break
            time.sleep(0.05)
        assert samples[("vigil_http_probe_success", (("target", "ok"),))] == 1
        assert ("vigil_http_probe_success", (("target", "hang"),)) not in samples
    finally:
        RELEASE.set()
        server.shutdown()
        exporter.stop()


def test_probe_exposition(http_server) -> None:
    base = http_server()
    exporter = build(ConfigNode({"probes": [{"name": "shop", "url": base + "/ok"}]}, "http.yml"))
    exporter.tasks[0].run_once()
    text = generate_latest(exporter.registry).decode()
    assert """\
# HELP vigil_http_probe_success Whether the probe answered with an expected status in time.
# TYPE vigil_http_probe_success gauge
vigil_http_probe_success{target="shop"} 1.0
""" in text
    assert """\
# HELP vigil_http_probe_status_code HTTP status code of the final response, 0 if none.
# TYPE vigil_http_probe_status_code gauge
vigil_http_probe_status_code{target="shop"} 200.0
# HELP vigil_http_probe_redirects Number of redirects followed.
# TYPE vigil_http_probe_redirects gauge
vigil_http_probe_redirects{target="shop"} 0.0
""" in text
    assert 'vigil_http_collector_success{collector="probe:shop"} 1.0' in text


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"probes": [{"url": "ftp://x"}]}, "probes[0].url: expected an http:// or https:// URL"),
        ({"probes": [{"name": "a"}]}, "probes[0].url: required key is missing"),
        ({"probes": [{"url": "http://a", "expected_status": [200, "ok"]}]},
         "probes[0].expected_status[1]: expected a status code (200) or class (2xx)"),
        ({"probes": [{"url": "http://a"}, {"url": "http://a"}]},
         "probes[1].name: duplicate probe name 'http://a'"),
        ({"probes": [{"url": "http://a", "timeout": "-"}]}, "probes[0].timeout:"),
        ({"probes": [{"url": "http://a", "headers": {"X-Token": {"env": "VIGIL_UNSET_VAR"}}}]},
         "probes[0].headers.X-Token: environment variable VIGIL_UNSET_VAR"),
        ({"probe": []}, "probe: unknown key"),
    ],
)
def test_config_errors(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(ConfigNode(config, "http.yml"))
    assert str(caught.value).startswith(f"http.yml: {message}")
