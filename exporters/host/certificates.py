"""Expiry of TLS certificate files on this host ("certificates renewed before expiry").

Each configured path may be a glob (``/etc/letsencrypt/live/*/cert.pem``); the
``path`` label is the file actually read. An unreadable or unparseable file,
or a literal path that does not exist, fails the collector (so it shows as
``vigil_host_collector_success{collector="tls_certificate"} 0``) while the
other files are still reported.
"""

from __future__ import annotations

import glob
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.common.certs import CertificateError, not_after
from exporters.common.tasks import CollectionError

PREFIX = "vigil_host"


def collect_certificates(patterns: list[str]) -> list[Metric]:
    family = GaugeMetricFamily(
        f"{PREFIX}_tls_certificate_expiry_timestamp_seconds",
        "notAfter of the certificate in this file, in Unix seconds.",
        labels=["path"],
    )
    errors: list[str] = []
    seen: set[str] = set()
    for pattern in patterns:
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            try:
                family.add_metric([path], not_after(Path(path).read_bytes()))
            except (OSError, CertificateError) as exc:
                errors.append(f"{path}: {getattr(exc, 'strerror', None) or exc}")
    if errors:
        raise CollectionError("; ".join(errors), [family])
    return [family]
