"""Specs that used to validate but produced rules that could never fire or files that
Prometheus, promtool or amtool refuse: reserved selector labels, out-of-range durations,
thresholds that make an alert always on, and inputs that hang or exhaust memory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator import inputs, rules
from generator.loader import SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]


def _errors(path: Path) -> str:
    with pytest.raises(SpecError) as err:
        load_spec(path)
    return err.value.render()


@pytest.mark.parametrize("label", ["job", "instance", "severity", "__name__", "__meta_x",
                                   "alertname", "le", "mode"])
def test_reserved_selector_labels_are_refused(write_spec, label):
    path = write_spec(lambda d: d.__setitem__("selectors", {label: "x"}))
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: selectors\.{label}: .*reserved.*",
                        _errors(path)), _errors(path)


def test_every_label_the_generated_rules_set_is_reserved(write_spec, default_spec_data):
    """Not a hand-kept list: each label any generated rule sets is refused as a selector."""
    spec = load_spec(write_spec())
    set_by_rules = {name for group in rules.rule_groups(spec) for rule in group["rules"]
                    for name in rule.get("labels", {})} - set(default_spec_data["selectors"])
    assert {"severity", "priority", "team", "signal", "slo", "window",
            "escalation_level"} <= set_by_rules
    for label in sorted(set_by_rules):
        path = write_spec(lambda d, lab=label: d.__setitem__("selectors", {lab: "x"}))
        assert f"selectors.{label}: '{label}' is a reserved label" in _errors(path)


def test_ordinary_selector_is_accepted(write_spec):
    spec = load_spec(write_spec(lambda d: d.__setitem__("selectors", {"region": "eu"})))
    assert spec.selectors == {"region": "eu"}


def _set(dotted: str, value):
    def change(data):
        *parents, last = dotted.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[last] = value
    return change


@pytest.mark.parametrize(("dotted", "value", "message"), [
    ("signals.cpu_usage.for", "1000000y", "expected a duration of at most 1d"),
    ("defaults.for", "2d", "expected a duration of at most 1d"),
    ("duplicate_suppression", "1000y", "expected a duration of at most 1d"),
    ("slos.availability.period", "2y", "expected a duration of at most 365d"),
    ("signals.cpu_usage.for", "0.5ms", "expected a whole number of milliseconds"),
])
def test_durations_beyond_what_prometheus_accepts_are_spec_errors(write_spec, dotted, value,
                                                                  message):
    path = write_spec(_set(dotted, value))
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: {re.escape(dotted)}: {re.escape(message)}",
                        _errors(path)), _errors(path)


def test_escalation_after_is_bounded(write_spec):
    def change(data):
        data["severities"]["critical"]["escalation"][-1]["after"] = "1000y"
    path = write_spec(change)
    errors = _errors(path)
    assert re.search(r":\d+: severities\.critical\.escalation\[\d+\]\.after: expected a "
                     r"duration of at most 1w", errors), errors


def test_compound_durations_are_written_as_prometheus_reads_them(write_spec):
    spec = load_spec(write_spec(_set("signals.cpu_usage.for", "1500ms")))
    text = rules.outputs(spec)[rules.RULES_FILE]
    assert "for: 1s500ms" in text


@pytest.mark.parametrize(("signal", "value", "reason"), [
    ("cpu_usage", "0%", "would fire whenever it is not exactly 0"),
    ("failed_logins", "0/h", "would fire on every single event; write `any`"),
    ("active_users", "< 0", "can never fire"),
    ("active_users", "-1", "would fire all the time"),
    ("throughput", "< 0/s", "can never fire"),
    ("response_time", "0s", "would fire whenever it is not exactly 0"),
    ("error_rate", "100%", "can never fire: a ratio is never above 100%"),
])
def test_always_on_and_never_on_thresholds_are_refused(write_spec, signal, value, reason):
    def change(data):
        entry = data["signals"].setdefault(signal, {})
        for key in [k for k in entry if k in data["severities"]]:
            del entry[key]
        entry["info"] = value
    path = write_spec(change)
    errors = _errors(path)
    assert f"signals.{signal}.info: {value!r} {reason}" in errors, errors


def test_custom_signal_in_a_signed_unit_may_use_negative_thresholds(write_spec):
    def change(data):
        data["signals"]["balance"] = {"expr": "sum(account_balance{$sel})", "unit": "currency",
                                      "direction": "below", "warning": "-100"}
    spec = load_spec(write_spec(change))
    assert spec.signals["balance"].thresholds[0].value == -100


# Inputs ---------------------------------------------------------------------------------

def _vigil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_alias_bomb_is_refused(tmp_path):
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines.append("signals: *a8")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert _errors(path) == (f"{path}: refused: aliases would expand the document by more "
                             "than the 10000 nodes allowed")


def test_aliases_within_the_bound_still_work(write_spec, tmp_path):
    text = write_spec().read_text()
    path = tmp_path / "aliased.yaml"
    path.write_text(text.replace("signals:", "x-shared: &shared {warning: 80%}\nsignals:", 1)
                    .replace("cpu_usage:", "cpu_usage: *shared\n  old_cpu_usage:", 1))
    with pytest.raises(SpecError) as err:  # x-shared is an unknown key: parsed, then checked
        load_spec(path)
    assert "x-shared: unknown key" in err.value.render()


def test_recursive_alias_and_deep_nesting_are_refused(tmp_path):
    recursive = tmp_path / "recursive.yaml"
    recursive.write_text("version: 1\nsignals: &a [*a]\n")
    assert "an alias refers to a node that contains it" in _errors(recursive)
    deep = tmp_path / "deep.yaml"
    deep.write_text("version: 1\nsignals: " + "[" * 500 + "]" * 500 + "\n")
    assert "nested deeper than 64 levels" in _errors(deep)


@pytest.mark.parametrize(("target", "kind"), [("/dev/zero", "a character device"),
                                              ("/tmp", "a directory")])
def test_extends_reads_only_regular_files(tmp_path, target, kind):
    path = tmp_path / "spec.yaml"
    path.write_text(f"extends: {target}\nversion: 1\n")
    assert _errors(path) == f"{path}:1: extends: {target}: cannot read: not a regular file ({kind})"


def test_extends_a_fifo_does_not_hang(tmp_path):
    """Opening a FIFO for reading blocks until a writer comes; the spec must be refused."""
    os.mkfifo(tmp_path / "pipe")
    path = tmp_path / "spec.yaml"
    path.write_text("extends: pipe\nversion: 1\n")
    result = _vigil("generate", "--spec", str(path), "--out", str(tmp_path / "out"), timeout=30)
    assert result.returncode == 1
    assert f"{path}:1: extends: pipe: cannot read: not a regular file (a FIFO)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_oversized_and_binary_specs_are_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n" + "#" * inputs.MAX_SPEC_BYTES + "\n")
    assert f"larger than the {inputs.MAX_SPEC_BYTES}-byte limit" in _errors(big)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\n\xff\n")
    assert _errors(binary) == f"{binary}: cannot read: not UTF-8 text (byte 11)"


def test_a_spec_the_size_of_10000_signals_is_read(write_spec, tmp_path):
    """A 10,000-signal spec is about 2 MiB: the bound must not refuse a plan of that size."""
    text = write_spec().read_text()
    padded = tmp_path / "padded.yaml"
    padded.write_text(text + "#" * (2 * 1024 * 1024) + "\n")
    assert load_spec(padded).signals


def test_selector_check_parses_only_queries_that_name_a_selector(write_spec, monkeypatch):
    """The reserved-label check parses a rule's PromQL only if a selector's name occurs in
    its text (a count, not a timing: parsing every query dominated a large spec's load)."""
    from generator import promql

    parsed = []
    real = promql.label_names
    monkeypatch.setattr(promql, "label_names", lambda expr: parsed.append(expr) or real(expr))
    load_spec(write_spec(lambda d: d.__setitem__("selectors", {"environment": "production"})))
    assert parsed == []
    path = write_spec(lambda d: d.__setitem__("selectors", {"status_class": "x"}))
    assert "status_class" in _errors(path)
    assert parsed and all("status_class" in expr for expr in parsed)
