"""``--web.config.file``: TLS and basic auth in the format node_exporter reads.

Why this exact format: operators already have ``web-config.yml`` files for
node_exporter and the other Prometheus exporters (the exporter-toolkit
format); Vigil's exporters accept the same file unchanged::

    tls_server_config:
      cert_file: server.crt          # relative paths: relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional
      client_ca_file: ca.crt                        # needed to verify clients
      min_version: TLS12                            # optional, TLS10..TLS13
      max_version: TLS13                            # optional
    basic_auth_users:
      prometheus: $2y$10$...          # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':')
    http_server_config:              # accepted for compatibility; only
      headers: {}                    # response headers are applied

``client_auth_type`` supports ``NoClientCert`` (default),
``VerifyClientCertIfGiven`` and ``RequireAndVerifyClientCert``; the Go-only
``RequestClientCert``/``RequireAnyClientCert`` (accept unverified client
certificates) have no safe equivalent in Python's ``ssl`` and are refused.

bcrypt is deliberately slow (~50-250 ms of CPU per check), so a flood of
wrong passwords could starve scrapes. ``BasicAuth`` bounds that work the way
Go's exporter-toolkit does, and a little further:

- credentials that verified are remembered (keyed by a SHA-256 of user,
  password and hash, never the password itself), so Prometheus pays bcrypt
  once, not every 15 s; this set only holds working credentials, so a flood
  cannot push Prometheus' entry out;
- failed attempts are remembered too, in a separate bounded LRU, so
  repeating a wrong password costs a hash lookup;
- at most ``max_concurrent_checks`` bcrypt checks run at once (default 1,
  as exporter-toolkit's mutex) and at most ``max_waiting_checks`` more may
  wait for one; beyond that ``verify`` answers ``AuthResult.BUSY`` at once
  (the server replies 429), so new, unknown credentials can occupy at most
  a few workers and the rest keep serving scrapes whose credentials are known.

Passwords longer than 72 bytes: bcrypt only ever uses the first 72 bytes.
Go's exporter-toolkit (golang.org/x/crypto ``bcrypt.CompareHashAndPassword``,
v0.14 in the toolkit's go.mod; later x/crypto releases added
``ErrPasswordTooLong`` to ``GenerateFromPassword`` only, not to the
comparison) compares those 72 bytes and ignores the rest, whereas Python's
``bcrypt`` 5 raises ``ValueError``. Vigil does what Go does, so the same
hash and password work the same with node_exporter and with Vigil: the first
72 bytes are compared, the answer is 200 or 401 (never a dropped
connection), and a rate-limited warning names the user (never the password).

Public API: ``WebConfig``, ``load_web_config(path) -> WebConfig``, ``BasicAuth``
(``.verify(header) -> AuthResult``, ``.check(header) -> bool``), ``AuthResult``,
``BCRYPT_MAX_PASSWORD_BYTES``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import logging
import re
import ssl
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import bcrypt

from exporters.common.config import ConfigError, ConfigNode, load_config
from exporters.common.ratelog import RateLimitedLog

_BCRYPT_HASH = re.compile(r"^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$")
_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
BCRYPT_MAX_PASSWORD_BYTES = 72  # bcrypt ignores everything after this
_VERIFIED_LIMIT = 64  # working credentials: a handful of scrapers
_FAILED_LIMIT = 4096  # wrong ones, least recently seen forgotten first

log = logging.getLogger(__name__)


class AuthResult(enum.Enum):
    OK = "ok"
    DENIED = "denied"
    BUSY = "busy"  # too many bcrypt checks already running or waiting


@cache
def _dummy_hash() -> bytes:
    """A hash to check unknown users against, so they cost as much as a wrong password."""
    return bcrypt.hashpw(b"vigil-dummy", bcrypt.gensalt(rounds=10))


class BasicAuth:
    """Check ``Authorization: Basic`` headers against bcrypt hashes; see the module docstring."""

    def __init__(
        self, users: dict[str, bytes], max_concurrent_checks: int = 1,
        max_waiting_checks: int = 2,
    ) -> None:
        self.users = users
        self._verified: set[bytes] = set()
        self._failed: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._admission = threading.BoundedSemaphore(max_concurrent_checks + max_waiting_checks)
        self._running = threading.BoundedSemaphore(max_concurrent_checks)
        self._ratelog = RateLimitedLog(log)

    def check(self, header: str | None) -> bool:
        """True when ``header`` carries valid credentials (waits for a bcrypt slot if need be)."""
        return self._verify(header, block=True) is AuthResult.OK

    def verify(self, header: str | None) -> AuthResult:
        """``OK``, ``DENIED``, or ``BUSY`` when bcrypt work is saturated by other requests."""
        return self._verify(header, block=False)

    def _verify(self, header: str | None, block: bool) -> AuthResult:
        if not header or header[:6].lower() != "basic ":
            return AuthResult.DENIED
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return AuthResult.DENIED
        user, sep, password = decoded.partition(":")
        if not sep:
            return AuthResult.DENIED
        hashed = self.users.get(user)
        secret = password.encode()
        key = hashlib.sha256(b"\0".join([user.encode(), secret, hashed or b""])).digest()
        with self._lock:
            if key in self._verified:
                return AuthResult.OK
            if key in self._failed:
                self._failed.move_to_end(key)
                return AuthResult.DENIED
        if len(secret) > BCRYPT_MAX_PASSWORD_BYTES:
            self._ratelog.warning(
                "long-password",
                "basic auth: user %r sent a password longer than %d bytes; as Go's "
                "exporter-toolkit does, only its first %d bytes are compared",
                user[:64], BCRYPT_MAX_PASSWORD_BYTES, BCRYPT_MAX_PASSWORD_BYTES)
            secret = secret[:BCRYPT_MAX_PASSWORD_BYTES]
        if not self._admission.acquire(blocking=block):
            return AuthResult.BUSY
        try:
            with self._running:
                ok = bcrypt.checkpw(secret, hashed or _dummy_hash()) and hashed is not None
        finally:
            self._admission.release()
        with self._lock:
            if ok:
                if len(self._verified) >= _VERIFIED_LIMIT:
                    self._verified.clear()
                self._verified.add(key)
            else:
                self._failed[key] = None
                if len(self._failed) > _FAILED_LIMIT:
                    self._failed.popitem(last=False)
        return AuthResult.OK if ok else AuthResult.DENIED


@dataclass
class WebConfig:
    """Parsed web config: a server TLS context and/or basic auth users."""

    ssl_context: ssl.SSLContext | None = None
    auth: BasicAuth | None = None
    headers: dict[str, str] = field(default_factory=dict)


def load_web_config(path: str | Path) -> WebConfig:
    """Parse and check a web-config file; every problem is a ``ConfigError`` at its key."""
    root = load_config(path)
    root.reject_unknown(["tls_server_config", "basic_auth_users", "http_server_config"])
    config = WebConfig()
    if root.has("tls_server_config"):
        config.ssl_context = _tls_context(root.child("tls_server_config"))
    if root.has("basic_auth_users"):
        users_node = root.child("basic_auth_users")
        users: dict[str, bytes] = {}
        for user in users_node.mapping():
            hashed = users_node.str(user)
            if not _BCRYPT_HASH.match(hashed):
                raise users_node.error("expected a bcrypt hash ($2y$...)", user)
            users[user] = hashed.encode()
        config.auth = BasicAuth(users)
    if root.has("http_server_config"):
        http = root.child("http_server_config")
        http.reject_unknown(["headers", "http2"])
        headers = http.child("headers", {})
        config.headers = {name: headers.str(name) for name in headers.mapping()}
    return config


def _tls_context(node: ConfigNode) -> ssl.SSLContext:
    node.reject_unknown(
        ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
         "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites"]
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _tls_version(node, "min_version", ssl.TLSVersion.TLSv1_2)
    if node.has("max_version"):
        context.maximum_version = _tls_version(node, "max_version", ssl.TLSVersion.TLSv1_3)
    cert_file = node.path_value("cert_file")
    key_file = node.path_value("key_file")
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise node.error(f"cannot load certificate/key: {exc}", "cert_file") from None

    auth_type = node.str("client_auth_type", "NoClientCert")
    if auth_type not in _CLIENT_AUTH:
        raise node.error(
            f"unsupported value {auth_type!r} (supported: {', '.join(_CLIENT_AUTH)})",
            "client_auth_type",
        )
    context.verify_mode = _CLIENT_AUTH[auth_type]
    if node.has("client_ca_file"):
        try:
            context.load_verify_locations(cafile=node.path_value("client_ca_file"))
        except (OSError, ssl.SSLError) as exc:
            raise node.error(f"cannot load CA file: {exc}", "client_ca_file") from None
    elif context.verify_mode != ssl.CERT_NONE:
        raise node.error(f"required when client_auth_type is {auth_type}", "client_ca_file")
    return context


def _tls_version(node: ConfigNode, key: str, default: ssl.TLSVersion) -> ssl.TLSVersion:
    name = node.str(key, None)
    if name is None:
        return default
    if name not in _TLS_VERSIONS:
        raise node.error(f"expected one of {', '.join(_TLS_VERSIONS)}", key)
    return _TLS_VERSIONS[name]


__all__ = ["BCRYPT_MAX_PASSWORD_BYTES", "AuthResult", "BasicAuth", "ConfigError", "WebConfig",
           "load_web_config"]
