"""Reading the host's ``/proc`` and paths from inside a container (``rootfs``).

Why: like node_exporter's ``--path.rootfs``, the host exporter can run in a
container with the host's root mounted read-only (``/:/host``). Three kinds
of kernel files then need care:

- global ones are the same in every namespace: ``meminfo`` and ``loadavg``
  are read from ``<rootfs>/proc`` (so a test can point them at a fake tree),
  while ``/proc/stat`` and ``/proc/diskstats`` stay with psutil, which
  reads this process's ``/proc``: the same content;
- per-namespace ones (``mounts``, ``net/dev``) would show the container's own
  view, so they are read for pid 1 (``<rootfs>/proc/1/...``), the host's init
  process, falling back to this process's (``self``) when pid 1's cannot be
  read, as node_exporter does;
- paths in the host's mount table (``/data``) are reached at
  ``<rootfs>/data``; labels keep the host's path.
"""

from __future__ import annotations

import os


def procfs(rootfs: str) -> str:
    """``/proc`` as seen under ``rootfs``."""
    return under(rootfs, "/proc")


def under(rootfs: str, path: str) -> str:
    """``path`` of the host, as reached from here when its root is at ``rootfs``."""
    if rootfs == "/":
        return path
    return os.path.join(rootfs, path.lstrip("/"))


def pid1_lines(proc: str, relative: str, limit: int) -> list[bytes]:
    """At most ``limit`` lines of ``<proc>/1/<relative>``, else of ``<proc>/self/<relative>``."""
    try:
        return _lines(os.path.join(proc, "1", relative), limit)
    except OSError:
        return _lines(os.path.join(proc, "self", relative), limit)


def _lines(path: str, limit: int) -> list[bytes]:
    with open(path, "rb") as f:
        return [line for _, line in zip(range(limit), f, strict=False)]
