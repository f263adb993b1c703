"""Suite-wide settings, and what the whole suite shares.

Property tests explore new random examples on a developer's machine, but in CI
(`CI=true`) they replay a fixed sequence: a run that lands must not fail on an example
nobody has seen, and a run that failed can be reproduced.

`make test` spreads the tests over pytest-xdist workers (`--dist loadgroup`). A
session or module fixture is made once per worker, so the few that start something
costly (the end-to-end stack, the demo in a terminal, `vigil check` with every
promtool unit test) are listed in :data:`ONE_WORKER`: every test that uses one runs
on the same worker, and the fixture is made once for the whole run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# Fixture name -> the xdist group of every test that uses it.
ONE_WORKER = {
    "e2e": "e2e-stack",
    "unattended": "demo-terminal",
    "vigil_check": "vigil-check",
}
# `vigil check` runs every promtool unit test of the default spec: minutes of CPU on a
# busy host, paid in the setup of whichever test asks first.
CHECK_TIMEOUT = 900  # seconds

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, group in ONE_WORKER.items():
            if fixture in item.fixturenames:
                item.add_marker(pytest.mark.xdist_group(group))
                break
        if "vigil_check" in item.fixturenames and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(CHECK_TIMEOUT))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run when pytest-xdist would split a group without a word.

    pytest-xdist (3.8) passes a test's group to the scheduler as an ``@group`` suffix
    of its node id; on pytest 9.2 the suffix no longer sticks (pytest-xdist#1386), and
    every shared stack would then start once per worker.
    """
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"pytest-xdist does not see the group of {lost[0]} and "
                                f"{len(lost) - 1} more tests (pytest-xdist#1386): use a pytest "
                                "that pyproject.toml allows, or TEST_WORKERS=0")


@pytest.fixture(scope="session")
def vigil_check() -> subprocess.CompletedProcess[str]:
    """`vigil check` on the repository, run once: the verdict every test that needs it reads.

    It renders slo/spec.yaml, compares the result with the committed files and runs
    promtool and amtool on the rendered set, every generated promtool unit test
    included; those tests cost more than anything else the generator's suite does, so
    they run here once instead of once per test that wants to know they pass.
    """
    return subprocess.run([sys.executable, "-m", "generator.cli", "check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=CHECK_TIMEOUT - 60)
