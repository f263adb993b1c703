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

import json
import math
import re
from typing import Any

import yaml

_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
_UNSAFE_START = set("-?:,[]{}#&*!|>'\"%@` ")
_UNSAFE_INSIDE = re.compile(r": |:$| #|\s$|[\t\r\n\x85\u2028\u2029\ufeff]")


def _plain(text: str) -> bool:
    """Whether `text` can be written unquoted and still read back as this string."""
    if not text or text[0] in _UNSAFE_START or not text.isprintable():
        return False
    if _UNSAFE_INSIDE.search(text):
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG


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
        return value if _plain(value) else _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _quoted(text: str) -> str:
    """JSON's escaping, plus YAML's rule that unprintable characters must be escaped."""
    body = json.dumps(text, ensure_ascii=False)
    if body.isprintable():
        return body
    return "".join(
        c if c.isprintable() else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in body
    )


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, got {key!r}")
    return scalar(key)


def _lines(value: Any, indent: str, out: list[str]) -> None:
    """Append the lines of a non-empty mapping or list, each starting at `indent`."""
    if isinstance(value, dict):
        for key, item in value.items():
            _entry(f"{indent}{_key(key)}:", item, indent, out, in_mapping=True)
    else:
        for item in value:
            _entry(f"{indent}-", item, indent, out, in_mapping=False)


def _entry(head: str, item: Any, indent: str, out: list[str], in_mapping: bool) -> None:
    if isinstance(item, dict) and item:
        if in_mapping:
            out.append(head)
            _lines(item, indent + "  ", out)
        else:  # "- key: value" with the rest of the mapping aligned under the key
            start = len(out)
            _lines(item, indent + "  ", out)
            out[start] = f"{head} {out[start][len(indent) + 2:]}"
    elif isinstance(item, list) and item:
        if in_mapping:  # PyYAML's layout: a list under a key is not indented
            out.append(head)
            _lines(item, indent, out)
        else:
            start = len(out)
            _lines(item, indent + "  ", out)
            out[start] = f"{head} {out[start][len(indent) + 2:]}"
    elif isinstance(item, dict):
        out.append(f"{head} {{}}")
    elif isinstance(item, list):
        out.append(f"{head} []")
    else:
        out.append(f"{head} {scalar(item)}")


def dump(data: Any) -> str:
    """`data` as block-style YAML text ending in a newline."""
    if isinstance(data, dict | list) and data:
        out: list[str] = []
        _lines(data, "", out)
        return "\n".join(out) + "\n"
    return ("{}" if data == {} else "[]" if data == [] else scalar(data)) + "\n"
