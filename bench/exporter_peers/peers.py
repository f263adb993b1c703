"""The Go peers: Debian packages, their versions, and installing them on demand.

Benchmarks do not run in CI, so the peers are not part of the CI package
list. When one is missing and the benchmark runs as root it installs it with
apt-get; otherwise it says which command would, and the pair is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    """A Debian-packaged exporter: package name, binary and upstream name."""

    package: str
    binary: str
    upstream: str


NODE = Peer("prometheus-node-exporter", "prometheus-node-exporter", "node_exporter")
POSTGRES = Peer("prometheus-postgres-exporter", "prometheus-postgres-exporter", "postgres_exporter")
BLACKBOX = Peer("prometheus-blackbox-exporter", "prometheus-blackbox-exporter", "blackbox_exporter")
SQL = Peer("prometheus-sql-exporter", "prometheus-sql-exporter", "sql_exporter (justwatchcom)")
ALL = (NODE, POSTGRES, BLACKBOX, SQL)


def package_version(package: str) -> str | None:
    """The installed Debian version of `package`, or None when it is not installed."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status} ${Version}", package],
        capture_output=True, text=True, check=False, timeout=30,
    )
    if result.returncode != 0 or not result.stdout.startswith("install ok installed"):
        return None
    return result.stdout.split()[-1]


def missing(peers: list[Peer]) -> list[Peer]:
    return [peer for peer in peers if shutil.which(peer.binary) is None]


def ensure_installed(peers: list[Peer], allow_install: bool) -> list[str]:
    """Install missing peers with apt-get when allowed and root; return messages for the rest.

    The Debian packages try to start their service on install; with no init
    system here that fails harmlessly (policy-rc.d), and the benchmark starts
    each binary itself on a loopback port.
    """
    absent = missing(peers)
    if not absent:
        return []
    names = " ".join(peer.package for peer in absent)
    if not allow_install:
        return [f"not installed: {names} (install with: apt-get install -y {names})"]
    if os.geteuid() != 0:
        return [f"not installed: {names}; run as root to install them, or: "
                f"sudo apt-get install -y {names}"]
    print(f"installing {names} with apt-get ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", *names.split()]):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False,
                                timeout=900)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-10:])
            return [f"{' '.join(argv)} failed:\n{tail}"]
    still = missing(absent)
    return [f"still missing after apt-get: {' '.join(p.package for p in still)}"] if still else []
