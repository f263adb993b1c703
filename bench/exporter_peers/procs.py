"""Child processes the benchmark starts, stops and measures.

Every process is started in its own session so that Ctrl-C in the terminal
reaches only the benchmark, which then stops each child itself, by process
group id, in a `finally`. CPU and memory are read from /proc rather than from
a library so that the figures are exactly the kernel's utime+stime and
VmRSS/VmHWM, for the process and any children it forks.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class StartError(RuntimeError):
    """A child exited or never became ready; the message carries its log tail."""


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class ManagedProcess:
    """One long-running child with its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, f"{self.name} was never started"
        return self._proc.pid

    def start(self) -> None:
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )

    def exited(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def log_tail(self) -> str:
        return _log_tail(self.log_path)

    def stop(self, grace_seconds: float = 5.0) -> None:
        """SIGTERM the child's process group, then SIGKILL after the grace period."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def wait_http_ready(self, port: int, path: str, timeout_seconds: float) -> None:
        """Poll http://127.0.0.1:port/path until it answers 200, the child dies, or time runs out."""
        deadline = time.monotonic() + timeout_seconds
        last_error = "no answer"
        while time.monotonic() < deadline:
            code = self.exited()
            if code is not None:
                raise StartError(
                    f"{self.name} exited with status {code} before it was ready:\n"
                    f"{self.log_tail()}"
                )
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
            except OSError as exc:
                last_error = str(exc)
            finally:
                conn.close()
            time.sleep(0.1)
        raise StartError(
            f"{self.name} not ready on 127.0.0.1:{port}{path} after {timeout_seconds:.0f} s "
            f"({last_error}):\n{self.log_tail()}"
        )


def _read_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces; everything after the last ')' is fixed-width.
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """The root pid and all its descendants, found by scanning /proc for parent ids.

    /proc/<pid>/task/<tid>/children is not compiled into every kernel, so the
    parent links are read from each /proc/<pid>/stat instead.
    """
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _read_stat(int(entry.name))
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """utime+stime of the tree, plus the root's reaped children (cutime+cstime)."""
    total_ticks = 0
    for pid in process_tree(root):
        fields = _read_stat(pid)
        if fields is None:
            continue
        # After "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14.
        total_ticks += int(fields[11]) + int(fields[12])
        if pid == root:
            total_ticks += int(fields[13]) + int(fields[14])
    return total_ticks / CLOCK_TICKS


@dataclass(frozen=True)
class Memory:
    """Resident memory in bytes, summed over the process tree.

    RssAnon is what the process allocated itself (heap, stacks); RssFile is
    mapped files (its executable, shared libraries, Python extension
    modules), pages the kernel can share with other processes mapping them.
    """

    rss_bytes: int
    hwm_bytes: int
    anon_bytes: int = 0
    file_bytes: int = 0


def memory(root: int) -> Memory:
    """VmRSS, VmHWM (peak RSS), RssAnon and RssFile from /proc/<pid>/status, summed over the tree."""
    totals = {"VmRSS": 0, "VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    for pid in process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key in totals:
                totals[key] += int(value.split()[0]) * 1024
    return Memory(totals["VmRSS"], totals["VmHWM"], totals["RssAnon"], totals["RssFile"])


_FLOOR_PROBE = (
    "import importlib, sys\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "for line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'):\n"
    "        print(int(line.split()[1]) * 1024)\n"
)


def python_rss_floor(python: Path, modules: list[str]) -> int | None:
    """VmRSS of a fresh interpreter that has only imported `modules` (bytes).

    This separates what a Python exporter pays before it collects anything
    (interpreter, prometheus_client, psycopg...) from its working set.
    """
    try:
        result = subprocess.run([str(python), "-c", _FLOOR_PROBE, *modules],
                                capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return int(result.stdout.strip())
