"""``rootfs``: the host exporter reading a host whose root is mounted elsewhere.

/proc itself cannot be relocated in a test, so a fake root is built: a
directory tree with a /proc-like layout (pid 1's mount table and network
counters, meminfo, loadavg) and the directories its mount table names. The
values in it differ from the real machine's, so each assertion shows where
the exporter read from.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporters.common.config import ConfigError, ConfigNode
from exporters.host import build, filesystems

# /proc/net/dev: two header lines, then interface name and 8 receive + 8 transmit counters.
NET_DEV = (
    "Inter-|   Receive                            |  Transmit\n"
    " face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs ...\n"
    "  eth7: 123456 10 3 0 0 0 0 0 654321 20 4 0 0 0 0 0\n"
    "    lo: 11 1 0 0 0 0 0 0 11 1 0 0 0 0 0 0\n"
)


@pytest.fixture()
def fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "host"
    proc = root / "proc"
    (proc / "1" / "net").mkdir(parents=True)
    (proc / "self").mkdir()
    # The host's mounts, as pid 1 sees them; one name with an escaped space.
    (proc / "1" / "mounts").write_text(
        "/dev/vda1 / ext4 rw,relatime 0 0\n"
        "proc /proc proc rw,nosuid 0 0\n"
        "/dev/vdb1 /srv/data xfs rw 0 0\n"
        "/dev/vdc1 /srv/with\\040space ext4 rw 0 0\n"
        "/dev/vdd1 /srv/gone ext4 rw 0 0\n"
    )
    # What the container itself sees: must not be what is reported.
    (proc / "self" / "mounts").write_text("overlay / overlay rw 0 0\n")
    (proc / "1" / "net" / "dev").write_text(NET_DEV)
    (proc / "meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 250 kB\nSwapTotal: 0 kB\n")
    (proc / "loadavg").write_text("7.25 3.50 1.75 2/345 6789\n")
    (root / "srv" / "data").mkdir(parents=True)
    (root / "srv" / "with space").mkdir()
    return root  # /srv/gone is in the table but not under the root: its statvfs fails


def _families(root: Path) -> dict:
    exporter = build(ConfigNode({"rootfs": str(root)}, "host.yml"))
    text = generate_latest(exporter.registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _by_mountpoint(family) -> dict[str, float]:
    return {s.labels["mountpoint"]: s.value for s in family.samples}


def test_mounts_come_from_pid_1_and_are_stated_under_rootfs(fake_root: Path) -> None:
    families = _families(fake_root)
    sizes = _by_mountpoint(families["vigil_host_filesystem_size_bytes"])
    errors = _by_mountpoint(families["vigil_host_filesystem_device_error"])
    # labels show the host's paths, never the fake root's
    assert set(errors) == {"/", "/srv/data", "/srv/with space", "/srv/gone"}
    assert not any(str(fake_root) in m for m in errors)
    # /srv/data does not exist on this machine: a size proves it was stat'ed under rootfs
    st = os.statvfs(fake_root / "srv" / "data")
    assert sizes["/srv/data"] == st.f_blocks * st.f_frsize
    assert "/srv/with space" in sizes
    assert errors["/srv/gone"] == 1 and "/srv/gone" not in sizes
    devices = {s.labels["mountpoint"]: s.labels["device"]
               for s in families["vigil_host_filesystem_size_bytes"].samples}
    assert devices["/srv/data"] == "/dev/vdb1"


def test_memory_load_and_network_come_from_rootfs_proc(fake_root: Path) -> None:
    families = _families(fake_root)
    assert families["vigil_host_memory_total_bytes"].samples[0].value == 1000 * 1024
    assert families["vigil_host_memory_available_bytes"].samples[0].value == 250 * 1024
    assert families["vigil_host_load1"].samples[0].value == 7.25
    assert families["vigil_host_load15"].samples[0].value == 1.75
    received = {s.labels["device"]: s.value
                for s in families["vigil_host_network_receive_bytes"].samples}
    assert received == {"eth7": 123456, "lo": 11}
    transmit_errors = {s.labels["device"]: s.value
                       for s in families["vigil_host_network_transmit_errors"].samples}
    assert transmit_errors["eth7"] == 4


def test_pid_1_unreadable_falls_back_to_self(fake_root: Path) -> None:
    (fake_root / "proc" / "1" / "mounts").unlink()
    mounts = filesystems.read_mounts(str(fake_root / "proc"))
    assert [m.mountpoint for m in mounts] == ["/"]
    assert mounts[0].fstype == "overlay"


def test_default_rootfs_reads_this_machine() -> None:
    """Without ``rootfs`` the real /proc is read: the root filesystem is there."""
    collector = filesystems.FilesystemCollector()
    assert "/" in {m.mountpoint for m in collector.mounts()}


@pytest.mark.parametrize(
    ("rootfs", "message"),
    [
        ("host", "rootfs: expected an absolute path, got 'host'"),
        ("/nonexistent/vigil-root", "rootfs: /nonexistent/vigil-root/proc is not a directory"),
    ],
)
def test_bad_rootfs_is_a_config_error(rootfs: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(ConfigNode({"rootfs": rootfs}, "host.yml"))
    assert str(caught.value).startswith(f"host.yml: {message}")
