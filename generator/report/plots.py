"""The report's pictures, drawn with matplotlib into PNG bytes (embedded in the HTML).

The Agg backend draws without a display, so the report runs on a server or in CI.
A picture with no data is not drawn: the page says "no data" instead of an empty axis.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

Series = tuple[str, Sequence[tuple[float, float]]]


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def timeseries(title: str, series: Sequence[Series], span: tuple[float, float], unit: str = "",
               line: float | None = None, line_label: str = "") -> bytes | None:
    """Lines over the whole period `span` (so a short history shows as short)."""
    drawn = [(name, points) for name, points in series if points]
    if not drawn:
        return None
    figure, axis = plt.subplots(figsize=(7.5, 2.6))
    for name, points in drawn:
        axis.plot([datetime.fromtimestamp(t, UTC) for t, _ in points], [v for _, v in points],
                  label=name, linewidth=1.4, marker="o" if len(points) < 30 else None,
                  markersize=3)
    axis.set_xlim(datetime.fromtimestamp(span[0], UTC), datetime.fromtimestamp(span[1], UTC))
    if line is not None:
        axis.axhline(line, color="#c0392b", linestyle="--", linewidth=1, label=line_label)
    axis.set_title(title, fontsize=10, loc="left")
    axis.set_ylabel(unit, fontsize=8)
    axis.grid(alpha=0.3)
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    axis.tick_params(labelsize=7)
    if len(drawn) > 1 or line is not None:
        axis.legend(fontsize=7, loc="best")
    return _png(figure)


def bars(title: str, values: dict[str, float], colours: dict[str, str]) -> bytes | None:
    if not values:
        return None
    figure, axis = plt.subplots(figsize=(4.5, 2.4))
    names = list(values)
    axis.bar(names, [values[n] for n in names], color=[colours.get(n, "#7f8c8d") for n in names])
    axis.set_title(title, fontsize=10, loc="left")
    axis.tick_params(labelsize=8)
    axis.grid(axis="y", alpha=0.3)
    return _png(figure)
