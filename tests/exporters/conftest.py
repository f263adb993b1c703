"""Shared helpers for exporter tests: free ports, scraping, throwaway certificates.

Exposed as fixtures that return plain functions, because test directories
here are not importable packages (a ``tests/exporters/http`` package would
shadow the standard library's ``http``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client.parser import text_string_to_metric_families


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted label pairs): value}`` from an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _scrape(url: str, **kwargs: object) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    kwargs.setdefault("timeout", 5)
    response = requests.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return _samples(response.text)


def _make_cert(
    directory: Path, days: float = 30, common_name: str = "localhost", name: str = "server"
) -> tuple[Path, Path, float]:
    """A self-signed certificate for 127.0.0.1/localhost valid for ``days`` (may be < 0).

    Returns ``(cert_path, key_path, not_after_timestamp)``; ``notAfter`` is whole seconds.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_after = now + dt.timedelta(days=days)
    not_before = min(now, not_after) - dt.timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path, not_after.timestamp()


@pytest.fixture
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture
def scrape() -> Callable[..., dict]:
    """``scrape(url, **requests_kwargs)``: GET, assert 200, return parsed samples."""
    return _scrape


@pytest.fixture
def parse_samples() -> Callable[[str], dict]:
    return _samples


@pytest.fixture
def make_cert() -> Callable[..., tuple[Path, Path, float]]:
    return _make_cert
