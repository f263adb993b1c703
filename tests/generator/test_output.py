"""Atomic writes of generated files."""

from __future__ import annotations

from pathlib import Path

from generator import output

ROOT = Path(__file__).resolve().parents[2]


def test_write_atomically_reports_only_changed_files(tmp_path):
    assert output.write_atomically(tmp_path, {"a/b.txt": "1\n", "c.txt": "2\n"}) == ["a/b.txt", "c.txt"]
    assert output.write_atomically(tmp_path, {"a/b.txt": "1\n", "c.txt": "3\n"}) == ["c.txt"]
    assert (tmp_path / "c.txt").read_text() == "3\n"
    assert [p.name for p in tmp_path.rglob(".*")] == []  # no temporary files left behind
