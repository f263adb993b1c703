"""Line numbers for spec paths: `signals.cpu_usage.warning` → line 142.

Errors name the path inside the spec because that is what survives `extends` merging;
the line is added where the key is in the file itself, so an editor or terminal can
jump straight to it (`slo/spec.yaml:142: signals.cpu_usage.warning: ...`).
"""

from __future__ import annotations

import re

import yaml

# libyaml's parser where PyYAML has it: same documents, a fraction of the time.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def lines(text: str) -> dict[str, int]:
    """Every mapping key's and list item's path in a YAML document, with its 1-based line."""
    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return {}
    from generator.inputs import InputError, check_expansion  # inputs imports this module

    if root is None:
        return {}
    try:
        check_expansion(root)
    except InputError:
        return {}
    found: dict[str, int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, path: str) -> None:
        # An aliased node is walked once, where it is defined: its lines are there,
        # and an alias bomb must not be expanded here either.
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = f"{path}.{key.value}" if path else str(key.value)
                    found[child] = key.start_mark.line + 1
                    walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                found[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        walk(root, "")
    return found


def line_of(found: dict[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest ancestor present in the file."""
    segments = [m.group(0) for m in _SEGMENT.finditer(path)]
    while segments:
        candidate = "".join(s if s.startswith("[") else f".{s}" for s in segments).lstrip(".")
        if candidate in found:
            return found[candidate]
        segments.pop()
    return None
