"""Filesystem size, free space and used ratio per mount point.

Why each mount has its own time limit: ``statvfs`` on a dead NFS/CIFS server
blocks in the kernel, possibly forever, and no Python code can interrupt it.
Each mount is therefore stat'ed in its own daemon thread, and the scrape waits
at most ``timeout`` for all of them together. A mount that does not answer
in time is skipped, logged, and reported as
``vigil_host_filesystem_device_error{...} 1`` (node_exporter's meaning); while its
thread is still stuck no second thread is started for it, so a hung mount
costs one thread, not one per scrape.

``used_ratio`` follows ``df``'s "Use%": used / (used + available to
unprivileged users), so it reaches 1 when ordinary processes can no longer
write, even though root's reserved blocks remain.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass

import psutil
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)

PREFIX = "vigil_host"
# node_exporter's defaults, minus overlay (the root filesystem of a container).
DEFAULT_EXCLUDE_FSTYPES = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs"
    r"|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs"
    r"|erofs|sysfs|tracefs)$"
)
DEFAULT_EXCLUDE_MOUNTPOINTS = (
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
LABELS = ["device", "mountpoint", "fstype"]


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str


class FilesystemCollector:
    """Collect statvfs figures for every real mount, each bounded in time."""

    def __init__(
        self,
        timeout: float = 1.0,
        exclude_fstypes: str = DEFAULT_EXCLUDE_FSTYPES,
        exclude_mountpoints: str = DEFAULT_EXCLUDE_MOUNTPOINTS,
    ) -> None:
        self.timeout = timeout
        self.exclude_fstypes = re.compile(exclude_fstypes)
        self.exclude_mountpoints = re.compile(exclude_mountpoints)
        self._stuck: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def mounts(self) -> list[Mount]:
        """Real mounts, one per mount point (the last mounted wins, as the kernel shows it)."""
        found: dict[str, Mount] = {}
        for part in psutil.disk_partitions(all=True):
            if self.exclude_fstypes.search(part.fstype):
                continue
            if self.exclude_mountpoints.search(part.mountpoint):
                continue
            found[part.mountpoint] = Mount(part.device, part.mountpoint, part.fstype)
        return list(found.values())

    def _stat_all(self, mounts: list[Mount]) -> dict[str, os.statvfs_result | None]:
        """statvfs per mount point; ``None`` for a mount that failed or timed out."""
        results: dict[str, os.statvfs_result | None] = {}
        threads: list[tuple[Mount, threading.Thread]] = []
        for mount in mounts:
            with self._lock:
                stuck = self._stuck.get(mount.mountpoint)
                if stuck is not None and stuck.is_alive():
                    results[mount.mountpoint] = None  # still hung since an earlier scrape
                    continue
                self._stuck.pop(mount.mountpoint, None)

            def stat(path: str = mount.mountpoint) -> None:
                try:
                    results[path] = os.statvfs(path)
                except OSError as exc:
                    log.debug("statvfs %s failed: %s", path, exc)
                    results[path] = None

            thread = threading.Thread(target=stat, name=f"statvfs:{mount.mountpoint}",
                                      daemon=True)
            thread.start()
            threads.append((mount, thread))
        deadline = time.monotonic() + self.timeout
        for mount, thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("statvfs %s did not answer within %gs; skipped",
                            mount.mountpoint, self.timeout)
                with self._lock:
                    self._stuck[mount.mountpoint] = thread
                results[mount.mountpoint] = None
        return results

    def collect(self) -> list[Metric]:
        mounts = self.mounts()
        stats = self._stat_all(mounts)
        size = GaugeMetricFamily(f"{PREFIX}_filesystem_size_bytes",
                                 "Filesystem size.", labels=LABELS)
        avail = GaugeMetricFamily(f"{PREFIX}_filesystem_avail_bytes",
                                  "Filesystem space available to non-root users.", labels=LABELS)
        ratio = GaugeMetricFamily(
            f"{PREFIX}_filesystem_used_ratio",
            "Used space over used plus available space (df's Use%), 0 to 1.", labels=LABELS,
        )
        error = GaugeMetricFamily(
            f"{PREFIX}_filesystem_device_error",
            "Whether statvfs failed or timed out for this mount (1) or not (0).", labels=LABELS,
        )
        for mount in mounts:
            labels = [mount.device, mount.mountpoint, mount.fstype]
            st = stats.get(mount.mountpoint)
            error.add_metric(labels, 0 if st is not None else 1)
            if st is None or st.f_blocks == 0:
                continue
            used_ratio_value = used_ratio(st)
            size.add_metric(labels, st.f_blocks * st.f_frsize)
            avail.add_metric(labels, st.f_bavail * st.f_frsize)
            ratio.add_metric(labels, used_ratio_value)
        return [size, avail, ratio, error]


def used_ratio(st: os.statvfs_result) -> float:
    """df's Use%: (blocks - free) / ((blocks - free) + available), as a ratio."""
    used = st.f_blocks - st.f_bfree
    denominator = used + st.f_bavail
    return used / denominator if denominator else 0.0
