"""The host exporter against the real machine, real files and real sockets."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from exporters.common.config import ConfigError, ConfigNode
from exporters.common.exporter import Exporter
from exporters.host import build, filesystems
from exporters.host.backups import BackupKind, collect_backup, newest
from exporters.host.certificates import MAX_CERTIFICATE_BYTES


class FixedCollector(Collector):
    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self) -> list:
        return self.families


def scrape_exporter(exporter: Exporter, parse_samples) -> dict:
    for task in exporter.tasks:
        task.run_once()
    return parse_samples(generate_latest(exporter.registry).decode())


def success(samples: dict, collector: str) -> float:
    return samples[("vigil_host_collector_success", (("collector", collector),))]


def test_kernel_counters(parse_samples) -> None:
    samples = scrape_exporter(build(ConfigNode({}, "host.yml")), parse_samples)
    cpus = {dict(labels)["cpu"] for name, labels in samples if name == "vigil_host_cpu_seconds_total"}
    assert len(cpus) == psutil.cpu_count()
    assert samples[("vigil_host_cpu_seconds_total", (("cpu", "0"), ("mode", "idle")))] > 0
    assert samples[("vigil_host_memory_total_bytes", ())] == psutil.virtual_memory().total
    assert 0 < samples[("vigil_host_memory_available_bytes", ())] <= psutil.virtual_memory().total
    assert ("vigil_host_swap_total_bytes", ()) in samples
    assert samples[("vigil_host_load1", ())] >= 0
    assert samples[("vigil_host_network_receive_bytes_total", (("device", "lo"),))] > 0
    for collector in ["cpu", "memory", "load", "filesystem", "diskstats", "netdev"]:
        assert success(samples, collector) == 1
    # partitions, loop and ram devices are not reported as disks
    disks = {dict(labels)["device"] for name, labels in samples
             if name == "vigil_host_disk_read_bytes_total"}
    assert not {d for d in disks if d.startswith(("loop", "ram", "zram"))}


def test_root_filesystem_matches_statvfs(parse_samples) -> None:
    samples = scrape_exporter(build(ConfigNode({}, "host.yml")), parse_samples)
    root = [dict(labels) for name, labels in samples
            if name == "vigil_host_filesystem_used_ratio" and dict(labels)["mountpoint"] == "/"]
    assert len(root) == 1
    labels = tuple(sorted(root[0].items()))
    st = os.statvfs("/")
    used = st.f_blocks - st.f_bfree
    assert samples[("vigil_host_filesystem_size_bytes", labels)] == st.f_blocks * st.f_frsize
    assert samples[("vigil_host_filesystem_used_ratio", labels)] == pytest.approx(
        used / (used + st.f_bavail), abs=1e-3)
    assert samples[("vigil_host_filesystem_avail_bytes", labels)] == pytest.approx(
        st.f_bavail * st.f_frsize, rel=1e-2)
    assert samples[("vigil_host_filesystem_device_error", labels)] == 0
    # pseudo filesystems are skipped
    fstypes = {dict(lb)["fstype"] for name, lb in samples
               if name == "vigil_host_filesystem_size_bytes"}
    assert not fstypes & {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs"}


def test_hung_mount_is_skipped_within_the_time_limit(monkeypatch: pytest.MonkeyPatch,
                                                     parse_samples) -> None:
    """A statvfs that never returns (dead NFS server) must not stall the scrape.

    A real hung network mount cannot be made in a test; the kernel call is
    replaced by one that blocks forever for "/" only.
    """
    real_statvfs = os.statvfs
    release = threading.Event()
    calls: list[str] = []

    def statvfs(path: str) -> os.statvfs_result:
        calls.append(path)
        if path == "/":
            release.wait(30)
        return real_statvfs(path)

    monkeypatch.setattr(filesystems.os, "statvfs", statvfs)
    collector = filesystems.FilesystemCollector(timeout=0.3)
    try:
        for _ in range(2):
            started = time.monotonic()
            families = {f.name: f for f in collector.collect()}
            assert time.monotonic() - started < 1.5
            errors = {s.labels["mountpoint"]: s.value
                      for s in families["vigil_host_filesystem_device_error"].samples}
            assert errors["/"] == 1
            assert "/" not in {s.labels["mountpoint"]
                               for s in families["vigil_host_filesystem_size_bytes"].samples}
        assert calls.count("/") == 1  # the stuck mount is not stat'ed again while hung
        release.set()
        time.sleep(0.1)
        families = {f.name: f for f in collector.collect()}
        assert "/" in {s.labels["mountpoint"]
                       for s in families["vigil_host_filesystem_size_bytes"].samples}
    finally:
        release.set()


def test_backup_freshness(tmp_path: Path, parse_samples) -> None:
    now = time.time()

    def backup(relative: str, age: float, size: int = 10) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))

    backup("full/2024-01-01.tar.gz", 3 * 86400)
    backup("full/2024-01-03.tar.gz", 86400, size=1234)
    backup("full/nested/older.tar.gz", 5 * 86400)
    backup("incr/a.tar.gz", 4 * 3600)
    backup("incr/b.tar.gz", 2 * 3600, size=55)
    backup("incr/notes.txt", 60)  # does not match the glob
    backup("wal/0001/000000010000000000000001", 900, size=16)
    backup("wal/0002/000000010000000000000002", 300, size=16)
    (tmp_path / "empty").mkdir()
    config = ConfigNode({"backups": {"kinds": [
        {"kind": "full", "paths": [str(tmp_path / "full")]},
        {"kind": "incremental", "paths": [str(tmp_path / "incr" / "*.tar.gz")]},
        {"kind": "wal", "paths": [str(tmp_path / "wal" / "**" / "0000*")]},
        {"kind": "none", "paths": [str(tmp_path / "empty")]},
    ]}}, str(tmp_path / "host.yml"))
    samples = scrape_exporter(build(config), parse_samples)
    newest = {kind: samples[("vigil_host_backup_newest_timestamp_seconds", (("kind", kind),))]
              for kind in ["full", "incremental", "wal", "none"]}
    assert newest["full"] == pytest.approx(now - 86400)
    assert newest["incremental"] == pytest.approx(now - 2 * 3600)
    assert newest["wal"] == pytest.approx(now - 300)
    assert newest["none"] == 0  # no backup at all: the age alert fires
    assert samples[("vigil_host_backup_files", (("kind", "full"),))] == 3
    assert samples[("vigil_host_backup_newest_size_bytes", (("kind", "incremental"),))] == 55
    for kind in ["full", "incremental", "wal", "none"]:
        assert success(samples, f"backup:{kind}") == 1


def test_backup_exposition(tmp_path: Path) -> None:
    (tmp_path / "a.dump").write_bytes(b"abc")
    os.utime(tmp_path / "a.dump", (1700000000, 1700000000))
    families = collect_backup(BackupKind("full", (str(tmp_path),)))
    registry = CollectorRegistry()
    registry.register(FixedCollector(families))
    assert generate_latest(registry).decode() == """\
# HELP vigil_host_backup_newest_timestamp_seconds Newest backup file's modification time, 0 if none.
# TYPE vigil_host_backup_newest_timestamp_seconds gauge
vigil_host_backup_newest_timestamp_seconds{kind="full"} 1.7e+09
# HELP vigil_host_backup_newest_size_bytes Size of the newest backup file of this kind.
# TYPE vigil_host_backup_newest_size_bytes gauge
vigil_host_backup_newest_size_bytes{kind="full"} 3.0
# HELP vigil_host_backup_files Number of backup files of this kind found.
# TYPE vigil_host_backup_files gauge
vigil_host_backup_files{kind="full"} 1.0
"""


def test_certificate_expiry(tmp_path: Path, make_cert, parse_samples) -> None:
    cert, _key, not_after = make_cert(tmp_path, days=10)
    expired, _k, expired_after = make_cert(tmp_path, days=-2, name="old")
    config = ConfigNode({"tls_certificates": {"files": [str(cert), str(tmp_path / "*.crt")]}},
                        "host.yml")
    samples = scrape_exporter(build(config), parse_samples)
    assert samples[("vigil_host_tls_certificate_expiry_timestamp_seconds",
                    (("path", str(cert)),))] == not_after
    assert samples[("vigil_host_tls_certificate_expiry_timestamp_seconds",
                    (("path", str(expired)),))] == expired_after
    assert success(samples, f"tls_certificate:{cert}") == 1
    assert success(samples, f"tls_certificate:{tmp_path / '*.crt'}") == 1


def test_unreadable_certificate_fails_collector_but_keeps_others(
        tmp_path: Path, make_cert, parse_samples) -> None:
    cert, _key, not_after = make_cert(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    config = ConfigNode({"tls_certificates": {"files": [
        str(cert), str(garbage), str(tmp_path / "missing.pem")]}}, "host.yml")
    samples = scrape_exporter(build(config), parse_samples)
    assert success(samples, f"tls_certificate:{cert}") == 1
    assert success(samples, f"tls_certificate:{garbage}") == 0
    assert success(samples, f"tls_certificate:{tmp_path / 'missing.pem'}") == 0
    expiry = {dict(labels)["path"]: v for (name, labels), v in samples.items()
              if name == "vigil_host_tls_certificate_expiry_timestamp_seconds"}
    assert expiry == {str(cert): not_after}


def _symlink_loops(directory: Path) -> None:
    """Two links back to their own directory: a walk that follows them never ends."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "loop-a").symlink_to(".")
    (directory / "loop-b").symlink_to("..")


def test_symlink_loop_under_a_glob_costs_only_one_entry(tmp_path: Path, parse_samples) -> None:
    now = time.time()
    for relative in ["full/a.tar.gz", "wal/x/0001", "wal/x/y/0002"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    os.utime(tmp_path / "wal/x/y/0002", (now - 60, now - 60))
    _symlink_loops(tmp_path / "wal" / "x" / "y")
    _symlink_loops(tmp_path / "full")
    config = ConfigNode({"backups": {"timeout": "5s", "kinds": [
        {"kind": "full", "paths": [str(tmp_path / "full")]},
        {"kind": "wal", "paths": [str(tmp_path / "wal" / "**" / "000*")]},
    ]}}, "host.yml")
    samples = scrape_exporter(build(config), parse_samples)
    assert success(samples, "backup:full") == 1 and success(samples, "backup:wal") == 1
    assert samples[("vigil_host_backup_files", (("kind", "wal"),))] == 2
    assert samples[("vigil_host_backup_files", (("kind", "full"),))] == 1
    assert samples[("vigil_host_backup_newest_timestamp_seconds", (("kind", "wal"),))] \
        == pytest.approx(os.stat(tmp_path / "wal/x/0001").st_mtime)


def _as_nobody(fn, *args):
    """``fn(*args)`` in a forked child without root's right to read anything; its result."""
    import pickle

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            try:
                result = ("ok", fn(*args))
            except Exception as exc:
                result = ("error", f"{type(exc).__name__}: {exc}")
            os.write(write_end, pickle.dumps(result))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def test_unreadable_backup_directory_is_an_error_not_zero_files() -> None:
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp())
    try:
        root.chmod(0o755)
        (root / "full" / "locked").mkdir(parents=True)
        (root / "full" / "ok.tar.gz").write_bytes(b"x")
        (root / "full" / "locked" / "hidden.tar.gz").write_bytes(b"x")
        (root / "locked-top").mkdir()
        (root / "full").chmod(0o755)
        (root / "full" / "locked").chmod(0)
        (root / "locked-top").chmod(0)
        outcome = _as_nobody(newest, (str(root / "full"),))
        assert outcome[0] == "error" and f"cannot read {root / 'full' / 'locked'}" in outcome[1]
        outcome = _as_nobody(newest, (str(root / "locked-top" / "*.tar.gz"),))
        assert outcome[0] == "error" and f"cannot read {root / 'locked-top'}" in outcome[1]
        # a path that does not exist has no backups; that is not an error
        assert _as_nobody(newest, (str(root / "absent"),)) == ("ok", (0.0, 0, 0))
    finally:
        for path in [root / "full" / "locked", root / "locked-top"]:
            path.chmod(0o755)
        shutil.rmtree(root)


def test_one_broken_backup_kind_does_not_blank_the_others(tmp_path: Path, parse_samples) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.tar.gz").write_bytes(b"x")
    (tmp_path / "file").write_bytes(b"")
    config = ConfigNode({"backups": {"kinds": [
        {"kind": "full", "paths": [str(tmp_path / "full")]},
        {"kind": "broken", "paths": [str(tmp_path / "file" / "sub" / "*.tar.gz")]},
    ]}}, "host.yml")
    samples = scrape_exporter(build(config), parse_samples)
    assert success(samples, "backup:full") == 1 and success(samples, "backup:broken") == 0
    assert samples[("vigil_host_backup_files", (("kind", "full"),))] == 1
    assert ("vigil_host_backup_files", (("kind", "broken"),)) not in samples


def test_huge_or_special_files_matching_a_certificate_glob_are_refused_unread(
        tmp_path: Path, make_cert, parse_samples) -> None:
    (tmp_path / "certs").mkdir()
    cert, _key, not_after = make_cert(tmp_path / "certs")
    huge = tmp_path / "certs" / "huge.pem"
    with huge.open("wb") as handle:  # sparse: large on paper, nothing to write
        handle.truncate(64 * MAX_CERTIFICATE_BYTES)
    fifo = tmp_path / "certs" / "pipe.pem"
    os.mkfifo(fifo)
    _symlink_loops(tmp_path / "certs" / "deep")
    config = ConfigNode({"tls_certificates": {"timeout": "5s", "files": [
        str(tmp_path / "certs" / "**" / "*.pem"), str(tmp_path / "certs" / "*.crt"),
        str(cert)]}}, "host.yml")
    exporter = build(config)
    rss_before = psutil.Process().memory_info().rss
    samples = scrape_exporter(exporter, parse_samples)
    assert psutil.Process().memory_info().rss - rss_before < 32 * MAX_CERTIFICATE_BYTES
    glob_collector = f"tls_certificate:{tmp_path / 'certs' / '**' / '*.pem'}"
    assert success(samples, glob_collector) == 0  # huge and pipe refused, not hung on
    errors = next(task.state().error for task in exporter.tasks if task.name == glob_collector)
    assert "huge.pem: 67108864 bytes, larger than the 1048576-byte limit" in errors
    assert "pipe.pem: not a regular file" in errors
    assert success(samples, f"tls_certificate:{cert}") == 1
    # two configured paths matching the same file still give one series
    expiry = [v for (name, labels), v in samples.items()
              if name == "vigil_host_tls_certificate_expiry_timestamp_seconds"]
    assert expiry == [not_after]


def test_tcp_connect(free_port, parse_samples) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    open_port = listener.getsockname()[1]
    closed_port = free_port()
    try:
        config = ConfigNode({"tcp_targets": [
            {"name": "db", "address": f"127.0.0.1:{open_port}", "timeout": "1s"},
            {"address": f"127.0.0.1:{closed_port}", "timeout": "1s"},
        ]}, "host.yml")
        samples = scrape_exporter(build(config), parse_samples)
    finally:
        listener.close()
    closed = f"127.0.0.1:{closed_port}"
    assert samples[("vigil_host_tcp_connect_success", (("target", "db"),))] == 1
    assert samples[("vigil_host_tcp_connect_success", (("target", closed),))] == 0
    assert 0 < samples[("vigil_host_tcp_connect_duration_seconds", (("target", "db"),))] < 1
    # an unreachable target is a measurement, not a collector failure
    assert success(samples, f"tcp:{closed}") == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"tcp_targets": [{"address": "db"}]}, "tcp_targets[0].address: expected \"host:port\""),
        ({"tcp_targets": [{"address": "a:1", "name": "x"}, {"address": "b:1", "name": "x"}]},
         "tcp_targets[1].name: duplicate target name 'x'"),
        ({"tcp_targets": [{"address": "a:1", "timeout": "soon"}]}, "tcp_targets[0].timeout:"),
        ({"filesystems": {"exclude_fstypes": "("}},
         "filesystems.exclude_fstypes: invalid regular expression"),
        ({"backups": {"kinds": [{"kind": "full", "paths": []}]}},
         "backups.kinds[0].paths: expected at least one path"),
        ({"tls_certificates": {"files": []}}, "tls_certificates.files: expected at least one"),
        ({"tls_certificate": {}}, "tls_certificate: unknown key"),
    ],
)
def test_config_errors(config: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(ConfigNode(config, "host.yml"))
    assert str(caught.value).startswith(f"host.yml: {message}")
