"""HTTP probes: is an endpoint answering as expected, how fast, with which certificate.

Each probe runs as its own background task (own interval), so a target that
hangs costs its own timeout and never a scrape's time. The whole request,
body included, is bounded by ``timeout``.

The certificate expiry is read over a separate TLS connection with
verification off, on purpose: a probe whose certificate has expired fails
verification (``success 0``), yet the expiry timestamp is exactly what the
operator needs to see then. It is the certificate served for the probe's own
host and port (before redirects).

The request goes through urllib3 itself rather than requests (which is built
on it): requests added 4 MiB of resident memory to the exporter for nothing a
probe uses. As before, redirects are followed up to 30 (``_redirected``: the
method and ``Authorization`` rules requests applies) and a gzip body is
decoded while read. A probe connects directly (``HTTP_PROXY``/``.netrc`` are not read, as
blackbox_exporter does not read them by default), verifies against the
system's CA certificates (or ``ca_file``) and says ``User-Agent: vigil-probe``
unless the config sets headers of its own.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.common.certs import CertificateError, not_after

PREFIX = "vigil_http"
MAX_BODY_BYTES = 1 << 20  # read at most this much of the body; enough to time it
MAX_REDIRECTS = 30  # as requests and browsers
DEFAULT_HEADERS = {"User-Agent": "vigil-probe", "Accept": "*/*",
                   "Accept-Encoding": "gzip, deflate"}


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


def _redirected(
    method: str, url: str, body: str | None, headers: dict[str, str], status: int,
    location: str,
) -> tuple[str, str, str | None, dict[str, str]]:
    """The next request after a redirect, by the rules browsers and requests follow.

    303 turns anything but HEAD into a body-less GET (without Content-Type), so
    do 302 and a POST answered with 301; 307 and 308 repeat the request as it
    was; ``Authorization`` is not sent on to another host.
    """
    target = urljoin(url, location)
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    if urlsplit(target).netloc != urlsplit(url).netloc:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    return method, target, body, headers


def run_probe(probe: Probe) -> list[Metric]:
    """One probe: returns the five probe families for ``probe.name``."""
    started = time.monotonic()
    deadline = started + probe.timeout
    status, redirects, ok = 0, 0, False
    if probe.verify is False:
        pool = urllib3.PoolManager(cert_reqs="CERT_NONE")
    elif isinstance(probe.verify, str):
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=probe.verify)
    else:
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED")
    method, url, body = probe.method, probe.url, probe.body
    headers = {**DEFAULT_HEADERS, "Connection": "close", **probe.headers}
    timeout = urllib3.Timeout(connect=probe.timeout, read=probe.timeout)
    try:
        with pool:
            while True:
                response = pool.request(method, url, headers=headers, body=body,
                                        timeout=timeout, retries=False, redirect=False,
                                        preload_content=False)
                status = response.status
                location = response.get_redirect_location()
                if (not probe.follow_redirects or not location
                        or redirects >= MAX_REDIRECTS):
                    break
                response.close()  # the redirect's own body is not read
                redirects += 1
                method, url, body, headers = _redirected(method, url, body, headers,
                                                         status, location)
            try:
                read = 0
                for chunk in response.stream(65536):
                    read += len(chunk)
                    if read >= MAX_BODY_BYTES or time.monotonic() > deadline:
                        break
                ok = time.monotonic() <= deadline and status_matches(status, probe.expected_status)
            finally:
                response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError):
        ok = False  # a status already received (body cut short) stays reported
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
