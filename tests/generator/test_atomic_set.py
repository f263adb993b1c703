"""`vigil generate` switches its outputs as one set, and `vigil check` sees every file
Prometheus would load.

Crashes are real: a child process is killed with SIGKILL at a chosen point of the
write (and at random points of a real `vigil generate`), full and read-only disks are
real tmpfs mounts (skipped where mounting is not allowed).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import commands, output, prometheus_config
from generator.commands import render
from generator.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
SMALL_SPEC = ROOT / "slo/examples/custom-service.yaml"


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory) -> tuple[dict[str, str], dict[str, str], Path, Path]:
    """Two complete sets of outputs in which every file differs (their headers name
    different spec files), and the two spec files."""
    base = tmp_path_factory.mktemp("specs")
    first, second = base / "first.yaml", base / "second.yaml"
    # its own links, so that `vigil generate` prints only what these tests are about
    text = SMALL_SPEC.read_text().replace(
        "version: 1\n", "version: 1\ngrafana_url: https://grafana.shop.internal\n"
        "runbook_url: https://wiki.shop.internal/runbooks\n", 1)
    first.write_text(text)
    second.write_text(text.replace("warning: 1000", "warning: 2000"))
    old, new = render(load_spec(first)), render(load_spec(second))
    assert old.keys() == new.keys() and all(old[p] != new[p] for p in old)
    return old, new, first, second


def _on_disk(root: Path, paths) -> dict[str, str | None]:
    return {p: output.current_text(root / p) for p in paths}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*"))


def _which_set(root: Path, old: dict[str, str], new: dict[str, str]) -> str:
    seen = _on_disk(root, old)
    if seen == old:
        return "old"
    if seen == new:
        return "new"
    return "mixed"


_CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    from generator import output
    root, files_path, where, after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    files = json.loads(Path(files_path).read_text())
    calls = 0
    def dying(real):
        def call(*args, **kwargs):
            global calls
            if calls == after:
                os.kill(os.getpid(), signal.SIGKILL)
            calls += 1
            return real(*args, **kwargs)
        return call
    if where == "stage":
        output._write = dying(output._write)
    else:
        output.os.replace = dying(os.replace)
    output.write_atomically(Path(root), files)
""")


@pytest.mark.parametrize(("where", "after"), [("stage", 0), ("stage", 7), ("stage", 15),
                                              ("switch", 0), ("switch", 1), ("switch", 14)])
def test_kill_9_at_any_step_leaves_one_whole_set(tmp_path, two_sets, where, after):
    """Killed while staging: the old set, and the next write discards the staging.
    Killed while switching: the journal is there, and the next write finishes the switch."""
    old, new, _, _ = two_sets
    output.write_atomically(tmp_path, old)
    files = tmp_path / "files.json"
    files.write_text(json.dumps(new))
    result = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path), str(files), where,
                             str(after)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr
    files.unlink()
    state = _which_set(tmp_path, old, new)
    if where == "stage":
        assert state == "old"
    else:  # decided: `vigil check` reports the interruption until it is finished
        assert output.interrupted(tmp_path)
        assert any("interrupted" in p for p in output.drift(tmp_path, new, ()))
    output.recover(tmp_path)  # what every `vigil generate` does first
    assert _which_set(tmp_path, old, new) == ("old" if where == "stage" else "new")
    assert _leftovers(tmp_path) == []


def test_kill_9_at_random_points_of_vigil_generate(tmp_path, two_sets):
    """A real `vigil generate` process, killed at random moments (bounded loop)."""
    old, new, first, second = two_sets
    output.write_atomically(tmp_path, old)
    rng = random.Random(8)
    outcomes = []
    sets = {"old": old, "new": new}
    current = "old"
    for _ in range(8):
        target = "new" if current == "old" else "old"
        spec = second if target == "new" else first
        process = subprocess.Popen(
            [sys.executable, "-m", "generator.cli", "generate", "--skip-tool-checks",
             "--spec", str(spec), "--out", str(tmp_path)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        output.recover(tmp_path)
        state = _which_set(tmp_path, sets["old"], sets["new"])
        assert state in ("old", "new"), state
        assert _leftovers(tmp_path) == []
        outcomes.append(state == target)
        current = state
    assert len(outcomes) == 8


def test_a_staging_directory_in_use_is_not_touched(tmp_path, two_sets):
    old, new, _, _ = two_sets
    output.write_atomically(tmp_path, old)
    staging = tmp_path / output.STAGING
    staging.mkdir()
    fd = os.open(staging, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(output.OutputError, match="another `vigil generate` is writing"):
            output.write_atomically(tmp_path, new)
    finally:
        os.close(fd)
    assert staging.is_dir() and _which_set(tmp_path, old, new) == "old"


@pytest.fixture
def mount_point(tmp_path) -> Iterator[Path]:
    where = tmp_path / "mnt"
    yield where
    if where.is_mount():
        subprocess.run(["umount", str(where)], check=True)


def _mount(where: Path, size: str) -> None:
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


def _generate(spec: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator.cli", "generate",
                           "--skip-tool-checks", "--spec", str(spec), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_full_disk_keeps_the_old_set_and_leaves_no_temp_files(mount_point, two_sets):
    old, new, _, second = two_sets
    size = sum(len(t.encode()) for t in old.values())
    _mount(mount_point, f"{size * 3 // 2 // 1024 + 64}k")  # room for one set, not for two
    output.write_atomically(mount_point, old)
    result = _generate(second, mount_point)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert _which_set(mount_point, old, new) == "old"
    assert _leftovers(mount_point) == []


def test_read_only_directory_gives_one_line(mount_point, two_sets):
    old, new, _, second = two_sets
    _mount(mount_point, "4m")
    output.write_atomically(mount_point, old)
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
    result = _generate(second, mount_point)
    assert result.returncode == 1
    assert result.stderr == (f"vigil generate: cannot write into {mount_point}: "
                             "Read-only file system; nothing was changed\n")
    assert _which_set(mount_point, old, new) == "old"
    assert _leftovers(mount_point) == []


def test_out_naming_a_file_gives_one_line(tmp_path, two_sets):
    target = tmp_path / "file"
    target.write_text("x")
    result = _generate(two_sets[2], target)
    assert result.returncode == 1
    assert result.stderr == (f"vigil generate: cannot write into {target}: not a directory; "
                             "nothing was changed\n")
    assert target.read_text() == "x"


def test_rejected_output_writes_nothing(tmp_path, two_sets, monkeypatch, capsys):
    """promtool's verdict comes before the write: a rule it refuses never lands."""
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed")
    old, _, first, _ = two_sets
    output.write_atomically(tmp_path, old)
    real = commands.render

    def broken(spec):
        files = real(spec)
        files["alert_rules/vigil.rules.yml"] += "  - this is not a rule group\n"
        return files

    monkeypatch.setattr(commands, "render", broken)
    assert commands.generate(first, tmp_path) == 1
    assert "FAILED: promtool check rules" in capsys.readouterr().err
    assert _on_disk(tmp_path, old) == old


def test_hidden_rule_file_that_prometheus_loads_fails_the_check(tmp_path, two_sets):
    old, _, _, _ = two_sets
    output.write_atomically(tmp_path, old)
    (tmp_path / "alert_rules/.hidden.rules.yml").write_text(
        "groups:\n- name: x\n  rules:\n  - alert: Injected\n    expr: vector(1)\n")
    if shutil.which("promtool"):  # Prometheus's own glob does load it
        loaded = subprocess.run(["promtool", "check", "config", prometheus_config.CONFIG_FILE],
                                cwd=tmp_path, capture_output=True, text=True)
        assert ".hidden.rules.yml" in loaded.stdout + loaded.stderr
    problems = output.drift(tmp_path, old, commands.MANAGED_DIRS, prometheus_config.rule_globs())
    assert problems == ["alert_rules/.hidden.rules.yml: not generated by the spec, but "
                        "Prometheus loads it (rule_files alert_rules/*.rules.yml)"]
    (tmp_path / "alert_rules/.hidden.rules.yml").unlink()
    os.mkfifo(tmp_path / "dashboards/.pipe")
    assert output.drift(tmp_path, old, commands.MANAGED_DIRS, prometheus_config.rule_globs()) \
        == ["dashboards/.pipe: not generated by the spec (stale)"]
