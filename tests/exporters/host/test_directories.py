"""Directory budgets: a directory's size against its budget, as filesystem series.

Used bytes are checked against the real `du`; the attacks are a symbolic-link loop, a
hard link counted twice, a tree far larger than its entry bound and an unreadable
subdirectory; a failed walk is reported truthfully and recovers by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from exporters.common.config import ConfigError, ConfigNode
from exporters.host import build
from exporters.host.directories import DirectoryBudget, usage
from tests.exporters.host.test_host_exporter import _as_nobody, _symlink_loops, success

LABELS = (("device", "directory"), ("fstype", "directory"))


def _series(samples: dict, name: str, path: Path) -> float | None:
    return samples.get((f"vigil_host_filesystem_{name}", tuple(sorted(
        (*LABELS, ("mountpoint", str(path)))))))


def _scrape(exporter, parse_samples) -> dict:
    for task in exporter.tasks:
        task.run_once()
    return parse_samples(generate_latest(exporter.registry).decode())


def _tree(root: Path) -> None:
    (root / "a/b").mkdir(parents=True)
    (root / "a/one.bin").write_bytes(os.urandom(100_000))
    (root / "a/b/two.bin").write_bytes(os.urandom(3_000))
    with open(root / "sparse.img", "wb") as sparse:  # 10 MB apparent, one block written
        sparse.seek(10_000_000)
        sparse.write(b"x")
    os.link(root / "a/one.bin", root / "hardlink.bin")
    _symlink_loops(root / "a/b")


@pytest.mark.skipif(shutil.which("du") is None, reason="du not installed")
def test_used_bytes_are_dus_and_served_as_a_filesystem(tmp_path: Path, parse_samples) -> None:
    spool = tmp_path / "spool"
    _tree(spool)
    du = int(subprocess.run(["du", "-s", "-B1", str(spool)], capture_output=True, text=True,
                            check=True).stdout.split()[0])
    top = os.lstat(spool).st_blocks * 512  # du counts the directory itself
    assert usage(DirectoryBudget(str(spool), 1)) == du - top
    budget = 4 * du
    config = ConfigNode({"directories": {"budgets": [
        {"path": str(spool), "budget_bytes": budget}]}}, str(tmp_path / "host.yml"))
    samples = _scrape(build(config), parse_samples)
    assert success(samples, f"directory:{spool}") == 1
    assert _series(samples, "size_bytes", spool) == budget
    assert _series(samples, "avail_bytes", spool) == budget - (du - top)
    assert _series(samples, "used_ratio", spool) == pytest.approx((du - top) / budget)


def test_a_directory_over_its_budget_reads_above_one(tmp_path: Path, parse_samples) -> None:
    (tmp_path / "full.bin").write_bytes(os.urandom(64 * 1024))
    config = ConfigNode({"directories": {"budgets": [
        {"path": str(tmp_path), "budget_bytes": 16 * 1024}]}}, "host.yml")
    samples = _scrape(build(config), parse_samples)
    assert _series(samples, "used_ratio", tmp_path) > 3
    assert _series(samples, "avail_bytes", tmp_path) == 0


def test_a_tree_past_its_entry_bound_fails_truthfully_and_recovers(tmp_path: Path,
                                                                   parse_samples) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    for n in range(60):
        (spool / f"f{n}").write_bytes(b"x")
    exporter = build(ConfigNode({"directories": {"budgets": [
        {"path": str(spool), "budget_bytes": 1 << 20, "max_entries": 50}]}}, "host.yml"))
    samples = _scrape(exporter, parse_samples)
    assert success(samples, f"directory:{spool}") == 0
    assert _series(samples, "used_ratio", spool) is None  # withheld, never "0 % used"
    # the mounts are another collector: still there
    assert any(name == "vigil_host_filesystem_used_ratio" for name, _ in samples)
    for n in range(20):
        (spool / f"f{n}").unlink()
    samples = _scrape(exporter, parse_samples)
    assert success(samples, f"directory:{spool}") == 1
    assert _series(samples, "used_ratio", spool) > 0


def test_a_missing_directory_is_a_failure_until_it_appears(tmp_path: Path,
                                                           parse_samples) -> None:
    spool = tmp_path / "later"
    exporter = build(ConfigNode({"directories": {"budgets": [
        {"path": str(spool), "budget_bytes": 1 << 20}]}}, "host.yml"))
    assert success(_scrape(exporter, parse_samples), f"directory:{spool}") == 0
    spool.mkdir()
    samples = _scrape(exporter, parse_samples)
    assert success(samples, f"directory:{spool}") == 1
    assert _series(samples, "used_ratio", spool) == 0


def test_an_unreadable_subdirectory_is_an_error_not_less_used() -> None:
    import tempfile

    top = Path(tempfile.mkdtemp())  # not under pytest's tmp_path: its parent is root's alone
    root = top / "spool"
    try:
        (root / "locked").mkdir(parents=True)
        (root / "locked/hidden.bin").write_bytes(os.urandom(50_000))
        for path in (top, root):
            path.chmod(0o755)
        (root / "locked").chmod(0)
        outcome = _as_nobody(usage, DirectoryBudget(str(root), 1 << 20))
        assert outcome[0] == "error" and f"cannot read {root / 'locked'}" in outcome[1]
    finally:
        (root / "locked").chmod(0o755)
        shutil.rmtree(top)


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        ([{"path": "/srv/a", "budget_bytes": 0}], "directories.budgets[0].budget_bytes: "
                                                  "expected an integer >= 1"),
        ([{"path": "/srv/a", "budget_bytes": "10GB"}], "directories.budgets[0].budget_bytes: "
                                                       "expected an integer"),
        ([{"path": "/srv/a", "budget_bytes": 1}, {"path": "/srv/a/", "budget_bytes": 1}],
         "directories.budgets[1].path: duplicate directory '/srv/a'"),
        ([{"path": "/srv/a", "budget_bytes": 1, "max_entries": 10**9}],
         "directories.budgets[0].max_entries: expected an integer <= 10000000"),
        ([{"path": "/srv/a", "budget": 1}], "directories.budgets[0].budget: unknown key"),
        ([], "directories.budgets: expected at least one directory"),
    ],
)
def test_config_errors(budgets: list, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(ConfigNode({"directories": {"budgets": budgets}}, "host.yml"))
    assert str(caught.value).startswith(f"host.yml: {message}")
