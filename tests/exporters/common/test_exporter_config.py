"""exporters.common.config: values read, and errors that name file and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporters.common.config import (
    ConfigError,
    ConfigNode,
    load_config,
    parse_address,
    parse_duration,
)


def node(data: object) -> ConfigNode:
    return ConfigNode(data, "host.yml")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(15, 15.0), (0.5, 0.5), ("15s", 15.0), ("500ms", 0.5), ("2m", 120.0), ("1h", 3600.0),
     ("1.5s", 1.5), ("1d", 86400.0), ("7", 7.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["fast", "15 minutes", "-1s", True, "1w"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("db:5432", ("db", 5432)), ("127.0.0.1:9731", ("127.0.0.1", 9731)),
     ("[::1]:80", ("::1", 80))],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


def test_empty_host_only_with_default() -> None:
    assert parse_address(":9731", default_host="0.0.0.0") == ("0.0.0.0", 9731)
    with pytest.raises(ValueError):
        parse_address(":9731")


# (data, how it is read, expected message)
BAD = [
    ({"tcp_targets": [{"address": "a:1"}, {"address": "b:2"}, {"address": "nope"}]},
     lambda n: [t.address("address") for t in n.items("tcp_targets")],
     'host.yml: tcp_targets[2].address: expected "host:port", got \'nope\''),
    ({}, lambda n: n.str("dsn"), "host.yml: dsn: required key is missing"),
    ({"backups": {"interval": "often"}}, lambda n: n.child("backups").duration("interval"),
     "host.yml: backups.interval: expected a duration such as 500ms, 15s or 1m, got 'often'"),
    ({"backups": {"interval": "0s"}}, lambda n: n.child("backups").duration("interval"),
     "host.yml: backups.interval: expected a positive duration, got '0s'"),
    ({"backups": {"interval": float("nan")}}, lambda n: n.child("backups").duration("interval"),
     "host.yml: backups.interval: expected a finite duration, got nan"),
    ({"backups": {"interval": float("inf")}}, lambda n: n.child("backups").duration("interval"),
     "host.yml: backups.interval: expected a finite duration, got inf"),
    ({"interval": "1ms"}, lambda n: n.duration("interval"),
     "host.yml: interval: expected a duration from 1s to 24h, got '1ms'"),
    ({"interval": "400d"}, lambda n: n.duration("interval"),
     "host.yml: interval: expected a duration from 1s to 24h, got '400d'"),
    ({"timeout": 0.001}, lambda n: n.duration("timeout"),
     "host.yml: timeout: expected a duration from 100ms to 1h, got 0.001"),
    ({"timeout": "9" * 400 + "s"}, lambda n: n.duration("timeout"),
     "host.yml: timeout: expected a duration from 100ms to 1h, got"
     f" '{'9' * 39}... (403 characters)"),
    ({"connect_timeout": "500ms"}, lambda n: n.duration("connect_timeout"),
     "host.yml: connect_timeout: expected a duration from 1s to 5m, got '500ms'"),
    ({"backoff_max": 10**400}, lambda n: n.duration("backoff_max"),
     f"host.yml: backoff_max: duration out of range: 1{'0' * 39}... (401 characters)"),
    ({"grace": "30d"}, lambda n: n.duration("grace"),
     "host.yml: grace: expected a duration from 1ms to 168h, got '30d'"),
    ({"ratio": float("nan")}, lambda n: n.number("ratio"),
     "host.yml: ratio: expected a finite number, got nan"),
    ({"limit": 10**30}, lambda n: n.int("limit", minimum=1),
     "host.yml: limit: expected an integer <= 1000000, got 1000000000000000000000000000000"),
    ({"limit": "ten"}, lambda n: n.int("limit"), "host.yml: limit: expected an integer, got a string"),
    ({"limit": 0}, lambda n: n.int("limit", minimum=1),
     "host.yml: limit: expected an integer >= 1, got 0"),
    ({"verify": "yes"}, lambda n: n.bool("verify"), "host.yml: verify: expected true or false, got a string"),
    ({"tcp_targets": {"address": "a:1"}}, lambda n: n.items("tcp_targets"),
     "host.yml: tcp_targets: expected a list, got a mapping"),
    ({"targts": []}, lambda n: n.reject_unknown(["targets"]),
     "host.yml: targts: unknown key (known keys: targets)"),
    ({"filesystems": [1]}, lambda n: n.child("filesystems").str("timeout", "1s"),
     "host.yml: filesystems: expected a mapping, got a list"),
]


@pytest.mark.parametrize(("data", "read", "message"), BAD)
def test_errors_name_the_key(data: object, read, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read(node(data))
    assert str(caught.value) == message


def test_defaults_and_values() -> None:
    n = node({"a": {"b": [1, 2]}, "name": "x", "flag": False, "t": "250ms"})
    assert n.child("a").list("b") == [1, 2]
    assert n.str("name") == "x"
    assert n.str("missing", None) is None
    assert n.bool("flag") is False
    assert n.duration("t") == 0.25
    assert n.duration("u", 3.0) == 3.0
    assert n.items("nothing") == []
    assert [i.path for i in n.child("a").items("b")] == ["a.b[0]", "a.b[1]"]


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    n = ConfigNode({"cert": "tls/a.crt", "abs": "/etc/x"}, str(tmp_path / "host.yml"))
    assert n.path_value("cert") == tmp_path / "tls" / "a.crt"
    assert n.path_value("abs") == Path("/etc/x")


def test_load_config_errors(tmp_path: Path) -> None:
    missing = tmp_path / "none.yml"
    with pytest.raises(ConfigError, match=r"none\.yml: cannot read config file"):
        load_config(missing)
    broken = tmp_path / "broken.yml"
    broken.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigError, match=r"broken\.yml: line \d+: invalid YAML"):
        load_config(broken)
    scalar = tmp_path / "scalar.yml"
    scalar.write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping at the top level, got a list"):
        load_config(scalar)
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert load_config(empty).value == {}


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "exporter.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_duplicate_keys_are_an_error_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "dsn: x\ndefaults:\n  interval: 60s\n  timeout: 5s\n  interval: 1s\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: line 5: invalid YAML: key 'interval' appears twice in the same mapping"
    )


def test_aliases_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &x [1, 2]\nb: [*x, *x, *x]\n")
    with pytest.raises(ConfigError, match=r"line 2: invalid YAML: aliases .* are not allowed"):
        load_config(path)


def test_config_files_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config("/dev/zero")
    big = write(tmp_path, "a: " + "x" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than the 1048576-byte limit"):
        load_config(big)
    binary = write(tmp_path, b"a: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 3\)"):
        load_config(binary)
