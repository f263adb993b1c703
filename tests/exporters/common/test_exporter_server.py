"""exporters.common.server + webconfig against a real server on a free port."""

from __future__ import annotations

import gzip
import logging
import socket
import ssl
import subprocess
import sys
import threading
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
from exporters.common.server import MetricsServer, ServerLimits
from exporters.common.webconfig import AuthResult, BasicAuth, WebConfig, load_web_config

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

    def start(web_config: WebConfig | None = None, timeout: float = 10.0,
              limits: ServerLimits | None = None) -> MetricsServer:
        server = MetricsServer(_exporter().registry, "127.0.0.1", 0, web_config, timeout, limits)
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


def _counting_checkpw(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(webconfig.bcrypt, "checkpw", lambda *a: calls.append(1) or real(*a))
    return calls


def test_basic_auth_remembers_successes_and_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = BasicAuth({"prometheus": HASH.encode()})
    header = requests.auth._basic_auth_str("prometheus", PASSWORD)
    wrong = requests.auth._basic_auth_str("prometheus", "wrong")
    calls = _counting_checkpw(monkeypatch)
    assert auth.check(header) and not auth.check(wrong) and calls == [1, 1]
    assert auth.check(header) and not auth.check(wrong) and calls == [1, 1]  # both remembered
    assert not auth.check("Basic !!!") and not auth.check("Bearer x") and not auth.check(None)
    # thousands of distinct wrong passwords cannot push the working one out
    for n in range(5000):
        auth._failed[bytes(str(n), "ascii")] = None
    assert auth.verify(header) is AuthResult.OK and calls == [1, 1]


def test_bcrypt_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """While bcrypt is saturated, new credentials get BUSY at once; known ones still pass."""
    auth = BasicAuth({"prometheus": HASH.encode()}, max_concurrent_checks=1, max_waiting_checks=2)
    good = requests.auth._basic_auth_str("prometheus", PASSWORD)
    assert auth.verify(good) is AuthResult.OK
    release = threading.Event()
    entered = threading.Semaphore(0)
    real = bcrypt.checkpw

    def slow(password: bytes, hashed: bytes) -> bool:
        entered.release()
        release.wait(10)
        return real(password, hashed)

    monkeypatch.setattr(webconfig.bcrypt, "checkpw", slow)
    with ThreadPoolExecutor(3) as pool:
        pending = [pool.submit(auth.verify, requests.auth._basic_auth_str("prometheus", f"w{n}"))
                   for n in range(3)]
        assert entered.acquire(timeout=5)  # one runs, two wait
        deadline = time.monotonic() + 5
        while auth._admission._value and time.monotonic() < deadline:
            time.sleep(0.01)
        flood = requests.auth._basic_auth_str("prometheus", "w-next")
        assert auth.verify(flood) is AuthResult.BUSY
        assert auth.verify(good) is AuthResult.OK  # remembered: no bcrypt needed
        release.set()
        assert [f.result(timeout=10) for f in pending] == [AuthResult.DENIED] * 3


def test_password_longer_than_72_bytes_compares_its_first_72_like_go(
        serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    long_password = "p" * 70 + "xy" + "-tail-that-bcrypt-never-sees"
    hashed = bcrypt.hashpw(long_password[:72].encode(), bcrypt.gensalt(rounds=4)).decode()
    server = serve(load_web_config(write(tmp_path / "web.yml",
                                         f"basic_auth_users:\n  prometheus: '{hashed}'\n")))
    url = server.url + "/metrics"
    with caplog.at_level(logging.WARNING, logger="exporters.common.webconfig"):
        assert requests.get(url, auth=("prometheus", long_password), timeout=5).status_code == 200
        other_tail = long_password[:72] + "-another-tail"
        assert requests.get(url, auth=("prometheus", other_tail), timeout=5).status_code == 200
        other_head = "q" + long_password[1:]
        assert requests.get(url, auth=("prometheus", other_head), timeout=5).status_code == 401
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and r.name == "exporters.common.webconfig"]
    assert len(warnings) == 1  # rate-limited
    assert "longer than 72 bytes" in warnings[0] and "'prometheus'" in warnings[0]
    assert "tail" not in warnings[0] and "ppp" not in warnings[0]


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


def _exchange(address: tuple[str, int], data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` raw, return everything the server sends until it closes (or times out)."""
    with socket.create_connection(address) as sock:
        sock.settimeout(timeout)
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            chunks.append(b"<still open>")
        return b"".join(chunks)


def test_a_post_body_is_never_parsed_as_a_second_request(serve) -> None:
    server = serve()
    smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = _exchange(server.address, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled)
    assert reply.startswith(b"HTTP/1.1 405 ")
    assert reply.count(b"HTTP/1.1 ") == 1 and b"vigil_t_value" not in reply
    assert b"Connection: close" in reply and not reply.endswith(b"<still open>")


def test_pipelined_requests_without_bodies_are_all_answered(serve) -> None:
    server = serve()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = _exchange(server.address, request * 3 + b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
    assert reply.count(b"HTTP/1.1 200 OK") == 4


@pytest.mark.parametrize("line", [b"GET /metrics\r\n\r\n", b"GET\r\n\r\n", b"\x16\x03\x01junk\r\n"],
                         ids=["http0.9", "no-target", "binary"])
def test_http09_and_malformed_request_lines_are_rejected(serve, line: bytes) -> None:
    reply = _exchange(serve().address, line)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"vigil_t_value" not in reply and not reply.endswith(b"<still open>")


def test_oversized_request_head_is_refused(serve) -> None:
    reply = _exchange(serve().address, b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 40000)
    assert reply.startswith(b"HTTP/1.1 431 ")


def test_deadline_covers_the_whole_request_head(serve) -> None:
    """A client trickling bytes is cut off at the deadline; per-read timeouts never fire."""
    server = serve(timeout=0.5)
    with socket.create_connection(server.address) as sock:
        started = time.monotonic()
        closed_after = None
        for byte in b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: yes":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
            except ConnectionResetError:  # closed with unread bytes pending: a reset
                closed_after = time.monotonic() - started
                break
        assert closed_after is not None, "a trickling client kept its connection"
        assert closed_after < 3


def test_connection_bound_makes_room_for_complete_requests(serve) -> None:
    server = serve(limits=ServerLimits(max_connections=8, request_timeout=30))
    idle = [socket.create_connection(server.address) for _ in range(30)]
    try:
        for sock in idle:
            sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # never finished
        for _ in range(5):
            assert requests.get(server.url + "/metrics", timeout=5).status_code == 200
        assert server.evicted_total >= 30 - 8
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize(("flag", "value"), [
    ("--web.max-connections", "0"), ("--web.request-timeout", "nan"),
    ("--web.request-timeout", "1e9"), ("--web.max-response-bytes", "10"),
])
def test_server_limit_flags_are_checked(tmp_path: Path, flag: str, value: str) -> None:
    config = write(tmp_path / "host.yml", "{}\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("vigil")), "exporter", "host", "--config", str(config),
         flag, value], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"config error: {flag}: expected" in result.stderr
