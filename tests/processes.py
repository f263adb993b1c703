"""Stopping a process a test started, the way its operator would: SIGTERM, then a
bounded wait, then SIGKILL, so that no test leaves a server behind."""

from __future__ import annotations

import signal
import subprocess


def stop(proc: subprocess.Popen, timeout: float = 10) -> int:
    """SIGTERM ``proc`` if it still runs, kill it after ``timeout`` s; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
