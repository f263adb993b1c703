"""Config loading: one YAML file becomes a tree of :class:`ConfigNode` views.

Why a view instead of a bare dict: every exporter must reject bad input with a
message that names the file *and* the key path (``host.yml:
tcp_targets[2].address: expected "host:port"``). A ``ConfigNode`` remembers
where it sits in the file, so the exporter code that reads a value is also the
code that reports a precise error, without threading paths by hand.

Public API (stable, used by every exporter):

- ``ConfigError(source, path, message)``: ``str()`` is ``"source: path: message"``.
- ``load_config(path) -> ConfigNode``: read a YAML mapping (missing file, YAML
  syntax error or a non-mapping top level raise ``ConfigError``).
- ``ConfigNode``: ``.value`` (the raw data), ``.source`` (file name shown in
  errors), ``.path`` (``"targets[2].address"``), and typed getters
  ``str/int/number/bool/duration/address/list/mapping/child/items/secret``;
  ``.error(message)`` builds a ``ConfigError`` at this node, and
  ``.reject_unknown(allowed)`` refuses typos in key names.
- ``parse_duration("15s") -> 15.0`` and ``parse_address("host:port")``.

Bounds: a duration is checked against the range of its kind
(:data:`DURATION_BOUNDS`, looked up by the key's name: ``interval``,
``timeout``, ``connect_timeout``, ``backoff_max``, ``poll_interval``, ``bucket``; any other
duration key gets :data:`ANY_DURATION`). NaN, infinity, zero, ``1ms`` intervals
and ``1000y`` timeouts are config errors naming the key, never a busy loop or
an ``OverflowError`` in a thread. Integers are capped too (:data:`MAX_INT`).
The YAML reader refuses duplicate keys in a mapping (``file: line N: key
'interval' appears twice``), files that are not regular files or larger than
:data:`MAX_CONFIG_BYTES`, and anchors/aliases: a config has no use for them
and they are how a small file expands into a huge tree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from exporters.common.files import read_bounded_text

_MISSING: Any = object()

MAX_CONFIG_BYTES = 1 << 20  # a config file is a few KiB; 1 MiB is generous
MAX_INT = 1_000_000  # default ceiling of ConfigNode.int (counts, limits, sizes)


@dataclass(frozen=True)
class DurationBounds:
    """The accepted range of one kind of duration, and why."""

    minimum: float
    maximum: float


# Why these ranges:
# - interval: Prometheus scrapes every 15-60 s; collecting more often than once
#   a second only burns CPU (a 1 ms interval logged 17,522 warnings in 6 s),
#   and a source read less often than daily is not monitoring.
# - timeout: below 100 ms every run of a real probe or query fails; above an
#   hour a hung source holds its thread (and a database connection) for hours.
# - connect_timeout: libpq counts whole seconds (0 means "wait forever").
# - backoff_max: the longest wait between reconnect attempts.
# - poll_interval: how often an access log is read for new lines.
# - bucket: a histogram bound of request durations; below a millisecond is
#   below what access logs record, above an hour no request is still waited on.
DURATION_BOUNDS: dict[str, DurationBounds] = {
    "interval": DurationBounds(1.0, 86400.0),
    "timeout": DurationBounds(0.1, 3600.0),
    "connect_timeout": DurationBounds(1.0, 300.0),
    "backoff_max": DurationBounds(0.1, 3600.0),
    "poll_interval": DurationBounds(0.1, 3600.0),
    "bucket": DurationBounds(0.001, 3600.0),
}
ANY_DURATION = DurationBounds(0.001, 7 * 86400.0)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class ConfigError(Exception):
    """A config value is missing or wrong; the message names file and key path."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {message}")


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about huge inputs."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Prometheus-style duration (``500ms``, ``15s``, ``1m``).

    Raises ``ValueError``; ``ConfigNode.duration`` turns it into a ``ConfigError``.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 15s, got a boolean")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"duration out of range: {shown(value)}") from None
        if not math.isfinite(seconds):
            raise ValueError(f"expected a finite duration, got {shown(value)}")
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 500ms, 15s or 1m, got {shown(value)}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"expected a non-negative duration, got {shown(value)}")
    return seconds


def parse_address(value: Any, default_host: str | None = None) -> tuple[str, int]:
    """``(host, port)`` from ``host:port``, ``[v6]:port`` or (with a default host) ``:port``.

    An empty host in ``:port`` means "all interfaces" only when the caller passes
    ``default_host=""``; the exporters pass ``127.0.0.1`` nowhere implicitly.
    """
    text = str(value).strip()
    match = re.match(r"^\[([^\]]+)\]:(\d+)$", text) or re.match(r"^([^:\[\]]*):(\d+)$", text)
    if not match:
        raise ValueError(f'expected "host:port", got {value!r}')
    host, port = match.group(1), int(match.group(2))
    if not host:
        if default_host is None:
            raise ValueError(f'expected "host:port", got {value!r}')
        host = default_host
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {value!r}")
    return host, port


class ConfigNode:
    """A read-only view of one value in a config file that knows its key path."""

    def __init__(self, value: Any, source: str, path: str = "") -> None:
        self.value = value
        self.source = source
        self.path = path

    # -- navigation -------------------------------------------------------
    def _key_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else str(key)

    def error(self, message: str, key: str | int | None = None) -> ConfigError:
        """A ``ConfigError`` located at this node (or at ``key`` below it)."""
        path = self.path if key is None else self._key_path(key)
        return ConfigError(self.source, path, message)

    def _as_mapping(self) -> dict[str, Any]:
        if self.value is None:
            return {}
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {_kind(self.value)}")
        return self.value

    def has(self, key: str) -> bool:
        return self._as_mapping().get(key) is not None

    def child(self, key: str, default: Any = _MISSING) -> ConfigNode:
        """The node under ``key``; a missing key is an error unless a default is given."""
        mapping = self._as_mapping()
        if key in mapping and mapping[key] is not None:
            return ConfigNode(mapping[key], self.source, self._key_path(key))
        if default is _MISSING:
            raise self.error("required key is missing", key)
        return ConfigNode(default, self.source, self._key_path(key))

    def keys(self) -> list[str]:
        return [str(k) for k in self._as_mapping()]

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Refuse keys this exporter does not know, so a typo is not silently ignored."""
        allowed_set = set(allowed)
        for key in self._as_mapping():
            if key not in allowed_set:
                known = ", ".join(sorted(allowed_set))
                raise self.error(f"unknown key (known keys: {known})", str(key))

    def items(self, key: str | None = None, default: Any = _MISSING) -> list[ConfigNode]:
        """Each element of the list at ``key`` (or of this node) as its own node."""
        node = self if key is None else self.child(key, [] if default is _MISSING else default)
        if node.value is None:
            return []
        if not isinstance(node.value, list):
            raise node.error(f"expected a list, got {_kind(node.value)}")
        return [ConfigNode(v, node.source, node._key_path(i)) for i, v in enumerate(node.value)]

    # -- typed getters ----------------------------------------------------
    def _get(self, key: str | None, default: Any) -> ConfigNode | None:
        if key is None:
            return self
        node = self.child(key, None if default is not _MISSING else _MISSING)
        return None if node.value is None else node

    def str(self, key: str | None = None, default: Any = _MISSING) -> Any:
        node = self._get(key, default)
        if node is None:
            return default
        if not isinstance(node.value, str) or not node.value:
            raise node.error(f"expected a non-empty string, got {_kind(node.value)}")
        return node.value

    def int(
        self, key: str | None = None, default: Any = _MISSING, minimum: int | None = None,
        maximum: int = MAX_INT,
    ) -> Any:
        """An integer in ``[minimum, maximum]``; the ceiling keeps a typo from sizing a loop."""
        node = self._get(key, default)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise node.error(f"expected an integer, got {_kind(node.value)}")
        if minimum is not None and node.value < minimum:
            raise node.error(f"expected an integer >= {minimum}, got {node.value}")
        if node.value > maximum:
            raise node.error(f"expected an integer <= {maximum}, got {shown(node.value)}")
        return node.value

    def number(self, key: str | None = None, default: Any = _MISSING) -> Any:
        """A finite number (NaN and infinity are refused)."""
        node = self._get(key, default)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise node.error(f"expected a number, got {_kind(node.value)}")
        try:
            number = float(node.value)
        except OverflowError:
            raise node.error("number out of range") from None
        if not math.isfinite(number):
            raise node.error(f"expected a finite number, got {shown(node.value)}")
        return number

    def bool(self, key: str | None = None, default: Any = _MISSING) -> Any:
        node = self._get(key, default)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            raise node.error(f"expected true or false, got {_kind(node.value)}")
        return node.value

    def duration(
        self, key: str | None = None, default: Any = _MISSING, *, kind: str | None = None
    ) -> Any:
        """Seconds as a float; accepts numbers and ``500ms``/``15s``/``1m``/``2h``.

        The value must lie in the bounds of ``kind`` (default: the key's name)
        from :data:`DURATION_BOUNDS`, or in :data:`ANY_DURATION` for other keys.
        """
        node = self._get(key, default)
        if node is None:
            return default
        try:
            seconds = parse_duration(node.value)
        except ValueError as exc:
            raise node.error(str(exc)) from None
        bounds = DURATION_BOUNDS.get(kind or key or "", ANY_DURATION)
        if seconds <= 0:
            raise node.error(f"expected a positive duration, got {shown(node.value)}")
        if not bounds.minimum <= seconds <= bounds.maximum:
            raise node.error(
                f"expected a duration from {format_duration(bounds.minimum)} to"
                f" {format_duration(bounds.maximum)}, got {shown(node.value)}"
            )
        return seconds

    def address(self, key: str | None = None, default: Any = _MISSING) -> Any:
        """``(host, port)`` from ``"host:port"``."""
        node = self._get(key, default)
        if node is None:
            return default
        try:
            return parse_address(node.value)
        except ValueError as exc:
            raise node.error(str(exc)) from None

    def list(self, key: str | None = None, default: Any = _MISSING) -> list[Any]:
        node = self._get(key, default)
        if node is None:
            return default
        if not isinstance(node.value, list):
            raise node.error(f"expected a list, got {_kind(node.value)}")
        return node.value

    def mapping(self, key: str | None = None, default: Any = _MISSING) -> dict[str, Any]:
        node = self._get(key, default)
        if node is None:
            return default
        return node._as_mapping()

    def secret(self, key: str | None = None, default: Any = _MISSING) -> Any:
        """A secret given inline, as ``{env: NAME}`` or as ``{file: PATH}``.

        See :mod:`exporters.common.secrets`; relative file paths are relative to
        the config file's directory.
        """
        from exporters.common.secrets import SecretError, resolve_secret

        node = self._get(key, default)
        if node is None:
            return default
        base = Path(self.source).parent if self.source else Path(".")
        try:
            return resolve_secret(node.value, base_dir=base)
        except SecretError as exc:
            raise node.error(str(exc)) from None

    def path_value(self, key: str | None = None, default: Any = _MISSING) -> Any:
        """A filesystem path; relative paths are taken relative to the config file."""
        text = self.str(key, default)
        if text is default:
            return default
        path = Path(text)
        if not path.is_absolute() and self.source:
            path = Path(self.source).parent / path
        return path


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string",
        list: "a list", dict: "a mapping",
    }.get(type(value), type(value).__name__)


def format_duration(seconds: float) -> str:
    """``0.1`` → ``100ms``, ``86400`` → ``24h``: how bounds are shown in errors and docs."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds * 1000:g}ms"


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate mapping keys and anchors/aliases.

    PyYAML keeps the last of two equal keys silently; in a config that means
    an ``interval:`` written twice takes whichever comes last. Aliases are
    refused outright: a config never needs them, and they let a few lines
    expand into a tree that walking takes minutes and gigabytes.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in a config file",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: SafeConstructor reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in the same mapping",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> ConfigNode:
    """Read a YAML mapping from ``path``; errors name the file (and line when YAML knows it)."""
    path = Path(path)
    source = str(path)
    try:
        text = read_bounded_text(path, MAX_CONFIG_BYTES, "config file")
    except ValueError as exc:
        raise ConfigError(source, "", str(exc)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, where, f"invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"expected a mapping at the top level, got {_kind(data)}")
    return ConfigNode(data, source)
