"""`vigil exporter ...` as a real process: serving, SIGTERM, config errors."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

VIGIL = Path(sys.executable).with_name("vigil")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIGIL), "exporter", *args], capture_output=True, text=True,
                          timeout=30)


def wait_healthy(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("exporter did not become healthy")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serves_then_exits_cleanly_on_signal(tmp_path: Path, free_port, scrape, sig) -> None:
    config = tmp_path / "host.yml"
    config.write_text("filesystems: {timeout: 1s}\n")
    port = free_port()
    proc = subprocess.Popen(
        [str(VIGIL), "exporter", "host", "--config", str(config),
         "--web.listen-address", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        samples = scrape(url + "/metrics")
        assert samples[("vigil_host_collector_success", (("collector", "cpu"),))] == 1
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"received {sig.name}, shutting down" in err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("tcp_targets:\n  - address: a:1\n  - address: b:2\n  - address: nope\n",
         "tcp_targets[2].address: expected \"host:port\", got 'nope'"),
        ("filesystem: {}\n", "filesystem: unknown key"),
        ("backups:\n  kinds:\n    - paths: [/tmp]\n", "backups.kinds[0].kind: required key is missing"),
        ("tcp_targets: [\n", "line 2: invalid YAML"),
    ],
)
def test_config_errors_exit_2_naming_the_key(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "host.yml"
    path.write_text(config)
    result = run("host", "--config", str(path))
    assert result.returncode == 2
    assert f"config error: {path}: {message}" in result.stderr


def test_other_startup_errors(tmp_path: Path, free_port) -> None:
    config = tmp_path / "host.yml"
    config.write_text("{}\n")
    missing = run("host", "--config", str(tmp_path / "absent.yml"))
    assert missing.returncode == 2 and "absent.yml: cannot read config file" in missing.stderr
    bad_listen = run("host", "--config", str(config), "--web.listen-address", "nowhere")
    assert bad_listen.returncode == 2 and "--web.listen-address" in bad_listen.stderr
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users: {prometheus: plain}\n")
    bad_web = run("host", "--config", str(config), "--web.config.file", str(web))
    assert bad_web.returncode == 2
    assert f"{web}: basic_auth_users.prometheus: expected a bcrypt hash" in bad_web.stderr
    assert run("nosuch", "--config", str(config)).returncode == 2
