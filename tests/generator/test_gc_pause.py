"""Loading and rendering run with the cyclic collector paused, and it is back afterwards.

(The pause is what keeps a 10,000-signal spec's generation from re-walking millions of
live objects; bench/generator_bench.py measures the time, this checks the switch.)
"""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from generator import commands, loader

# What render reads of a spec besides what its generators do: no Kubernetes outputs.
SPEC = SimpleNamespace(kubernetes=None)


def test_render_pauses_the_collector_and_restores_it(monkeypatch):
    seen = []

    def generator(spec):
        seen.append(gc.isenabled())
        return {"x.txt": "x\n"}

    def failing(spec):
        raise RuntimeError("generator bug")

    monkeypatch.setattr(commands, "_generators", lambda: [generator])
    assert gc.isenabled()
    assert commands.render(SPEC) == {"x.txt": "x\n"}
    assert seen == [False] and gc.isenabled()
    monkeypatch.setattr(commands, "_generators", lambda: [failing])
    with pytest.raises(RuntimeError):
        commands.render(SPEC)
    assert gc.isenabled()


def test_load_spec_pauses_the_collector_even_for_a_bad_spec(monkeypatch, tmp_path):
    seen = []
    real = loader._read_with_extends

    def reading(path, **kwargs):
        seen.append(gc.isenabled())
        return real(path, **kwargs)

    monkeypatch.setattr(loader, "_read_with_extends", reading)
    bad = tmp_path / "spec.yaml"
    bad.write_text("version: [\n")
    with pytest.raises(loader.SpecError):
        loader.load_spec(bad)
    assert seen == [False] and gc.isenabled()
