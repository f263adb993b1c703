"""exporters.common.server + webconfig against a real server on a free port."""

from __future__ import annotations

import gzip
import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import pytest
import requests
from prometheus_client.core import GaugeMetricFamily

from exporters.common import webconfig
from exporters.common.config import ConfigError
from exporters.common.exporter import Exporter, Source
from exporters.common.server import MetricsServer
from exporters.common.webconfig import BasicAuth, WebConfig, load_web_config

PASSWORD = "s3cret-scrape"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def _exporter() -> Exporter:
    def broken():
        raise RuntimeError("source unavailable")

    return Exporter("vigil_t", [
        Source("ok", lambda: [GaugeMetricFamily("vigil_t_value", "A value.", value=42)]),
        Source("broken", broken),
    ])


@pytest.fixture
def serve() -> Iterator:
    servers: list[MetricsServer] = []

    def start(web_config: WebConfig | None = None, timeout: float = 10.0) -> MetricsServer:
        server = MetricsServer(_exporter().registry, "127.0.0.1", 0, web_config, timeout)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_endpoints(serve, scrape) -> None:
    server = serve()
    samples = scrape(server.url + "/metrics")
    assert samples[("vigil_t_value", ())] == 42
    # a source that raises is reported, and the scrape is still a 200
    assert samples[("vigil_t_collector_success", (("collector", "broken"),))] == 0
    assert samples[("vigil_t_collector_success", (("collector", "ok"),))] == 1
    health = requests.get(server.url + "/healthz", timeout=5)
    assert (health.status_code, health.text) == (200, "OK\n")
    assert requests.get(server.url + "/", timeout=5).status_code == 404
    assert requests.get(server.url + "/metricsx", timeout=5).status_code == 404
    assert requests.post(server.url + "/metrics", timeout=5).status_code == 405
    response = requests.get(server.url + "/metrics", timeout=5)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert server.address[0] == "127.0.0.1"


def test_gzip_and_openmetrics(serve) -> None:
    server = serve()
    raw = requests.get(server.url + "/metrics", headers={"Accept-Encoding": "gzip"},
                       stream=True, timeout=5).raw.read(decode_content=False)
    assert b"vigil_t_value 42.0" in gzip.decompress(raw)
    om = requests.get(server.url + "/metrics",
                      headers={"Accept": "application/openmetrics-text; version=1.0.0"},
                      timeout=5)
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    assert om.text.endswith("# EOF\n")


def test_tls_from_web_config(serve, scrape, make_cert, tmp_path: Path) -> None:
    cert, _key, _ = make_cert(tmp_path)
    config = write(tmp_path / "web.yml",
                   "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    server = serve(load_web_config(config))
    assert server.url.startswith("https://")
    assert scrape(server.url + "/metrics", verify=str(cert))[("vigil_t_value", ())] == 42
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.url.replace("https", "http") + "/metrics", timeout=5)


def test_client_certificates_verified(serve, scrape, make_cert, tmp_path: Path) -> None:
    cert, _key, _ = make_cert(tmp_path)
    client_cert, client_key, _ = make_cert(tmp_path, common_name="prometheus", name="client")
    config = write(tmp_path / "web.yml", f"""\
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {client_cert}
""")
    server = serve(load_web_config(config))
    samples = scrape(server.url + "/metrics", verify=str(cert),
                     cert=(str(client_cert), str(client_key)))
    assert samples[("vigil_t_value", ())] == 42
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(server.url + "/metrics", verify=str(cert), timeout=5)


def test_basic_auth(serve, scrape, tmp_path: Path) -> None:
    config = write(tmp_path / "web.yml", f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    server = serve(load_web_config(config))
    url = server.url + "/metrics"
    assert scrape(url, auth=("prometheus", PASSWORD))[("vigil_t_value", ())] == 42
    for auth in [None, ("prometheus", "wrong"), ("nobody", PASSWORD)]:
        response = requests.get(url, auth=auth, timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="vigil"'
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_basic_auth_caches_only_successes(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = BasicAuth({"prometheus": HASH.encode()})
    header = requests.auth._basic_auth_str("prometheus", PASSWORD)
    wrong = requests.auth._basic_auth_str("prometheus", "wrong")
    assert auth.check(header)
    assert not auth.check(wrong)
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(webconfig.bcrypt, "checkpw", lambda *a: calls.append(1) or real(*a))
    assert auth.check(header) and calls == []  # served from the cache
    assert not auth.check(wrong) and calls == [1]  # a failure is verified every time
    assert not auth.check("Basic !!!") and not auth.check("Bearer x") and not auth.check(None)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_silent_client_does_not_block_scrapes(serve, make_cert, tmp_path: Path, tls: bool) -> None:
    web = None
    verify: bool | str = True
    if tls:
        cert, _key, _ = make_cert(tmp_path)
        web = load_web_config(write(
            tmp_path / "web.yml", "tls_server_config: {cert_file: server.crt, key_file: server.key}\n"))
        verify = str(cert)
    server = serve(web, timeout=30.0)  # long: the scrape must not depend on it expiring
    host, port = server.address
    silent = [socket.create_connection((host, port)) for _ in range(5)]
    try:
        time.sleep(0.2)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(
                lambda _: requests.get(server.url + "/metrics", verify=verify, timeout=5).status_code,
                range(16)))
        assert codes == [200] * 16
        assert time.monotonic() - started < 3
    finally:
        for sock in silent:
            sock.close()


def test_silent_client_is_disconnected_after_the_timeout(serve) -> None:
    server = serve(timeout=0.3)
    with socket.create_connection(server.address) as sock:
        sock.settimeout(5)
        started = time.monotonic()
        assert sock.recv(1) == b""  # server closed the idle connection
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tls_config: {}\n", "tls_config: unknown key"),
        ("basic_auth_users:\n  prometheus: plaintext\n",
         "basic_auth_users.prometheus: expected a bcrypt hash"),
        ("tls_server_config:\n  cert_file: absent.crt\n  key_file: absent.key\n",
         "tls_server_config.cert_file: cannot load certificate/key"),
        ("tls_server_config:\n  key_file: server.key\n",
         "tls_server_config.cert_file: required key is missing"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
         "  client_auth_type: RequireAnyClientCert\n",
         "tls_server_config.client_auth_type: unsupported value 'RequireAnyClientCert'"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
         "  client_auth_type: RequireAndVerifyClientCert\n",
         "tls_server_config.client_ca_file: required when client_auth_type is"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
         "  min_version: SSL3\n", "tls_server_config.min_version: expected one of TLS10"),
    ],
)
def test_web_config_errors(make_cert, tmp_path: Path, text: str, message: str) -> None:
    make_cert(tmp_path)
    path = write(tmp_path / "web.yml", text)
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_default_tls_floor_is_tls12(make_cert, tmp_path: Path) -> None:
    make_cert(tmp_path)
    web = load_web_config(write(
        tmp_path / "web.yml", "tls_server_config: {cert_file: server.crt, key_file: server.key}\n"))
    assert web.ssl_context is not None
    assert web.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2
