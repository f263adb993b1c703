"""Bounded reads of files named by an operator: configs, secrets, certificates.

Why not ``Path.read_bytes``: a path in a config may name a FIFO (the read
blocks for ever), ``/dev/zero`` (it never ends) or a 300 MiB log matched by a
careless glob (it is read into memory). The file is opened non-blocking and
checked with ``fstat`` before anything is read; anything but a regular file,
and anything larger than the caller's limit, is refused with a one-line reason.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``.

    ``OSError`` when it cannot be opened; ``ValueError`` with the reason when
    it is not a regular file or holds more than ``limit`` bytes.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)  # before fdopen, which refuses a directory with its own error
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise ValueError(f"{info.st_size} bytes, larger than the {limit}-byte limit")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"grew beyond the {limit}-byte limit while being read")
    return data


def read_bounded_text(path: str | Path, limit: int, what: str) -> str:
    """The UTF-8 text of ``path`` (see :func:`read_bounded`); every failure is a
    ``ValueError`` whose message starts with ``what``."""
    try:
        data = read_bounded(path, limit)
    except OSError as exc:
        raise ValueError(f"cannot read {what}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not UTF-8 text (byte {exc.start})") from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "of another kind"
