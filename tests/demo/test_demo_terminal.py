"""`vigil demo` as a person sees it: run in a terminal (tmux), read the screen.

One unattended run (``--duration``, free ports, 2 s scrape and evaluation) is shared
by the module: its live summary must show every target up, the injected troubles as
firing alerts and their notifications with the receivers they reached; a second run
on the same run directory while it is active must say so; when it ends it prints
what fired and leaves no process, port or file behind. A second, interactive run is
stopped with Ctrl-C and must clean up the same way.

The screen is read with ``tmux capture-pane`` on a private tmux server, so what is
asserted is the rendered terminal, not the program's internals.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.demo import stack as demo_stack

ROOT = Path(__file__).resolve().parents[2]
DURATION = 130  # seconds: the trouble schedule's slowest alert (ErrorRate, for 1m) fits
TROUBLE_ALERTS = ("FailedLogins", "SuspiciousActivity", "Deadlocks", "EndpointDown", "ErrorRate")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(bool(demo_stack.missing_tools()),
                       reason="demo needs: " + "; ".join(demo_stack.missing_tools())),
]


class Terminal:
    """A tmux session on a private server: start a command, read its screen, type keys."""

    def __init__(self, name: str) -> None:
        self.socket = f"vigil-demo-test-{uuid.uuid4().hex[:8]}"
        self.name = name

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, timeout=10).stdout

    def start(self, command: str) -> None:
        # The shell stays after the command, so the final screen can still be read.
        self._tmux("new-session", "-d", "-s", self.name, "-x", "250", "-y", "60",
                   f"{command}; echo DEMO-EXIT=$?; sleep 600")

    def screen(self) -> str:
        """Everything printed so far, as rendered (scrollback included)."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name)

    def visible(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def wait_for(self, pattern: str, timeout: float, *, visible: bool = False) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            # Whether the command has ended is read before the screen is searched: read
            # after, a command ending in between would look as if it never showed it.
            ended = "DEMO-EXIT=" in self.screen()
            text = self.visible() if visible else self.screen()
            found = re.search(pattern, text)
            if found:
                return found
            if ended:
                break  # the command ended without showing it
            time.sleep(0.5)
        raise AssertionError(f"{pattern!r} not on the screen within {timeout:g}s:\n"
                         f"{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       check=False, timeout=10)


def demo_command(run_dir: Path, *extra: str) -> str:
    # tmux passes on COLUMNS/LINES from the environment it starts in; the pane's own size
    # must win, as in a terminal a person opens.
    return (f"cd {ROOT} && env -u COLUMNS -u LINES {sys.executable} -m generator.cli demo "
            f"--free-ports "
            f"--scrape-interval 2s --evaluation-interval 2s --run-dir {run_dir} "
            + " ".join(extra))


def ports_on(screen: str) -> set[int]:
    """Every loopback port printed in the URLs panel."""
    return {int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", screen)}


def processes_using(run_dir: Path) -> list[str]:
    """Command lines of running processes that mention ``run_dir``."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines()
            if str(run_dir) in line and "tmux" not in line and "DEMO-EXIT" not in line]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def unattended() -> Iterator[dict]:
    """The shared run: started, watched while active, and read again after it ended."""
    base = Path(tempfile.mkdtemp(prefix="vigil-demo-test-"))
    run_dir = base / "run"
    terminal = Terminal("unattended")
    terminal.start(demo_command(run_dir, f"--duration {DURATION}s"))
    result: dict = {"run_dir": run_dir, "terminal": terminal}
    try:
        terminal.wait_for(r"Targets up: 7/7", 120)
        # While it runs: a second run on the same directory.
        second = subprocess.run(
            [sys.executable, "-m", "generator.cli", "demo", "--free-ports", "--run-dir",
             str(run_dir), "--duration", "10s"],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
        result["second"] = second
        result["ports"] = ports_on(terminal.wait_for(r"(?s)URLs.*database\s+postgresql://\S+", 30,
                                                     visible=True).group(0))
        # The live screen when the last trouble's alert is firing.
        result["live"] = terminal.wait_for(r"Firing now: .*ErrorRate", DURATION + 30,
                                           visible=True).string
        terminal.wait_for(r"DEMO-EXIT=\d+", DURATION + 60)
        result["final"] = terminal.screen()
        yield result
    finally:
        terminal.close()
        shutil.rmtree(base, ignore_errors=True)


def test_live_summary_shows_every_target_up_and_the_startup_time(unattended):
    live = unattended["live"]
    # The four exporters, the incident recorder, and Prometheus and Alertmanager themselves.
    assert re.search(r"Targets up: 7/7\s+alertmanager up\s+prometheus up\s+vigil-host up"
                     r"\s+vigil-http up\s+vigil-incidents up\s+vigil-postgres up\s+vigil-sql up",
                     live), live
    figure = re.search(r"vigil demo: all 7 targets up in (\d+\.\d)s", unattended["final"])
    assert figure, unattended["final"]
    print(f"demo: all targets up {figure.group(1)} s after `vigil demo` started")


def test_injected_troubles_show_as_firing_alerts(unattended):
    firing_line = next(line for line in unattended["live"].splitlines()
                       if line.startswith("Firing now: "))
    for alert in TROUBLE_ALERTS:
        assert alert in firing_line, (alert, firing_line)


def test_notifications_reached_the_right_receivers(unattended):
    live = unattended["live"]
    assert re.search(r"Notifications received: (\d+)", live)
    final = unattended["final"]
    expected = [
        r"FailedLogins \(warning\) firing via signal-failed_logins-warning reached it_admin, "
        r"security_team",
        r"SuspiciousActivity \(critical\) firing via signal-suspicious_activity-critical "
        r"reached cto, security_team",
        r"Deadlocks \(critical\) firing via severity-critical reached cto, on_call_engineer, "
        r"team_lead",
        r"EndpointDown \(critical\) firing via severity-critical reached cto, "
        r"on_call_engineer, team_lead",
        r"ErrorRate \(critical\) firing via severity-critical reached cto, on_call_engineer, "
        r"team_lead",
        r"AvailabilityBudgetBurn \(critical\) firing via severity-critical",
    ]
    for pattern in expected:
        assert re.search(pattern, final), (pattern, final)
    # The payments API came back within the run: its alert resolved, and was told so.
    assert re.search(r"EndpointDown \(critical\) resolved via severity-critical", final), final


def test_a_second_run_while_one_is_active_says_so(unattended):
    second = unattended["second"]
    assert second.returncode == 3, (second.stdout, second.stderr)
    assert re.search(r"another vigil demo is already running \(pid \d+",
                     " ".join(second.stderr.split())), second.stderr


def test_the_unattended_run_ends_by_itself_and_leaves_nothing(unattended):
    final = unattended["final"]
    assert "DEMO-EXIT=0" in final
    assert re.search(r"vigil demo: ran \d+s", final)
    assert "vigil demo: done; run directory removed" in final
    assert not unattended["run_dir"].exists()
    assert processes_using(unattended["run_dir"]) == []
    assert len(unattended["ports"]) >= 9
    assert [p for p in unattended["ports"] if listening(p)] == []


def test_a_second_run_in_a_row_works_and_ctrl_c_stops_everything(unattended):
    # Runs after the unattended run ended (it depends on the module fixture), on the
    # same run directory: a second run in a row, then Ctrl-C.
    run_dir = unattended["run_dir"]
    terminal = Terminal("interactive")
    try:
        terminal.start(demo_command(run_dir))
        terminal.wait_for(r"Targets up: 7/7", 120)
        screen = terminal.wait_for(r"(?s)URLs.*database\s+postgresql://\S+", 30, visible=True)
        ports = ports_on(screen.group(0))
        assert processes_using(run_dir), "the demo should be running"
        assert all(listening(p) for p in ports if p != 0)
        terminal.keys("C-c")
        final = terminal.wait_for(r"DEMO-EXIT=\d+", 60).string
    finally:
        terminal.close()
    assert "DEMO-EXIT=0" in final
    assert "vigil demo: stopped; run directory removed" in final
    assert not run_dir.exists()
    assert processes_using(run_dir) == []
    assert [p for p in ports if listening(p)] == []
