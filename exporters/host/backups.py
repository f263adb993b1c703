"""Backup freshness: the newest file of each configured kind of backup.

Why a timestamp and not an age: an age would be stale the moment it is
scraped; ``time() - vigil_host_backup_newest_timestamp_seconds`` is exact at
query time, and the recovery-point alert is written that way. A kind with no
file at all reports 0, so the age is enormous and the alert fires instead of
going silent. Walking backup trees can be slow, so this runs as a background
task.

A path is either a directory (walked recursively) or a glob (``**`` allowed).
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

PREFIX = "vigil_host"


@dataclass(frozen=True)
class BackupKind:
    kind: str
    paths: tuple[str, ...]


def _files(pattern: str) -> Iterator[str]:
    if os.path.isdir(pattern):
        for root, _dirs, files in os.walk(pattern):
            for name in files:
                yield os.path.join(root, name)
    else:
        yield from glob.iglob(pattern, recursive=True)


def newest(paths: tuple[str, ...]) -> tuple[float, int, int]:
    """``(newest mtime, its size, number of files)`` over regular files; ``(0, 0, 0)`` if none."""
    best_mtime, best_size, count = 0.0, 0, 0
    for pattern in paths:
        for path in _files(pattern):
            try:
                st = os.stat(path)
            except OSError:
                continue  # removed while walking
            if not stat.S_ISREG(st.st_mode):
                continue
            count += 1
            if st.st_mtime > best_mtime:
                best_mtime, best_size = st.st_mtime, st.st_size
    return best_mtime, best_size, count


def collect_backups(kinds: list[BackupKind]) -> list[Metric]:
    ts = GaugeMetricFamily(
        f"{PREFIX}_backup_newest_timestamp_seconds",
        "Newest backup file's modification time, 0 if none.",
        labels=["kind"],
    )
    size = GaugeMetricFamily(f"{PREFIX}_backup_newest_size_bytes",
                             "Size of the newest backup file of this kind.", labels=["kind"])
    files = GaugeMetricFamily(f"{PREFIX}_backup_files",
                              "Number of backup files of this kind found.", labels=["kind"])
    for kind in kinds:
        mtime, nbytes, count = newest(kind.paths)
        ts.add_metric([kind.kind], mtime)
        size.add_metric([kind.kind], nbytes)
        files.add_metric([kind.kind], count)
    return [ts, size, files]
