"""A generation parses each custom signal's PromQL a fixed number of times, whatever
else asks about it (a count, not a timing: re-parsing per rule and per test file made
a large spec's generation grow with every new consumer of the analysis)."""

from __future__ import annotations

import collections

import promql_parser

from generator import commands, loader, promql


def test_each_signal_expression_is_parsed_at_most_twice(write_spec, monkeypatch):
    def add_signals(data):
        for i in range(3):
            data["signals"][f"custom_{i}"] = {
                "expr": f"sum by (instance) (rate(parse_count_{i}_total{{$sel}}[$window]))",
                "unit": "per_second", "exporter": "http", "warning": "10/s",
            }

    counts: collections.Counter[str] = collections.Counter()
    real = promql_parser.parse

    def counting(expr):
        counts[expr] += 1
        return real(expr)

    promql._all_clauses.cache_clear()
    monkeypatch.setattr(promql_parser, "parse", counting)
    commands.render(loader.load_spec(write_spec(add_signals)))
    for i in range(3):
        mine = {e: n for e, n in counts.items() if f"parse_count_{i}_total" in e}
        # the loader's syntax check, and the presence analysis the absent-data rules share
        assert mine and sum(mine.values()) <= 2, mine
