"""Filling the catalogue's PromQL templates.

One function, used by the rules and the dashboards alike, so the query an alert
evaluates and the query a panel draws differ only in their selectors and range.

Every label value written into PromQL or a promtool series (rules, generated tests)
goes through `quote`, and every matcher list through `matchers`: a `"` or a newline
in a selector value must not end the string early.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import promql_parser

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
