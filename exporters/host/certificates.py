"""Expiry of TLS certificate files on this host ("certificates renewed before expiry").

Each configured path may be a glob (``/etc/letsencrypt/live/*/cert.pem``;
``**`` matches any depth without following symlinked directories, as in
:mod:`exporters.host.backups`); the ``path`` label is the file actually read.
Each configured path is its own background task (collector
``tls_certificate:<configured path>``) with its own timeout, so one hung or
broken path does not blank the others. An unreadable or unparseable file, or
a literal path that does not exist, fails that collector while the other
files it matched are still reported.

A file is opened non-blocking and checked with ``fstat`` before anything is
read: anything but a regular file (a FIFO would block for ever, ``/dev/zero``
would never end) and any file larger than ``MAX_CERTIFICATE_BYTES`` (a
certificate chain is a few KiB; a 300 MiB log matched by a careless glob is
not read into memory) is refused with a reason.

Public API: ``MAX_CERTIFICATE_BYTES``, ``collect_certificates(patterns)``.
"""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.common.certs import CertificateError, not_after
from exporters.common.files import read_bounded
from exporters.common.tasks import CollectionError
from exporters.host.backups import iglob, is_magic

PREFIX = "vigil_host"
MAX_CERTIFICATE_BYTES = 1024 * 1024


def collect_certificates(patterns: list[str]) -> list[Metric]:
    family = GaugeMetricFamily(
        f"{PREFIX}_tls_certificate_expiry_timestamp_seconds",
        "notAfter of the certificate in this file, in Unix seconds.",
        labels=["path"],
    )
    errors: list[str] = []
    seen: set[str] = set()
    for pattern in patterns:
        paths = sorted(iglob(pattern)) if is_magic(pattern) else [pattern]
        for path in paths:
            if path in seen:
                continue
            seen.add(path)
            try:
                family.add_metric([path], not_after(read_bounded(path, MAX_CERTIFICATE_BYTES)))
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror or exc}")
            except (ValueError, CertificateError) as exc:
                errors.append(f"{path}: {exc}")
    if errors:
        raise CollectionError("; ".join(errors), [family])
    return [family]
