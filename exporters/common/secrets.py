"""Secrets from the environment or from files, and redaction for logs.

Why: passwords and API keys must never sit in a config file that is committed
or in a log line that is shipped. A config value that holds a secret may be

- a plain string (allowed, for local development),
- ``{env: NAME}``: the value of environment variable ``NAME``,
- ``{file: PATH}``: the content of ``PATH`` with one trailing newline removed
  (Docker/Kubernetes secrets are files). The file must be a regular file of
  UTF-8 text without NUL bytes, at most :data:`MAX_SECRET_BYTES`: a key file,
  a binary or ``/dev/zero`` named by mistake is a config error, not a
  ``UnicodeDecodeError`` or a read that never ends.

``env_secret(NAME)`` follows the widespread ``NAME_FILE`` convention: when
``NAME_FILE`` is set, the secret is read from that file, otherwise from
``NAME``. ``redact(dsn)`` masks the password in URLs
(``postgresql://u:***@h/db``), in libpq key/value strings (``password=***``) and in
query parameters, so a connection string can be logged safely.

Public API: ``SecretError``, ``resolve_secret(value, base_dir=None)``,
``env_secret(name)``, ``read_secret_file(path)``, ``redact(text)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from exporters.common.files import read_bounded_text

MASK = "***"
MAX_SECRET_BYTES = 64 * 1024  # a password or token; a certificate chain would be a mistake


class SecretError(ValueError):
    """A secret reference cannot be resolved (variable unset, file unreadable)."""


def read_secret_file(path: str | Path) -> str:
    """The secret in ``path`` (one trailing newline removed); ``SecretError`` if unusable."""
    try:
        text = read_bounded_text(Path(path), MAX_SECRET_BYTES, f"secret file {str(path)!r}")
    except ValueError as exc:
        raise SecretError(str(exc)) from None
    if "\0" in text:
        raise SecretError(f"secret file {str(path)!r} is not text (it contains NUL bytes)")
    return text[:-1] if text.endswith("\n") else text


def env_secret(name: str) -> str | None:
    """``$NAME_FILE``'s content if set, else ``$NAME``, else ``None``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return read_secret_file(file_path)
    return os.environ.get(name)


def resolve_secret(value: Any, base_dir: Path | None = None) -> str:
    """The secret's text from a plain string, ``{env: NAME}`` or ``{file: PATH}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (kind, ref), = value.items()
        if kind == "env" and isinstance(ref, str) and ref:
            secret = env_secret(ref)
            if secret is None:
                raise SecretError(f"environment variable {ref} (or {ref}_FILE) is not set")
            return secret
        if kind == "file" and isinstance(ref, str) and ref:
            path = Path(ref)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            return read_secret_file(path)
    raise SecretError("expected a string, {env: NAME} or {file: PATH}")


_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@\s]*)@")
_KV_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:password|passwd|pwd|secret|token|api_key|apikey|access_token)=)(?P<pw>[^&\s#]*)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every password-like part replaced by ``***``; safe to log."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    return _KV_PASSWORD.sub(lambda m: f"{m['key']}{MASK}", text)
