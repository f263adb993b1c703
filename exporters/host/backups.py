"""Backup freshness: the newest file of each configured kind of backup.

Why a timestamp and not an age: an age would be stale the moment it is
scraped; ``time() - vigil_host_backup_newest_timestamp_seconds`` is exact at
query time, and the recovery-point alert is written that way. A kind with no
file at all reports 0, so the age is enormous and the alert fires instead of
going silent. Walking backup trees can be slow, so each kind is its own
background task (collector ``backup:<kind>``) with its own timeout: one slow
or broken path never blanks the other kinds.

A path is either a directory (walked recursively), a glob (``**`` matches
any depth) or a file. Neither follows symbolic links to directories while
descending (``os.walk``'s default; wcmatch's ``GLOBSTAR`` without
``FOLLOW``), so a symlink loop under a backup tree costs one entry, not an
endless walk; the standard library's ``glob`` follows them and cannot be
told not to before Python 3.13. A directory that cannot be read (the
configured one, or one inside it; for a glob, the fixed directory it starts
from) fails the kind: ``collector_success 0``, its series withheld and a log
line naming the directory, never "no files, success 1". A path that does not
exist is not an error: it has no backups, and the age alert says so.

Public API: ``BackupKind``, ``newest(paths)``, ``collect_backup(kind)``,
``is_magic(pattern)``, ``iglob(pattern)``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.common.tasks import CollectionError

PREFIX = "vigil_host"
_ERRORS_SHOWN = 3


def wcglob() -> Any:
    """wcmatch's glob module, imported on first use (about 1.4 MiB, only for backups and
    certificates); its ``GLOBSTAR`` without ``FOLLOW`` does not descend into symlinked
    directories."""
    from wcmatch import glob

    return glob


def is_magic(pattern: str) -> bool:
    return bool(wcglob().is_magic(pattern, flags=wcglob().GLOBSTAR))


def iglob(pattern: str) -> Iterator[str]:
    """Paths matching ``pattern``; ``**`` matches any depth, symlinked directories not entered."""
    glob = wcglob()
    return glob.iglob(pattern, flags=glob.GLOBSTAR)


@dataclass(frozen=True)
class BackupKind:
    kind: str
    paths: tuple[str, ...]


def _glob_root(pattern: str) -> str:
    """The directory a glob starts from: its leading components without wildcards."""
    parts = pattern.split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if is_magic(part):
            break
        fixed.append(part)
    return os.sep.join(fixed) or (os.sep if pattern.startswith(os.sep) else ".")


def _files(pattern: str, errors: list[str]) -> Iterator[str]:
    def unreadable(exc: OSError) -> None:
        if exc.errno != errno.ENOENT:  # ENOENT: removed while walking
            errors.append(f"{exc.filename}: {exc.strerror or exc}")

    if os.path.isdir(pattern):
        for root, _dirs, files in os.walk(pattern, onerror=unreadable):
            for name in files:
                yield os.path.join(root, name)
    elif is_magic(pattern):
        try:
            with os.scandir(_glob_root(pattern)):
                pass
        except OSError as exc:
            unreadable(exc)
            return
        yield from iglob(pattern)
    else:
        yield pattern


def newest(paths: tuple[str, ...]) -> tuple[float, int, int]:
    """``(newest mtime, its size, number of files)`` over regular files; ``(0, 0, 0)`` if none.

    Raises ``CollectionError`` naming the directories that could not be read.
    """
    best_mtime, best_size, count = 0.0, 0, 0
    errors: list[str] = []
    for pattern in paths:
        for path in _files(pattern, errors):
            try:
                st = os.stat(path)
            except OSError:
                continue  # removed while walking, or a dangling link
            if not stat.S_ISREG(st.st_mode):
                continue
            count += 1
            if st.st_mtime > best_mtime:
                best_mtime, best_size = st.st_mtime, st.st_size
    if errors:
        more = f" (and {len(errors) - _ERRORS_SHOWN} more)" if len(errors) > _ERRORS_SHOWN else ""
        raise CollectionError("cannot read " + "; ".join(errors[:_ERRORS_SHOWN]) + more)
    return best_mtime, best_size, count


def collect_backup(kind: BackupKind) -> list[Metric]:
    """The three series of one kind (families of the same name merge across kinds)."""
    mtime, nbytes, count = newest(kind.paths)
    ts = GaugeMetricFamily(
        f"{PREFIX}_backup_newest_timestamp_seconds",
        "Newest backup file's modification time, 0 if none.",
        labels=["kind"],
    )
    size = GaugeMetricFamily(f"{PREFIX}_backup_newest_size_bytes",
                             "Size of the newest backup file of this kind.", labels=["kind"])
    files = GaugeMetricFamily(f"{PREFIX}_backup_files",
                              "Number of backup files of this kind found.", labels=["kind"])
    ts.add_metric([kind.kind], mtime)
    size.add_metric([kind.kind], nbytes)
    files.add_metric([kind.kind], count)
    return [ts, size, files]
