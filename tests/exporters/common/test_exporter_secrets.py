"""exporters.common.secrets: env/file references, NAME_FILE, and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporters.common.config import ConfigError, ConfigNode
from exporters.common.secrets import SecretError, env_secret, redact, resolve_secret


def test_plain_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_TEST_PW", "from-env")
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    assert resolve_secret("inline") == "inline"
    assert resolve_secret({"env": "VIGIL_TEST_PW"}) == "from-env"
    assert resolve_secret({"file": str(secret_file)}) == "from-file"
    assert resolve_secret({"file": "pw"}, base_dir=tmp_path) == "from-file"


def test_name_file_wins_over_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("s3cret")
    monkeypatch.setenv("VIGIL_TEST_PW", "plain")
    assert env_secret("VIGIL_TEST_PW") == "plain"
    monkeypatch.setenv("VIGIL_TEST_PW_FILE", str(secret_file))
    assert env_secret("VIGIL_TEST_PW") == "s3cret"
    assert resolve_secret({"env": "VIGIL_TEST_PW"}) == "s3cret"


def test_unresolvable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_TEST_UNSET", raising=False)
    monkeypatch.delenv("VIGIL_TEST_UNSET_FILE", raising=False)
    with pytest.raises(SecretError, match="VIGIL_TEST_UNSET"):
        resolve_secret({"env": "VIGIL_TEST_UNSET"})
    with pytest.raises(SecretError, match="cannot read secret file"):
        resolve_secret({"file": str(tmp_path / "absent")})
    with pytest.raises(SecretError, match="expected a string"):
        resolve_secret({"vault": "x"})


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfepassword\n", "is not UTF-8 text"),
     (b"pass\x00word", "is not text (it contains NUL bytes)"),
     (b"x" * (64 * 1024 + 1), "larger than the 65536-byte limit")],
)
def test_a_secret_file_that_is_not_a_short_text_is_a_config_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_bytes(content)
    node = ConfigNode({"password": {"file": str(secret_file)}}, "pg.yml")
    with pytest.raises(ConfigError) as caught:
        node.secret("password")
    assert str(caught.value).startswith(f"pg.yml: password: secret file '{secret_file}'")
    assert message in str(caught.value)


def test_a_secret_file_must_be_a_regular_file() -> None:
    with pytest.raises(SecretError, match="not a regular file"):
        resolve_secret({"file": "/dev/zero"})


def test_config_node_secret_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_TEST_UNSET", raising=False)
    node = ConfigNode({"database": {"password": {"env": "VIGIL_TEST_UNSET"}}}, "pg.yml")
    with pytest.raises(ConfigError) as caught:
        node.child("database").secret("password")
    assert str(caught.value) == (
        "pg.yml: database.password: environment variable VIGIL_TEST_UNSET "
        "(or VIGIL_TEST_UNSET_FILE) is not set"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://shop:hunter2@db:5432/shop", "postgresql://shop:***@db:5432/shop"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u:***@h/db?sslmode=require"),
        ("host=db user=shop password=hunter2 dbname=shop",
         "host=db user=shop password=*** dbname=shop"),
        ("host=db password='a b\\' c' dbname=x", "host=db password=*** dbname=x"),
        ("https://api.example/v1?token=abc&x=1", "https://api.example/v1?token=***&x=1"),
        ("postgresql://db/shop?user=u&password=pw", "postgresql://db/shop?user=u&password=***"),
        ("postgresql:///shop", "postgresql:///shop"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
