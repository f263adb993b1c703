"""A tiny declarative schema language: one description both validates the spec and
renders its JSON Schema.

Why not validate with the JSON Schema itself? Because the JSON Schema cannot parse
`80%` into 0.8, cannot say "expected a percentage such as 80%" in words an engineer
understands, and cannot keep going to report every error in one run with a path such
as `signals.cpu_usage.warning`. Why not hand-write the JSON Schema next to the
validator? Because the two would drift. So each node here knows how to check and
convert a value, and how to describe itself as JSON Schema.

The JSON Schema is rendered twice from the same nodes (see `Render`): once for a
whole spec and once for a spec that `extends` another, where any key may be left
out (the base has it) or set to null (removes the base's). Where the loader checks a
value against the rest of the spec (a threshold key against the declared severities,
a threshold against its signal's unit), the schema states the same rule as closely as
JSON Schema can without ever refusing what the loader accepts (`schema_enum`,
`Free.forms`, `Obj.when`): an editor must not show an error `vigil` would not.

To extend the spec, add a node where its section is built (generator/spec_schema.py);
a new kind of value is a new Node subclass with `check` and `_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator import units


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the spec, at one place in it."""

    path: str
    message: str


class _Invalid:
    """Marks a value that failed validation, so parents keep going without it."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def describe(value: object) -> str:
    """How a bad value is quoted in an error: as the user wrote it."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


@dataclass
class Render:
    """How nodes are rendered: for a whole spec, or for an overlay over a base spec.

    `defs` collects the shared definitions (`Shared`) of one rendering, so a threshold
    form or a signal's shape is written once in the file however often it is used.
    """

    overlay: bool = False
    defs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def full(self) -> Render:
        """Lists replace what the base has, whole: their items are complete values."""
        return Render(False, self.defs)

    def as_overlay(self) -> Render:
        return Render(True, self.defs)

    def child(self, node: Node) -> dict[str, Any]:
        """A mapping's value: in an overlay also null (removes the base's value)."""
        schema = node.json_schema(self)
        if not self.overlay:
            return schema
        if "type" in schema and "oneOf" not in schema:  # a typed value: add null to it
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            schema = {**schema, "type": types if "null" in types else [*types, "null"]}
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
            return schema
        described = {k: schema[k] for k in ("description",) if k in schema}
        rest = {k: v for k, v in schema.items() if k != "description"}
        return {**described, "anyOf": [{"type": "null"}, rest]}


class Node:
    """A schema node. `check` returns the converted value or INVALID, and records problems."""

    description: str = ""

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        raise NotImplementedError

    def json_schema(self, render: Render | None = None) -> dict[str, Any]:
        schema = self._schema(render or Render())
        if self.description:
            schema = {"description": self.description, **schema}
        return schema

    def _schema(self, render: Render) -> dict[str, Any]:
        raise NotImplementedError


def anchored(pattern: str) -> str:
    """A JSON Schema pattern matching the whole value, as `re.fullmatch` does."""
    return f"^(?:{pattern})$"


@dataclass
class Str(Node):
    """A string. `schema_enum` lists, for the JSON Schema only, the names a value can take
    when the loader checks it against the spec's own declarations (a severity named in
    a burn window must be a declared severity, and declared ones are from that list)."""

    description: str = ""
    pattern: str | None = None
    pattern_hint: str = ""
    enum: tuple[str, ...] = ()
    min_length: int = 0
    schema_enum: tuple[str, ...] = ()
    example: str | None = None

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, str):
            problems.append(Problem(path, f"expected {self._expected()}, got {describe(value)}"))
            return INVALID
        if len(value) < self.min_length:
            problems.append(Problem(path, "expected a non-empty string"))
            return INVALID
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            problems.append(Problem(path, "expected text without unpaired surrogate escapes"))
            return INVALID
        if self.enum and value not in self.enum:
            problems.append(Problem(path, f"expected {self._expected()}, got {value!r}"))
            return INVALID
        if self.pattern and not re.fullmatch(self.pattern, value):
            problems.append(Problem(path, f"expected {self._expected()}, got {value!r}"))
            return INVALID
        return value

    def _expected(self) -> str:
        if self.enum:
            return "one of " + ", ".join(self.enum)
        return self.pattern_hint or "a string"

    def _schema(self, render: Render) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.enum or self.schema_enum:
            schema["enum"] = list(self.enum or self.schema_enum)
        if self.pattern:
            schema["pattern"] = anchored(self.pattern)
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.example is not None:
            schema["examples"] = [self.example]
        return schema


@dataclass
class Num(Node):
    description: str = ""
    minimum: float | None = None
    integer: bool = False

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        try:
            number = units.parse_number(value)
        except units.UnitError as err:
            problems.append(Problem(path, str(err)))
            return INVALID
        if self.integer and number != int(number):
            problems.append(Problem(path, f"expected a whole number, got {value!r}"))
            return INVALID
        if self.minimum is not None and number < self.minimum:
            problems.append(Problem(path, f"expected at least {self.minimum:g}, got {value!r}"))
            return INVALID
        return int(number) if self.integer else number

    def _schema(self, render: Render) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return schema


@dataclass
class Quantity(Node):
    """A string in one unit family, converted by `parse` (e.g. units.parse_duration).

    `pattern` is the notation `parse` reads (from generator/units.py), for editors;
    `example` is a value right for this field, bounds included (a test checks it).
    """

    parse: Callable[[str], Any]
    example: str
    description: str = ""
    accept: Callable[[Any], str | None] | None = None  # extra rule: returns a message if bad
    pattern: str | None = None

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, str):
            # Say what was expected in the unit's own words, even for a bare number.
            try:
                self.parse(str(value))
            except units.UnitError as err:
                problems.append(Problem(path, str(err)))
                return INVALID
            problems.append(Problem(path, f"expected a quoted quantity such as {self.example!r}"))
            return INVALID
        try:
            parsed = self.parse(value)
        except units.UnitError as err:
            problems.append(Problem(path, str(err)))
            return INVALID
        if self.accept and (message := self.accept(parsed)):
            problems.append(Problem(path, message))
            return INVALID
        return parsed

    def _schema(self, render: Render) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.pattern:
            schema["pattern"] = anchored(self.pattern)
        schema["examples"] = [self.example]
        return schema


@dataclass
class Bool(Node):
    description: str = ""

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, bool):
            problems.append(Problem(path, f"expected true or false, got {describe(value)}"))
            return INVALID
        return value

    def _schema(self, render: Render) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass
class Free(Node):
    """A value checked elsewhere (thresholds need the signal's unit to be read).

    `forms` are the JSON Schemas of what that later check accepts (a ratio threshold
    `80%`, `< 4.0`, `20% below average`), so an editor flags `100ms` on a ratio; here
    only the type is checked, and the loader says what is wrong in its own words.
    """

    description: str = ""
    types: tuple[str, ...] = ("string", "number")
    forms: tuple[dict[str, Any], ...] = ()
    examples: tuple[str, ...] = ()

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if isinstance(value, dict) and "object" in self.types:
            return value
        if isinstance(value, dict | list) or value is None:
            problems.append(Problem(path, f"expected {' or '.join(self.types)}, got {describe(value)}"))
            return INVALID
        return value

    def _schema(self, render: Render) -> dict[str, Any]:
        schema: dict[str, Any] = {"anyOf": list(self.forms)} if self.forms else \
            {"type": list(self.types)}
        if self.examples:
            schema["examples"] = list(self.examples)
        return schema


@dataclass
class ListOf(Node):
    item: Node
    description: str = ""
    min_items: int = 0
    max_items: int | None = None

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, list):
            problems.append(Problem(path, f"expected a list, got {describe(value)}"))
            return INVALID
        if len(value) < self.min_items:
            problems.append(Problem(path, f"expected at least {self.min_items} item(s)"))
            return INVALID
        if self.max_items is not None and len(value) > self.max_items:
            problems.append(Problem(path, f"expected at most {self.max_items} items, "
                                          f"got {len(value)}"))
            return INVALID
        return [self.item.check(v, join(path, i), problems) for i, v in enumerate(value)]

    def _schema(self, render: Render) -> dict[str, Any]:
        # An overlay's list replaces the base's whole: each item is a complete value.
        schema: dict[str, Any] = {"type": "array", "items": self.item.json_schema(render.full())}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


NAME_PATTERN = r"[a-z][a-z0-9_]*"


@dataclass
class MapOf(Node):
    """A mapping whose keys the user chooses (signal names, receiver names).

    `known` gives some keys a node of their own (each catalogue signal its unit's
    thresholds); `key_enum` closes the set of keys (severity names).
    """

    value: Node
    description: str = ""
    key_pattern: str = NAME_PATTERN
    key_hint: str = "a lower_snake_case name"
    known: Mapping[str, Node] = field(default_factory=dict)
    key_enum: tuple[str, ...] = ()

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.append(Problem(path, f"expected a mapping, got {describe(value)}"))
            return INVALID
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not re.fullmatch(self.key_pattern, key):
                problems.append(Problem(join(path, str(key)), f"expected {self.key_hint} as key"))
                continue
            if self.key_enum and key not in self.key_enum:
                problems.append(Problem(join(path, key), f"expected {self.key_hint} as key: "
                                                         f"one of {', '.join(self.key_enum)}"))
                continue
            result[key] = self.known.get(key, self.value).check(item, join(path, key), problems)
        return result

    def _schema(self, render: Render) -> dict[str, Any]:
        names = {"enum": list(self.key_enum)} if self.key_enum else \
            {"pattern": f"^{self.key_pattern}$"}
        schema: dict[str, Any] = {"type": ["object", "null"], "propertyNames": names}
        if self.known:
            schema["properties"] = {k: render.child(v) for k, v in self.known.items()}
        schema["additionalProperties"] = render.child(self.value)
        return schema


@dataclass
class Obj(Node):
    """A mapping with known keys; anything else is an error (typos must not pass silently).

    `extra` admits further keys (a signal's thresholds are keyed by severity names the
    spec itself declares); whether such a key is allowed is decided later, by whoever
    knows the severities. `extra_keys` names, for the JSON Schema, every key `extra`
    can take (declared severities come from that list), so an editor flags a typo.
    `when` gives extra keys another node for the JSON Schema when a field has a value
    (a custom signal's thresholds follow its `unit`): `(field, value, node)`.
    """

    fields: Mapping[str, Node]
    description: str = ""
    required: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    extra: Node | None = None
    exactly_one_of: tuple[str, ...] = ()
    extra_keys: tuple[str, ...] = ()
    when: tuple[tuple[str, str, Node], ...] = ()

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            problems.append(Problem(path, f"expected a mapping, got {describe(value)}"))
            return INVALID
        result: dict[str, Any] = dict(self.defaults)
        for key, item in value.items():
            key_path = join(path, str(key))
            if key in self.fields:
                result[key] = self.fields[key].check(item, key_path, problems)
            elif self.extra is not None and isinstance(key, str):
                result[key] = self.extra.check(item, key_path, problems)
            else:
                known = ", ".join(sorted(self.fields))
                problems.append(Problem(key_path, f"unknown key; expected one of: {known}"))
        for key in self.required:
            if key not in value:
                problems.append(Problem(join(path, key), "required key is missing"))
        if self.exactly_one_of:
            present = [k for k in self.exactly_one_of if k in value]
            if len(present) != 1:
                options = " or ".join(self.exactly_one_of)
                problems.append(Problem(path, f"expected exactly one of {options}"))
        return result

    def _schema(self, render: Render) -> dict[str, Any]:
        properties = {k: render.child(v) for k, v in self.fields.items()}
        additional: Any = False
        if self.extra is not None and self.extra_keys:
            properties.update({k: render.child(self.extra) for k in self.extra_keys
                               if k not in properties})
        elif self.extra is not None:
            additional = render.child(self.extra)
        # Null reads as an empty mapping, which only required keys can make wrong.
        nullable = render.overlay or not self.required
        schema: dict[str, Any] = {
            "type": ["object", "null"] if nullable else "object",
            "properties": properties,
            "additionalProperties": additional,
        }
        if self.required and not render.overlay:
            schema["required"] = list(self.required)
        if self.exactly_one_of and not render.overlay:
            # "at most one" as well as "at least one": a null value is no mapping at all
            schema["oneOf"] = [{"required": [k]} for k in self.exactly_one_of]
        if self.when:
            schema["allOf"] = [
                {"if": {"properties": {key: {"const": value}}, "required": [key]},
                 "then": self._keyed(node, render)}
                for key, value, node in self.when
            ]
        return schema

    def _keyed(self, node: Node, render: Render) -> dict[str, Any]:
        """Every extra key as `node`; written once in `$defs` when `node` is Shared."""
        keyed = {"properties": {k: render.child(node) for k in self.extra_keys}}
        if not isinstance(node, Shared):
            return keyed
        name = f"{node.name}-keys{'-overlay' if render.overlay else ''}"
        render.defs.setdefault(name, keyed)
        return {"$ref": f"#/$defs/{name}"}


@dataclass
class Either(Node):
    """`then` when the mapping has `key`, else `otherwise` (a signal with `expr` is custom)."""

    key: str
    then: Node
    otherwise: Node
    description: str = ""

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        chosen = self.then if isinstance(value, dict) and self.key in value else self.otherwise
        return chosen.check(value, path, problems)

    def _schema(self, render: Render) -> dict[str, Any]:
        return {"if": {"type": "object", "required": [self.key]},
                "then": self.then.json_schema(render), "else": self.otherwise.json_schema(render)}


class _Checked(Node):
    """A node checked as the node it wraps; only its JSON Schema differs."""

    node: Node

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        return self.node.check(value, path, problems)


@dataclass
class Overlay(_Checked):
    """`node` as a spec that `extends` another writes it: every key optional or null."""

    node: Node
    description: str = ""

    def _schema(self, render: Render) -> dict[str, Any]:
        return self.node.json_schema(render.as_overlay())


@dataclass
class SchemaView(_Checked):
    """Checked as `node`, rendered as `schema`: for a section whose JSON Schema states
    rules the loader checks later with the rest of the spec at hand (a custom signal
    needs `expr`), so the loader's own messages stay as they are."""

    node: Node
    schema: Node
    description: str = ""

    def _schema(self, render: Render) -> dict[str, Any]:
        return self.schema.json_schema(render)


@dataclass
class Shared(_Checked):
    """`node` written once under `$defs` and referred to wherever it is used."""

    name: str
    node: Node
    description: str = ""

    def _schema(self, render: Render) -> dict[str, Any]:
        key = f"{self.name}-overlay" if render.overlay else self.name
        if key not in render.defs:
            render.defs[key] = {}  # reserved first: a node may refer to itself
            render.defs[key] = self.node.json_schema(render)
        return {"$ref": f"#/$defs/{key}"}
