"""Filling the catalogue's PromQL templates.

One function, used by the rules and the dashboards alike, so the query an alert
evaluates and the query a panel draws differ only in their selectors and range.

Every label value written into PromQL or a promtool series (rules, generated tests)
goes through `quote`, and every matcher list through `matchers`: a `"` or a newline
in a selector value must not end the string early.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import promql_parser

_encode_basestring = json.encoder.encode_basestring
RULE_WINDOW = "5m"
DASHBOARD_WINDOW = "$__rate_interval"


def render(template: str, matchers: str, window: str = RULE_WINDOW) -> str:
    """Replace `$sel` with label matchers and `$window` with a range.

    `$sel` sits last inside braces (`x{mode="idle",$sel}`); with no matchers the
    comma it leaves behind is dropped so the output reads as a person would write it.
    """
    text = template.replace("$window", window)
    if matchers:
        return text.replace("$sel", matchers)
    return text.replace(",$sel}", "}").replace("{$sel}", "").replace("$sel", "")


def dashboard_matchers(exporter: str | None, extra_labels: tuple[str, ...] = ()) -> str:
    """Matchers a dashboard uses: its template variables instead of the spec's values."""
    pairs = []
    if exporter is not None:
        pairs += ['job=~"$job"', 'instance=~"$instance"']
    pairs += [f'{label}=~"${label}"' for label in extra_labels]
    return ",".join(pairs)


def quote(value: str) -> str:
    """`value` as a PromQL double-quoted string literal.

    PromQL strings take Go's escapes; JSON's (`\\"`, `\\\\`, `\\n`, `\\u0001`) are a
    subset of them. Non-ASCII stays as it is (UTF-8), because JSON would write astral
    characters as surrogate pairs, which Go refuses.
    """
    if type(value) is str:  # json.dumps's own path for a str, without its per-call set-up
        return _encode_basestring(value)
    return json.dumps(value, ensure_ascii=False)


_REGEX_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def regex_literal(text: str) -> str:
    """`text` as an RE2 pattern that matches only `text` (for `=~` alternations).

    Only RE2's metacharacters are escaped (unlike `re.escape`, which also escapes `-`),
    so `vigil-host` stays readable.
    """
    return _REGEX_SPECIAL.sub(r"\\\1", text)


def matchers(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """`a="x",b="y"`: equality matchers, each value quoted by `quote`."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return ",".join(f"{name}={quote(value)}" for name, value in items)


_LABEL_FUNCTIONS = {"label_replace": (1, 3), "label_join": (1,)}


def label_names(expr: str) -> set[str]:
    """Every label name `expr` matches on, groups by, or writes with label_replace.

    Parsed, not searched: a label name inside a string must not count.
    """
    found: set[str] = set()
    _walk(promql_parser.parse(expr), found)
    return found


def _walk(node: Any, found: set[str]) -> None:
    selector = getattr(node, "matchers", None)
    if selector is not None:
        for matcher in [*selector.matchers, *(m for ms in selector.or_matchers for m in ms)]:
            found.add(matcher.name)
    modifier = getattr(node, "modifier", None)
    if modifier is not None:
        for part in (modifier, getattr(modifier, "matching", None)):
            found.update(getattr(part, "labels", None) or ())
        found.update(getattr(modifier, "group_labels", None) or ())
    function = getattr(getattr(node, "func", None), "name", None)
    args = getattr(node, "args", None) or []
    for index in _LABEL_FUNCTIONS.get(function, ()):
        if index < len(args) and hasattr(args[index], "val"):
            found.add(args[index].val)
    for child in ("expr", "lhs", "rhs", "param", "vector_selector"):
        value = getattr(node, child, None)
        if value is not None and not isinstance(value, str | int | float):
            _walk(value, found)
    for arg in args:
        _walk(arg, found)


def vector_selectors(expr: str) -> list[Any]:
    """Every vector selector of `expr` (parsed), each with `.name` and `.matchers`."""
    return _selectors(promql_parser.parse(expr))


def _selectors(node: Any) -> list[Any]:
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    found = []
    for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
        child = getattr(node, attribute, None)
        if child is not None:
            found += _selectors(child)
    for child in getattr(node, "args", None) or []:
        found += _selectors(child)
    return found


@dataclass(frozen=True)
class Watched:
    """A metric whose presence a signal needs: its name and the equality matchers kept.

    A counter (`_total`) is watched by name alone: its label values appear with the
    first event they count (`status_class="5xx"` only after the first server error),
    so their absence is data, not a fault. Other metrics keep their equality matchers
    (`kind="full"`, `le="2.0"`): those labels say what is measured, and a selector that
    matches none of them is dead. Regex and negative matchers are left out: the watch
    is broader than the query, so it may miss a dead regex but never cries wolf.
    """

    name: str
    matchers: tuple[tuple[str, str], ...] = ()

    def selector(self, scope: str) -> str:
        """`name{matchers,scope}`: the metric as the absent-data rules select it."""
        inner = ",".join(m for m in (matchers(self.matchers), scope) if m)
        return f"{self.name}{{{inner}}}" if inner else self.name

    def text(self) -> str:
        return self.selector("")


Clause = tuple[Watched, ...]  # the expression has data only if one of these is present


def presence_clauses(expr: str, ignored: Iterable[str] = ()) -> list[Clause]:
    """What must be present for `expr` to return data, in conjunctive normal form.

    Each clause is a set of alternatives: the expression has data only if every clause
    has at least one of its metrics present. `a / b` needs both (two clauses), `a or b`
    needs either (one clause of two), `a unless b` needs only `a`; literals, `time()`
    and `vector()` need nothing. Matchers on `ignored` labels (the spec's own scope)
    are dropped: the rules add the scope themselves. Parsed, not searched.
    """
    dropped = frozenset(ignored)
    result: list[Clause] = []
    for clause in _all_clauses(expr):
        if dropped:
            clause = tuple(Watched(w.name, tuple(m for m in w.matchers if m[0] not in dropped))
                           for w in clause)
        ordered = tuple(dict.fromkeys(clause))
        if all(set(ordered) != set(seen) for seen in result):
            result.append(ordered)
    return result


@functools.lru_cache(maxsize=1 << 16)
def _all_clauses(expr: str) -> tuple[Clause, ...]:
    """The clauses with every equality matcher kept, parsed once per text: loading checks
    each signal's expression, and the absent-data rules and their tests ask again with
    their own scope labels (the answer is immutable)."""
    return tuple(_clauses(promql_parser.parse(expr), frozenset()))


def _clauses(node: Any, ignored: frozenset[str]) -> list[Clause]:
    if isinstance(node, promql_parser.VectorSelector):
        return [(_watched(node, ignored),)] if _metric_name(node) else []
    if isinstance(node, promql_parser.MatrixSelector):
        return _clauses(node.vector_selector, ignored)
    if isinstance(node, promql_parser.BinaryExpr):
        lhs, rhs = _clauses(node.lhs, ignored), _clauses(node.rhs, ignored)
        operator = str(node.op)
        if operator == "or":
            if not lhs or not rhs:  # one side always has data (a literal): so does the whole
                return []
            return [a + b for a in lhs for b in rhs]
        if operator == "unless":
            return lhs
        return lhs + rhs
    if isinstance(node, promql_parser.Call):
        if node.func.name in ("absent", "absent_over_time"):
            return []  # these return data exactly when their argument has none
        return [c for arg in node.args for c in _clauses(arg, ignored)]
    inner = getattr(node, "expr", None)  # aggregations, parentheses, unary minus, subqueries
    return _clauses(inner, ignored) if inner is not None else []


def _metric_name(node: Any) -> str | None:
    if node.name:
        return str(node.name)
    named = [m.value for m in node.matchers.matchers
             if m.name == "__name__" and str(m.op) == "MatchOp.Equal"]
    return named[0] if named else None


def _watched(node: Any, ignored: frozenset[str]) -> Watched:
    name = _metric_name(node) or ""
    if name.endswith("_total") or node.matchers.or_matchers:
        return Watched(name)
    kept = tuple(sorted((m.name, m.value) for m in node.matchers.matchers
                        if str(m.op) == "MatchOp.Equal" and m.name != "__name__"
                        and m.name not in ignored))
    return Watched(name, kept)
