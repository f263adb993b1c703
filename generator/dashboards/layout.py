"""Placing panels on Grafana's 24-column grid, and numbering the ones that are not signals.

Signal panels keep the id the spec model gave them (`Signal.panel_id`, counted per
dashboard from 1) because alert annotations link to `?viewPanel=<id>`. Everything
else (rows, extra panels) is numbered from 100 upwards, skipping any id a signal
holds, so adding a signal never moves another panel's link.
"""

from __future__ import annotations

from collections.abc import Iterable

from grafanalib.core import GridPos

GRID_WIDTH = 24
FIRST_EXTRA_ID = 100


class Grid:
    """A left-to-right, top-to-bottom flow of panels; a row always starts a new line."""

    def __init__(self) -> None:
        self._x = 0
        self._y = 0
        self._line_height = 0

    def _new_line(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def row(self) -> GridPos:
        if self._x:
            self._new_line()
        position = GridPos(h=1, w=GRID_WIDTH, x=0, y=self._y)
        self._y += 1
        return position

    def place(self, width: int, height: int) -> GridPos:
        if not 0 < width <= GRID_WIDTH:
            raise ValueError(f"panel width {width} is not within 1..{GRID_WIDTH}")
        if self._x + width > GRID_WIDTH:
            self._new_line()
        position = GridPos(h=height, w=width, x=self._x, y=self._y)
        self._x += width
        self._line_height = max(self._line_height, height)
        return position


class PanelIds:
    """Ids for rows and extra panels: from 100, never one a signal panel holds."""

    def __init__(self, reserved: Iterable[int] = ()) -> None:
        self._reserved = set(reserved)
        self._next = FIRST_EXTRA_ID

    def __call__(self) -> int:
        while self._next in self._reserved:
            self._next += 1
        self._reserved.add(self._next)
        return self._next
