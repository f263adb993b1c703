"""A tiny declarative schema language: one description both validates the spec and
renders its JSON Schema.

Why not validate with the JSON Schema itself? Because the JSON Schema cannot parse
`80%` into 0.8, cannot say "expected a percentage such as 80%" in words an engineer
understands, and cannot keep going to report every error in one run with a path such
as `signals.cpu_usage.warning`. Why not hand-write the JSON Schema next to the
validator? Because the two would drift. So each node here knows how to check and
convert a value, and how to describe itself as JSON Schema.
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


class Node:
    """A schema node. `check` returns the converted value or INVALID, and records problems."""

    description: str = ""

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _with_description(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema = {"description": self.description, **schema}
        return schema


@dataclass
class Str(Node):
    description: str = ""
    pattern: str | None = None
    pattern_hint: str = ""
    enum: tuple[str, ...] = ()
    min_length: int = 0

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

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.pattern:
            schema["pattern"] = f"^(?:{self.pattern})$"
        if self.min_length:
            schema["minLength"] = self.min_length
        return self._with_description(schema)


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

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self.integer else "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return self._with_description(schema)


@dataclass
class Quantity(Node):
    """A string in one unit family, converted by `parse` (e.g. units.parse_duration)."""

    parse: Callable[[str], Any]
    example: str
    description: str = ""
    accept: Callable[[Any], str | None] | None = None  # extra rule: returns a message if bad

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

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({"type": "string", "examples": [self.example]})


@dataclass
class Bool(Node):
    description: str = ""

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, bool):
            problems.append(Problem(path, f"expected true or false, got {describe(value)}"))
            return INVALID
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({"type": "boolean"})


@dataclass
class Free(Node):
    """A value checked elsewhere (thresholds need the signal's unit to be read)."""

    description: str = ""
    types: tuple[str, ...] = ("string", "number")

    def check(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if isinstance(value, dict) and "object" in self.types:
            return value
        if isinstance(value, dict | list) or value is None:
            problems.append(Problem(path, f"expected {' or '.join(self.types)}, got {describe(value)}"))
            return INVALID
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({"type": list(self.types)})


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

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return self._with_description(schema)


NAME_PATTERN = r"[a-z][a-z0-9_]*"


@dataclass
class MapOf(Node):
    """A mapping whose keys the user chooses (signal names, receiver names)."""

    value: Node
    description: str = ""
    key_pattern: str = NAME_PATTERN
    key_hint: str = "a lower_snake_case name"

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
            result[key] = self.value.check(item, join(path, key), problems)
        return result

    def json_schema(self) -> dict[str, Any]:
        return self._with_description({
            "type": "object",
            "propertyNames": {"pattern": f"^{self.key_pattern}$"},
            "additionalProperties": self.value.json_schema(),
        })


@dataclass
class Obj(Node):
    """A mapping with known keys; anything else is an error (typos must not pass silently).

    `extra` admits further keys (a signal's thresholds are keyed by severity names the
    spec itself declares); whether such a key is allowed is decided later, by whoever
    knows the severities.
    """

    fields: Mapping[str, Node]
    description: str = ""
    required: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    extra: Node | None = None
    exactly_one_of: tuple[str, ...] = ()

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

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: v.json_schema() for k, v in self.fields.items()},
            "additionalProperties": self.extra.json_schema() if self.extra else False,
        }
        if self.required:
            schema["required"] = list(self.required)
        if self.exactly_one_of:
            schema["oneOf"] = [{"required": [k]} for k in self.exactly_one_of]
        return self._with_description(schema)
