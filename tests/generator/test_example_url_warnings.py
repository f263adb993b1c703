"""`vigil generate` and `vigil check` warn while runbook_url or grafana_url is the example."""

from __future__ import annotations

import re
import shutil

from generator import commands
from generator.spec_schema import EXAMPLE_URLS
from tests.generator.conftest import DEFAULT_SPEC


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if ": warning: " in line]


def _line_of(path, key: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:"))


def test_generate_warns_at_the_line_and_still_writes(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    shutil.copy(DEFAULT_SPEC, spec)
    assert commands.generate(spec, tmp_path / "out", tool_checks=False) == 0
    captured = capsys.readouterr()
    warned = _warnings(captured.err)
    assert len(warned) == 2
    for key in ("grafana_url", "runbook_url"):
        (line,) = [w for w in warned if f": {key}: " in w]
        assert line.startswith(f"{spec}:{_line_of(spec, key)}: {key}: warning: ")
        assert repr(EXAMPLE_URLS[key]) in line
    assert not _warnings(captured.out)
    assert (tmp_path / "out/alert_rules/vigil.rules.yml").is_file()


def test_own_links_raise_no_warning(write_spec, tmp_path, capsys):
    def change(data):
        data["grafana_url"] = "https://grafana.shop.internal"
        data["runbook_url"] = "https://wiki.shop.internal/runbooks/"
    spec = write_spec(change)
    assert commands.generate(spec, tmp_path / "out", tool_checks=False) == 0
    assert _warnings(capsys.readouterr().err) == []


def test_an_overlay_is_pointed_at_the_file_that_sets_the_example(write_spec, tmp_path, capsys):
    base = write_spec(name="base.yaml")
    overlay = tmp_path / "staging.yaml"
    overlay.write_text("extends: base.yaml\nname: staging\n"
                       "runbook_url: https://wiki.shop.internal/runbooks\n")
    out = tmp_path / "out"
    assert commands.generate(overlay, out, tool_checks=False) == 0
    (warned,) = _warnings(capsys.readouterr().err)
    assert warned.startswith(f"{base}:{_line_of(base, 'grafana_url')}: grafana_url: warning: ")
    # `vigil check` shows the same warning, and a warning alone does not fail it
    assert commands.check(overlay, out, tool_checks=False) == 0
    assert _warnings(capsys.readouterr().err) == [warned]


def test_a_default_left_unset_is_named_without_a_line(tmp_path, capsys):
    spec = tmp_path / "small.yaml"
    text = DEFAULT_SPEC.read_text()
    spec.write_text(re.sub(r"^runbook_url: .*\n", "", text, flags=re.M))
    assert commands.generate(spec, tmp_path / "out", tool_checks=False) == 0
    warned = [w for w in _warnings(capsys.readouterr().err) if ": runbook_url: " in w]
    assert warned == [f"{spec}: runbook_url: warning: not set; the default is the example "
                      f"{EXAMPLE_URLS['runbook_url']!r}; every alert links to it "
                      "(set runbook_url to your own)"]
