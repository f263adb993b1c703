"""The demo's parts that need no whole stack: the webhook receiver, the run lock, flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from generator.demo.receiver import MAX_BODY_BYTES, WebhookReceiver
from generator.demo.stack import PID_FILE, ActiveRunError, Ports, Stack, StackError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver():
    hook = WebhookReceiver()
    hook.start()
    yield hook
    hook.stop()


def test_receiver_records_each_alert_with_who_it_reached(receiver):
    payload = {"receiver": "signal-failed_logins-warning", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "FailedLogins", "severity": "warning",
                                        "team": "security", "priority": "P2"}},
        {"status": "resolved", "labels": {"alertname": "FailedLogins", "severity": "warning",
                                          "team": "security", "priority": "P2", "instance": "b"}},
    ]}
    response = requests.post(f"{receiver.url}/security_team", json=payload, timeout=5)
    assert response.status_code == 200
    first, second = receiver.notifications
    assert (first.receiver, first.recipient, first.status, first.alertname, first.severity,
            first.team, first.priority) == ("signal-failed_logins-warning", "security_team",
                                            "firing", "FailedLogins", "warning", "security", "P2")
    assert second.status == "resolved"
    assert receiver.matching(alertname="FailedLogins", status="resolved") == [second]
    assert receiver.matching(instance="b") == [second]


def test_receiver_refuses_what_is_not_a_notification(receiver):
    too_big = b"{" + b" " * MAX_BODY_BYTES + b"}"
    assert requests.post(receiver.url, data=too_big, timeout=10).status_code == 413
    assert requests.post(receiver.url, data=b"not json", timeout=5).status_code == 400
    assert requests.post(receiver.url, data=json.dumps({"alerts": "x"}), timeout=5).status_code == 200
    assert receiver.notifications == []


def test_a_live_pid_file_means_another_run_and_nothing_is_touched(tmp_path):
    (tmp_path / PID_FILE).write_text(f"{os.getppid()}\n")  # a process that is alive
    (tmp_path / "data").mkdir()
    with pytest.raises(ActiveRunError, match=rf"already running \(pid {os.getppid()}"):
        Stack(tmp_path).start()
    assert (tmp_path / "data").is_dir()
    assert (tmp_path / PID_FILE).read_text() == f"{os.getppid()}\n"


def test_a_stale_pid_file_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / PID_FILE).write_text(f"{dead.pid}\n")
    (tmp_path / "leftover.log").write_text("from a killed run")
    stack = Stack(tmp_path, Ports.free())
    stack._claim_run_dir()
    try:
        assert (tmp_path / PID_FILE).read_text() == f"{os.getpid()}\n"
        assert not (tmp_path / "leftover.log").exists()
    finally:
        stack.stop()
    assert not tmp_path.exists()  # the run directory goes with the run


def test_port_base_out_of_range_is_a_clear_error():
    with pytest.raises(StackError, match="port base 80: expected 1024"):
        Ports.from_base(80)
    assert Ports.from_base().prometheus == 19790


@pytest.mark.parametrize("flags, message", [
    (["--duration", "10x"], 'expected a duration such as "30s"'),
    (["--duration", "30d"], "at most 7d"),
    (["--scrape-interval", "5m"], "from 1s to 60s"),
    (["--port-base", "1", "--free-ports"], "not allowed with argument"),
])
def test_bad_flags_exit_2_with_the_reason(flags, message):
    result = subprocess.run([sys.executable, "-m", "generator.cli", "demo", *flags], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
