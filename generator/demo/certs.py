"""Self-signed certificates for local HTTPS: the demo's payments API, and tests.

Why: the demo probes an HTTPS endpoint of its own (so served-certificate expiry
and probe failures have something real to measure), and the host exporter watches
the same certificate file. Exporter tests need the same thing with chosen
lifetimes, including already expired ones. Made with ``cryptography``, which the
exporters already depend on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path


def self_signed(
    directory: Path, days: float = 30, common_name: str = "localhost", name: str = "server"
) -> tuple[Path, Path, float]:
    """A self-signed certificate for 127.0.0.1/localhost valid for ``days`` (may be < 0).

    Writes ``<name>.crt`` and ``<name>.key`` (mode 0600) into ``directory``.
    Returns ``(cert_path, key_path, not_after_timestamp)``; ``notAfter`` is whole
    seconds. The certificate is its own CA, so a client can trust exactly it.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

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
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path, not_after.timestamp()
