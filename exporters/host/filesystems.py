"""Filesystem size, free space and used ratio per mount point.

Why each mount has its own time limit: ``statvfs`` on a dead NFS/CIFS server
blocks in the kernel, possibly forever, and no Python code can interrupt it.
Each mount is therefore stat'ed by its own daemon thread, and the scrape waits
at most ``timeout`` for all of them together. A mount that does not answer
in time is skipped, logged, and reported as
``vigil_host_filesystem_device_error{...} 1`` (node_exporter's meaning); while its
thread is still stuck it is not asked again, so a hung mount costs one
thread, not one per scrape.

The threads live as long as their mount (``_MountWorker``): starting a new
thread per mount on every scrape cost more than all the ``statvfs`` calls
together (about 80 us per thread against 2 us per call). A worker whose
mount point is gone is told to stop.

Another root (``rootfs``, like node_exporter's ``--path.rootfs``): in a container
the host's root is mounted read-only at, say, ``/host``. The mount table is
then read from ``<rootfs>/proc/1/mounts`` (the host's init process, so the
host's mount namespace, not the container's), each mount is stat'ed at
``<rootfs><mountpoint>``, and the labels show the host's own mount points
(:mod:`exporters.host.procfs`). psutil cannot do this:
``psutil.disk_partitions`` reads only the calling process's
``/proc/self/mounts``; the table is whitespace-separated fields with octal
escapes, parsed by :func:`read_mounts`.

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

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporters.host.procfs import pid1_lines, procfs, under

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
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
MAX_MOUNTS = 10_000  # a mount table longer than this is not a host's; the rest is ignored


@dataclass(frozen=True)
class Mount:
    device: str
    mountpoint: str
    fstype: str


def _unescape(field: str) -> str:
    """The kernel writes space, tab, newline and backslash in mount fields as ``\\ooo``."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def read_mounts(proc: str) -> list[Mount]:
    """Mounts of pid 1 under ``proc`` (the host's, seen from a container), in kernel order.

    See :mod:`exporters.host.procfs` for why pid 1's, and the fallback.
    """
    mounts = []
    for line in pid1_lines(proc, "mounts", MAX_MOUNTS):
        fields = line.decode(errors="replace").split()
        if len(fields) >= 3:
            mounts.append(Mount(_unescape(fields[0]), _unescape(fields[1]), fields[2]))
    return mounts


class _MountWorker:
    """A daemon thread that runs ``statvfs`` on one mount point when asked.

    ``ask()`` starts one call; ``wait(seconds)`` returns its result (``None``
    when it failed) or raises ``TimeoutError`` while the call is still running.
    ``busy`` stays true until the call returns, however long that takes.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.busy = False
        self._result: os.statvfs_result | None = None
        self._wake = threading.Event()
        self._done = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"statvfs:{path}", daemon=True)
        self._thread.start()

    def ask(self) -> None:
        self.busy = True
        self._done.clear()
        self._wake.set()

    def wait(self, seconds: float) -> os.statvfs_result | None:
        if not self._done.wait(seconds):
            raise TimeoutError(self.path)
        return self._result

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                self._result = os.statvfs(self.path)
            except OSError as exc:
                log.debug("statvfs %s failed: %s", self.path, exc)
                self._result = None
            self._done.set()
            self.busy = False  # after done: a new ask() never sees this call's done


class FilesystemCollector:
    """Collect statvfs figures for every real mount, each bounded in time."""

    def __init__(
        self,
        timeout: float = 1.0,
        exclude_fstypes: str = DEFAULT_EXCLUDE_FSTYPES,
        exclude_mountpoints: str = DEFAULT_EXCLUDE_MOUNTPOINTS,
        rootfs: str = "/",
    ) -> None:
        self.timeout = timeout
        self.rootfs = rootfs
        self.exclude_fstypes = re.compile(exclude_fstypes)
        self.exclude_mountpoints = re.compile(exclude_mountpoints)
        self._workers: dict[str, _MountWorker] = {}
        self._lock = threading.Lock()  # one scrape at a time asks the workers

    def mounts(self) -> list[Mount]:
        """Real mounts, one per mount point (the last mounted wins, as the kernel shows it)."""
        found: dict[str, Mount] = {}
        for mount in read_mounts(procfs(self.rootfs)):
            if self.exclude_fstypes.search(mount.fstype):
                continue
            if self.exclude_mountpoints.search(mount.mountpoint):
                continue
            found[mount.mountpoint] = mount
        return list(found.values())


    def _stat_all(self, mounts: list[Mount]) -> dict[str, os.statvfs_result | None]:
        """statvfs per mount point; ``None`` for a mount that failed or timed out."""
        results: dict[str, os.statvfs_result | None] = {}
        asked: dict[str, _MountWorker] = {}
        with self._lock:
            current = {mount.mountpoint for mount in mounts}
            for path in [p for p in self._workers if p not in current]:
                self._workers.pop(path).stop()  # unmounted: a stuck worker ends when it returns
            for mount in mounts:
                worker = self._workers.get(mount.mountpoint)
                if worker is None:
                    worker = self._workers[mount.mountpoint] = _MountWorker(
                        under(self.rootfs, mount.mountpoint))
                elif worker.busy:
                    results[mount.mountpoint] = None  # still hung since an earlier scrape
                    continue
                worker.ask()
                asked[mount.mountpoint] = worker
            deadline = time.monotonic() + self.timeout
            for mountpoint, worker in asked.items():
                try:
                    results[mountpoint] = worker.wait(max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    log.warning("statvfs %s did not answer within %gs; skipped",
                                worker.path, self.timeout)
                    results[mountpoint] = None
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
