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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

_MISSING: Any = object()

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


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Prometheus-style duration (``500ms``, ``15s``, ``1m``).

    Raises ``ValueError``; ``ConfigNode.duration`` turns it into a ``ConfigError``.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 15s, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 500ms, 15s or 1m, got {value!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"expected a non-negative duration, got {value!r}")
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
        self, key: str | None = None, default: Any = _MISSING, minimum: int | None = None
    ) -> Any:
        node = self._get(key, default)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise node.error(f"expected an integer, got {_kind(node.value)}")
        if minimum is not None and node.value < minimum:
            raise node.error(f"expected an integer >= {minimum}, got {node.value}")
        return node.value

    def number(self, key: str | None = None, default: Any = _MISSING) -> Any:
        node = self._get(key, default)
        if node is None:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise node.error(f"expected a number, got {_kind(node.value)}")
        return float(node.value)

    def bool(self, key: str | None = None, default: Any = _MISSING) -> Any:
        node = self._get(key, default)
        if node is None:
            return default
        if not isinstance(node.value, bool):
            raise node.error(f"expected true or false, got {_kind(node.value)}")
        return node.value

    def duration(
        self, key: str | None = None, default: Any = _MISSING, positive: bool = True
    ) -> Any:
        """Seconds as a float; accepts numbers and ``500ms``/``15s``/``1m``/``2h``."""
        node = self._get(key, default)
        if node is None:
            return default
        try:
            seconds = parse_duration(node.value)
        except ValueError as exc:
            raise node.error(str(exc)) from None
        if positive and seconds <= 0:
            raise node.error(f"expected a positive duration, got {node.value!r}")
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


def load_config(path: str | Path) -> ConfigNode:
    """Read a YAML mapping from ``path``; errors name the file (and line when YAML knows it)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read config file: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
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
