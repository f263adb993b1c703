"""Rows: the headings that group panels; never collapsed, so every panel loads."""

from __future__ import annotations

from grafanalib.core import RowPanel

from generator.dashboards.context import Context


def row(ctx: Context, title: str) -> RowPanel:
    return RowPanel(id=ctx.ids(), title=title, gridPos=ctx.grid.row(), collapsed=False)
