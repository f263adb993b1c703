"""The host exporter: CPU, memory, filesystems, disks, network, load, TCP
latency, backup freshness and certificate files, under ``vigil_host_``.

Config (every key optional; see ``exporters/examples/host.yml``)::

    rootfs: /host                     # the host's root, mounted here (in a container)
    filesystems:
      timeout: 1s                     # per scrape, for all mounts' statvfs together
      exclude_fstypes: '^(proc|sysfs|...)$'    # regex, default like node_exporter
      exclude_mountpoints: '^/(dev|proc|sys)($|/)'
    disks:
      exclude_devices: '^(loop|ram)\\d+$'       # regex, default: partitions, loop, ram
    network:
      exclude_devices: '^lo$'
    tcp_targets:
      - address: db.internal:5432     # required, "host:port"
        name: database                # label `target`, default: the address
        timeout: 1s
        interval: 15s
    backups:
      interval: 60s
      timeout: 30s
      kinds:
        - kind: full                  # label `kind`
          paths: [/var/backups/full, "/srv/backup/**/*.tar.gz"]   # dirs or globs
    tls_certificates:
      interval: 5m
      timeout: 10s
      files: [/etc/ssl/shop.pem, "/etc/letsencrypt/live/*/cert.pem"]
    directories:                      # served as filesystems with fstype="directory"
      interval: 60s
      timeout: 30s
      budgets:
        - path: /var/spool/uploads
          budget_bytes: 10737418240   # its size budget: used / budget is the used ratio
          max_entries: 100000         # more entries than this fail the walk

``rootfs`` works like node_exporter's ``--path.rootfs``: the mount table,
memory, load and network counters are read under ``<rootfs>/proc`` (pid 1's,
for the namespaced ones), filesystems are stat'ed under ``rootfs``, and the
labels keep the host's paths (:mod:`exporters.host.procfs`).

Cheap kernel counters are read on every scrape; TCP targets, each backup
kind, each certificate path and each directory budget
(:mod:`exporters.host.directories`) run as background tasks of their own (scrapes
serve their last result).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter, Source
from exporters.common.tasks import PeriodicTask
from exporters.host import devices, filesystems, system
from exporters.host.backups import BackupKind, collect_backup
from exporters.host.certificates import collect_certificates
from exporters.host.directories import DEFAULT_MAX_ENTRIES, DirectoryBudget, collect_directory
from exporters.host.procfs import procfs
from exporters.host.tcp import TcpTarget, probe

PREFIX = "vigil_host"
TOP_LEVEL_KEYS = ["rootfs", "filesystems", "disks", "network", "tcp_targets", "backups",
                  "directories",
                  "tls_certificates"]


def _regex(node: ConfigNode, key: str, default: str) -> re.Pattern[str]:
    text = node.str(key, default)
    try:
        return re.compile(text)
    except re.error as exc:
        raise node.error(f"invalid regular expression: {exc}", key) from None


def _rootfs(config: ConfigNode) -> str:
    """``rootfs``: an absolute directory holding a ``proc`` directory, default ``/``."""
    rootfs = config.str("rootfs", "/")
    if not os.path.isabs(rootfs):
        raise config.error(f"expected an absolute path, got {rootfs!r}", "rootfs")
    if not os.path.isdir(procfs(rootfs)):
        raise config.error(f"{procfs(rootfs)} is not a directory: is the host's root mounted "
                           f"at {rootfs}?", "rootfs")
    return os.path.normpath(rootfs)


def _tcp_targets(config: ConfigNode) -> list[TcpTarget]:
    targets: list[TcpTarget] = []
    names: set[str] = set()
    for node in config.items("tcp_targets"):
        node.reject_unknown(["address", "name", "timeout", "interval"])
        host, port = node.address("address")
        name = node.str("name", node.str("address"))
        if name in names:
            raise node.error(f"duplicate target name {name!r}", "name")
        names.add(name)
        targets.append(TcpTarget(name, host, port, node.duration("timeout", 1.0),
                                 node.duration("interval", 15.0)))
    return targets


def _backup_kinds(node: ConfigNode) -> list[BackupKind]:
    kinds: list[BackupKind] = []
    for item in node.items("kinds"):
        item.reject_unknown(["kind", "paths"])
        paths = tuple(str(p.path_value()) for p in item.items("paths"))
        if not paths:
            raise item.error("expected at least one path", "paths")
        kind = item.str("kind")
        if kind in {k.kind for k in kinds}:
            raise item.error(f"duplicate kind {kind!r}", "kind")
        kinds.append(BackupKind(kind, paths))
    return kinds


def build(config: ConfigNode) -> Exporter:
    """Validate ``config`` and assemble the host exporter (tasks not started)."""
    config.reject_unknown(TOP_LEVEL_KEYS)
    rootfs = _rootfs(config)
    proc = procfs(rootfs)
    fs = config.child("filesystems", {})
    fs.reject_unknown(["timeout", "exclude_fstypes", "exclude_mountpoints"])
    fs_collector = filesystems.FilesystemCollector(
        timeout=fs.duration("timeout", 1.0),
        exclude_fstypes=_regex(fs, "exclude_fstypes", filesystems.DEFAULT_EXCLUDE_FSTYPES).pattern,
        exclude_mountpoints=_regex(
            fs, "exclude_mountpoints", filesystems.DEFAULT_EXCLUDE_MOUNTPOINTS).pattern,
        rootfs=rootfs,
    )
    disks = config.child("disks", {})
    disks.reject_unknown(["exclude_devices"])
    network = config.child("network", {})
    network.reject_unknown(["exclude_devices"])
    disk_exclude = _regex(disks, "exclude_devices", devices.DEFAULT_EXCLUDE_DISKS)
    net_exclude = _regex(network, "exclude_devices", devices.DEFAULT_EXCLUDE_NETDEVS)

    sources = [
        Source("cpu", system.collect_cpu),
        Source("memory", partial(system.collect_memory, proc)),
        Source("load", partial(system.collect_load, proc)),
        Source("filesystem", fs_collector.collect),
        Source("diskstats", partial(devices.collect_disks, disk_exclude)),
        Source("netdev", partial(devices.collect_network, net_exclude, proc)),
    ]
    tasks = [
        PeriodicTask(f"tcp:{t.name}", partial(probe, t), interval=t.interval,
                     timeout=t.timeout + 1.0)
        for t in _tcp_targets(config)
    ]
    # one task per kind, certificate path or directory: a broken one costs only itself
    tasks += _section_tasks(config, "backups", "kinds", 60.0, 30.0, lambda node: [
        (f"backup:{kind.kind}", partial(collect_backup, kind)) for kind in _backup_kinds(node)])
    tasks += _section_tasks(config, "tls_certificates", "files", 300.0, 10.0, lambda node: [
        (f"tls_certificate:{path}", partial(collect_certificates, [path]))
        for path in _certificate_files(node)])
    tasks += _section_tasks(config, "directories", "budgets", 60.0, 30.0, lambda node: [
        (f"directory:{budget.path}", partial(collect_directory, budget))
        for budget in _directory_budgets(node)])
    return Exporter(PREFIX, sources, tasks)


def _section_tasks(config: ConfigNode, section: str, items: str, interval: float,
                   timeout: float, tasks: Callable[[ConfigNode], list[tuple[str, Callable[[], Any]]]],
                   ) -> list[PeriodicTask]:
    """The background tasks of an optional section with its own `interval` and `timeout`
    (defaults given) and a list `items`; `tasks` names and builds one per item."""
    if not config.has(section):
        return []
    node = config.child(section)
    node.reject_unknown(["interval", "timeout", items])
    every, limit = node.duration("interval", interval), node.duration("timeout", timeout)
    return [PeriodicTask(name, fn, interval=every, timeout=limit) for name, fn in tasks(node)]


def _certificate_files(node: ConfigNode) -> list[str]:
    files = list(dict.fromkeys(str(f.path_value()) for f in node.items("files")))
    if not files:
        raise node.error("expected at least one file", "files")
    return files


def _directory_budgets(node: ConfigNode) -> list[DirectoryBudget]:
    budgets: list[DirectoryBudget] = []
    paths: set[str] = set()
    for item in node.items("budgets"):
        item.reject_unknown(["path", "budget_bytes", "max_entries"])
        path = os.path.normpath(str(item.path_value("path")))
        if not os.path.isabs(path):
            raise item.error(f"expected an absolute path, got {path!r}", "path")
        if path in paths:
            raise item.error(f"duplicate directory {path!r}", "path")
        paths.add(path)
        budgets.append(DirectoryBudget(
            path, item.int("budget_bytes", minimum=1, maximum=1 << 60),
            item.int("max_entries", DEFAULT_MAX_ENTRIES, minimum=1, maximum=10_000_000)))
    if not budgets:
        raise node.error("expected at least one directory", "budgets")
    return budgets
