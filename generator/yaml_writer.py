"""A small block-style YAML writer for generated files.

PyYAML's representer and emitter spent over 90 % of generation time on a large spec
(`bench/generator_bench.py`), because they are written for every YAML feature. The
generated files need few: mappings with string keys, lists, strings, numbers,
booleans and null. This writer emits exactly those, in the layout PyYAML uses (two
spaces, sequences not indented under their key), plain scalars where YAML reads them
back as the same string, and JSON-style double quotes otherwise (a JSON string is a
valid YAML double-quoted scalar). tests/generator/test_yaml_writer.py holds it to
round-tripping through `yaml.safe_load` for arbitrary data of those shapes.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import yaml

_encode_basestring = json.encoder.encode_basestring
_RESOLVER = yaml.resolver.Resolver()
_UNSAFE_START = set("-?:,[]{}#&*!|>'\"%@` ")
_UNSAFE_INSIDE = re.compile(r": |:$| #|\s$|[\t\r\n\x85\u2028\u2029\ufeff]")
# The resolver's implicit types (bool, int, float, null, timestamp, merge, value) by first
# character, as its `resolve` looks them up: a plain scalar that one of them matches would
# read back as that type. None of them is `str`, and the SafeLoader has no path resolvers.
_IMPLICIT = {first: tuple(regexp for _, regexp in resolvers)
             for first, resolvers in _RESOLVER.yaml_implicit_resolvers.items()}
_ANY_FIRST = _IMPLICIT.pop(None, ())
assert not _RESOLVER.yaml_path_resolvers
# Keys, label values and durations repeat thousands of times in a large spec's files.
_CACHE_SIZE = 1 << 16


def _plain(text: str) -> bool:
    """Whether `text` can be written unquoted and still read back as this string."""
    if not text or text[0] in _UNSAFE_START or not text.isprintable():
        return False
    if _UNSAFE_INSIDE.search(text):
        return False
    return not any(regexp.match(text) for regexp in (*_IMPLICIT.get(text[0], ()), *_ANY_FIRST))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _string(text: str) -> str:
    return text if _plain(text) else _quoted(text)


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 → 1.0e-05
            text = text.replace("e", ".0e", 1)
        return text
    if isinstance(value, str):
        return _string(value) if type(value) is str else value if _plain(value) else _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _quoted(text: str) -> str:
    """JSON's escaping, plus YAML's rule that unprintable characters must be escaped."""
    body = _encode_basestring(text)  # what json.dumps(text, ensure_ascii=False) returns
    if body.isprintable():
        return body
    return "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in body
    )


def _key(key: Any) -> str:
    if type(key) is str:
        return _string(key)
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, got {key!r}")
    return scalar(key)


def _inline(item: Any) -> str | None:
    """The text of `item` on its key's or dash's line, or None for a non-empty collection."""
    if isinstance(item, dict | list):
        return None if item else ("{}" if isinstance(item, dict) else "[]")
    return scalar(item)


def _lines(value: Any, indent: str, out: list[str]) -> None:
    """Append the lines of a non-empty mapping or list, each starting at `indent`.

    A scalar (most entries) is written on its key's line straight away; only collections
    recurse. Under a key a mapping is indented and a list is not (PyYAML's layout); after
    a dash, the collection's first line joins the dash ("- key: value"). Plain `str`
    items are tested first and inline: they are most of the entries.
    """
    inner = indent + "  "
    append = out.append
    string = _string
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{indent}{string(key) if type(key) is str else _key(key)}:"
            if type(item) is str:
                append(f"{head} {string(item)}")
                continue
            text = _inline(item)
            if text is not None:
                append(f"{head} {text}")
            else:
                append(head)
                _lines(item, inner if isinstance(item, dict) else indent, out)
        return
    dash = f"{indent}- "
    for item in value:
        if type(item) is str:
            append(dash + string(item))
            continue
        text = _inline(item)
        if text is not None:
            append(dash + text)
        else:
            start = len(out)
            _lines(item, inner, out)
            out[start] = dash + out[start][len(inner):]


def dump(data: Any) -> str:
    """`data` as block-style YAML text ending in a newline."""
    if isinstance(data, dict | list) and data:
        out: list[str] = []
        _lines(data, "", out)
        return "\n".join(out) + "\n"
    return ("{}" if data == {} else "[]" if data == [] else scalar(data)) + "\n"
