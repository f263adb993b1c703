"""Directory budgets: a directory's size against a budget, served as if it were a filesystem.

Why: a spool, upload or log directory often has a size it must stay under (a quota by
convention, its share of a volume other services use) long before the filesystem under
it is full. Served as the filesystem series (``vigil_host_filesystem_size_bytes`` = the
budget, ``_avail_bytes`` = what is left of it, ``_used_ratio`` = used / budget) with
``device="directory"`` and ``fstype="directory"``, the spec's disk alerts, forecasts and
the capacity dashboard apply to it unchanged, without a signal of its own.

Used is ``du``'s figure: allocated blocks (``st_blocks`` x 512), so a sparse file counts
what it occupies, and a file linked twice counts once. The ratio is not capped: a
directory over its budget reads above 1, which is the truth.

Walking is bounded, because a directory can hold anything: each directory is its own
background task (``directory:<path>``) with a timeout; symbolic links are not followed
(a link loop costs one entry); more than ``max_entries`` entries fail the run rather
than walk on (``collector_success 0``, the series withheld, a log line naming the
path). A directory that does not exist, or cannot be read, fails the same way: an
empty budget is not "0 % used".

Public API: ``DirectoryBudget``, ``usage(budget)``, ``collect_directory(budget)``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.common.tasks import CollectionError
from exporters.host.filesystems import LABELS, PREFIX

DEVICE = FSTYPE = "directory"
DEFAULT_MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class DirectoryBudget:
    path: str
    budget_bytes: int
    max_entries: int = DEFAULT_MAX_ENTRIES


def usage(budget: DirectoryBudget) -> int:
    """Bytes allocated under the directory (du), within ``max_entries`` entries.

    Raises ``CollectionError`` for a directory that is missing, unreadable (itself or
    one inside it) or larger than its entry bound."""
    try:
        top = os.lstat(budget.path)
    except OSError as exc:
        raise CollectionError(f"{budget.path}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(top.st_mode):
        raise CollectionError(f"{budget.path}: not a directory")
    used, entries = 0, 0
    seen: set[tuple[int, int]] = set()
    pending = [budget.path]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                for entry in listing:
                    entries += 1
                    if entries > budget.max_entries:
                        raise CollectionError(f"{budget.path}: more than {budget.max_entries} "
                                              "entries; raise max_entries or watch a smaller "
                                              "directory")
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed while walking
                    if st.st_nlink > 1:
                        if (st.st_dev, st.st_ino) in seen:
                            continue
                        seen.add((st.st_dev, st.st_ino))
                    used += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        pending.append(entry.path)
        except FileNotFoundError:
            if directory == budget.path:
                raise CollectionError(f"{budget.path}: removed while walking") from None
        except PermissionError as exc:
            raise CollectionError(f"cannot read {exc.filename or directory}: "
                                  f"{exc.strerror or exc}") from None
    return used


def collect_directory(budget: DirectoryBudget) -> list[Metric]:
    """The filesystem series for one directory (families of the same name merge with the
    mounts' and the other directories')."""
    used = usage(budget)
    labels = [DEVICE, budget.path, FSTYPE]
    size = GaugeMetricFamily(f"{PREFIX}_filesystem_size_bytes", "Filesystem size.",
                             labels=LABELS)
    avail = GaugeMetricFamily(f"{PREFIX}_filesystem_avail_bytes",
                              "Filesystem space available to non-root users.", labels=LABELS)
    ratio = GaugeMetricFamily(
        f"{PREFIX}_filesystem_used_ratio",
        "Used space over used plus available space (df's Use%), 0 to 1.", labels=LABELS)
    size.add_metric(labels, budget.budget_bytes)
    avail.add_metric(labels, max(0, budget.budget_bytes - used))
    ratio.add_metric(labels, used / budget.budget_bytes)
    return [size, avail, ratio]
