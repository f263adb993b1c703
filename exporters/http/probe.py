"""HTTP probes: is an endpoint answering as expected, how fast, with which certificate.

Each probe runs as its own background task (own interval), so a target that
hangs costs its own timeout and never a scrape's time. The whole request,
body included, is bounded by ``timeout``.

The certificate expiry is read over a separate TLS connection with
verification off, on purpose: a probe whose certificate has expired fails
verification (``success 0``), yet the expiry timestamp is exactly what the
operator needs to see then. It is the certificate served for the probe's own
host and port (before redirects).
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.common.certs import CertificateError, not_after

PREFIX = "vigil_http"
MAX_BODY_BYTES = 1 << 20  # read at most this much of the body; enough to time it


@dataclass(frozen=True)
class Probe:
    name: str
    url: str
    method: str = "GET"
    expected_status: tuple[str, ...] = ("2xx",)  # "200" exact or "2xx" class
    timeout: float = 5.0
    interval: float = 30.0
    follow_redirects: bool = True
    verify: bool | str = True  # False, True (system CAs) or a CA bundle path
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def status_matches(code: int, expected: tuple[str, ...]) -> bool:
    text = str(code)
    return any(text == e or (e.endswith("xx") and text[0] == e[0]) for e in expected)


def peer_certificate_expiry(url: str, timeout: float) -> float | None:
    """``notAfter`` of the certificate ``url``'s server presents, unverified; None if unavailable."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    if not der:
        return None
    try:
        return not_after(der)
    except CertificateError:
        return None


def run_probe(probe: Probe) -> list[Metric]:
    """One probe: returns the five probe families for ``probe.name``."""
    started = time.monotonic()
    deadline = started + probe.timeout
    status, redirects, ok = 0, 0, False
    try:
        with requests.Session() as session:
            response = session.request(
                probe.method, probe.url, headers={"Connection": "close", **probe.headers},
                data=probe.body, timeout=probe.timeout, verify=probe.verify,
                allow_redirects=probe.follow_redirects, stream=True,
            )
            with response:
                status, redirects = response.status_code, len(response.history)
                read = 0
                for chunk in response.iter_content(65536):
                    read += len(chunk)
                    if read >= MAX_BODY_BYTES or time.monotonic() > deadline:
                        break
                ok = time.monotonic() <= deadline and status_matches(status, probe.expected_status)
    except (requests.RequestException, OSError):
        ok = False
    duration = time.monotonic() - started
    expiry = peer_certificate_expiry(probe.url, probe.timeout)

    def family(suffix: str, doc: str, value: float) -> GaugeMetricFamily:
        f = GaugeMetricFamily(f"{PREFIX}_probe_{suffix}", doc, labels=["target"])
        f.add_metric([probe.name], value)
        return f

    families = [
        family("success", "Whether the probe answered with an expected status in time.",
               1 if ok else 0),
        family("duration_seconds", "Duration of the probe, redirects and body included.",
               duration),
        family("status_code", "HTTP status code of the final response, 0 if none.", status),
        family("redirects", "Number of redirects followed.", redirects),
    ]
    if expiry is not None:
        families.append(family("tls_certificate_expiry_timestamp_seconds",
                               "notAfter of the certificate served by the target.", expiry))
    return families
