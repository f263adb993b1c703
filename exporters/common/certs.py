"""X.509 expiry: the ``notAfter`` of a certificate as a Unix timestamp.

Why here: both the host exporter (certificate files on disk) and the http
exporter (certificates served by probed endpoints) report
``..._tls_certificate_expiry_timestamp_seconds``; one parser serves both.
A file may hold a PEM chain: the first certificate (the leaf, by convention)
is the one that expires the service.

cryptography is imported on first use, not with this module: its X.509 code
costs an exporter about 4 MiB of resident memory, and only exporters that
read certificates (``tls_certificates`` files, ``https://`` probes) need it.

Public API: ``CertificateError``, ``not_after(data: bytes) -> float``.
"""

from __future__ import annotations


class CertificateError(ValueError):
    """The bytes are neither a PEM nor a DER X.509 certificate."""


def not_after(data: bytes) -> float:
    """``notAfter`` of the first certificate in ``data`` (PEM or DER), in Unix seconds."""
    from cryptography import x509  # lazily: see the module docstring

    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(f"not an X.509 certificate: {exc}") from None
    return cert.not_valid_after_utc.timestamp()
