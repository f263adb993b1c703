"""Follow a growing log file across rotation and truncation, like ``tail -F``.

- Rotation (the file is renamed and a new one created, logrotate's default):
  detected by the path pointing at another inode; the old file is read to
  its end first, then the new one from its beginning.
- Truncation (``copytruncate``): the file is shorter than the read position;
  reading restarts at the beginning.
- Only complete lines are returned; a partial last line waits for its newline.
  A line longer than ``max_line`` bytes is dropped (and counted).
- On start the existing content is skipped unless ``from_beginning``: the
  counters describe requests seen while the exporter runs, as counters should.
"""

from __future__ import annotations

import contextlib
import os
from typing import BinaryIO

CHUNK = 1 << 16
MAX_READ_PER_POLL = 64 << 20  # bound one poll's work; the rest is read next time


class LogTailer:
    def __init__(self, path: str, from_beginning: bool = False, max_line: int = 65536) -> None:
        self.path = path
        self.max_line = max_line
        self.too_long = 0  # lines dropped for exceeding max_line
        self.missing = False  # the path did not exist at the last poll
        self._fh: BinaryIO | None = None
        self._identity: tuple[int, int] | None = None
        self._partial = b""
        self._discarding = False
        # A file created later is read from its beginning.
        with contextlib.suppress(FileNotFoundError):
            self._open(at_end=not from_beginning)

    def _open(self, at_end: bool) -> None:
        fh = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
        st = os.fstat(fh.fileno())
        self._fh, self._identity = fh, (st.st_dev, st.st_ino)
        self._partial, self._discarding = b"", False
        if at_end:
            fh.seek(0, os.SEEK_END)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def poll(self) -> list[str]:
        """Complete lines appended since the last poll.

        When the path does not exist, ``missing`` is set and the lines still
        unread in a rotated-away file are returned.
        """
        try:
            st: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            st = None
        self.missing = st is None
        if self._fh is None:
            if st is None:
                return []
            self._open(at_end=False)
        elif (st is not None and (st.st_dev, st.st_ino) == self._identity
              and st.st_size < self._fh.tell()):  # truncated in place
            self._fh.seek(0)
            self._partial, self._discarding = b"", False
        lines = self._read()
        if st is not None and (st.st_dev, st.st_ino) != self._identity:
            self.close()  # rotated: the old file has been read to its end
            self._open(at_end=False)
            lines += self._read()
        return lines

    def _read(self) -> list[str]:
        assert self._fh is not None
        lines: list[str] = []
        total = 0
        while total < MAX_READ_PER_POLL:
            data = self._fh.read(CHUNK)
            if not data:
                break
            total += len(data)
            pieces = (self._partial + data).split(b"\n")
            self._partial = pieces.pop()
            for piece in pieces:
                if self._discarding:  # tail end of an over-long line
                    self._discarding = False
                    continue
                if len(piece) > self.max_line:
                    self.too_long += 1
                    continue
                lines.append(piece.decode("utf-8", "replace").rstrip("\r"))
            if len(self._partial) > self.max_line:
                if not self._discarding:
                    self.too_long += 1
                self._partial, self._discarding = b"", True
        return lines
