"""Reading a spec file with bounds: what a careless or hostile file can cost.

A spec (or a base it `extends`) is a path the user typed, so it may name a FIFO that
never ends (`open` would block forever), a device such as /dev/zero (read until memory
runs out), or a small YAML file whose aliases expand to billions of nodes. Here only
regular files are read, opened without blocking so that a FIFO is refused rather than
waited on, and at most MAX_SPEC_BYTES of them; the YAML is composed into nodes first
and refused if aliases would expand it by more than MAX_ALIAS_NODES nodes or it nests
deeper than MAX_DEPTH, before any Python object is built from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from exporters.common.files import read_bounded
from generator import locate

# A spec of 10,000 signals with two thresholds each is about 2 MiB in block style
# (bench/generator_bench.py); four times that leaves room without allowing a device's worth.
MAX_SPEC_BYTES = 8 * 1024 * 1024
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 64


class InputError(ValueError):
    """A file that cannot be used, with a one-line reason."""


def read_regular(path: Path, limit: int = MAX_SPEC_BYTES) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes."""
    try:
        return read_bounded(path, limit)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}") from None
    except ValueError as err:
        raise InputError(f"cannot read: {err}") from None


def read_text(path: Path, limit: int = MAX_SPEC_BYTES) -> str:
    """`read_regular`, decoded as UTF-8."""
    data = read_regular(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"cannot read: not UTF-8 text (byte {err.start})") from None


def load_yaml(text: str) -> Any:
    """One YAML document as Python data, refusing alias bombs and deep nesting.

    Raises yaml.YAMLError for invalid YAML and InputError for a document over a bound.
    """
    loader = locate.SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases add over MAX_ALIAS_NODES nodes, or that nests
    deeper than MAX_DEPTH or refers to itself.

    Sizes are counted once per distinct node (memoised), so the check itself stays
    linear in the file however far the aliases would expand.
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()  # the nodes on the path being walked
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            children = [id(child) for child in _children(node)]
            sizes[key] = 1 + sum(sizes[c] for c in children)
            heights[key] = 1 + max((heights[c] for c in children), default=0)
            if heights[key] > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels")
            continue
        if key in sizes:
            continue
        distinct += 1
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise InputError("an alias refers to a node that contains it")
            stack.append((child, False))
    added = sizes[id(root)] - distinct
    if added > MAX_ALIAS_NODES:
        raise InputError(f"aliases would expand the document by more than the "
                         f"{MAX_ALIAS_NODES} nodes allowed")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
