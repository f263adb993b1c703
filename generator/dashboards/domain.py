"""The four signal dashboards (infrastructure, application, database, business).

Each draws every spec signal assigned to it, in spec order, custom signals included,
followed by the panels its module adds for context (percentiles, probes, cache hit
ratio, backups...). Alert bands on these dashboards are the alerts of their signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from generator.dashboards.assemble import assemble
from generator.dashboards.context import Context
from generator.dashboards.layout import PanelIds
from generator.dashboards.panels.row import row
from generator.dashboards.signal_panels import signal_panel
from generator.model import Signal, Spec

Extras = Callable[[Context], Sequence[Any]]


def signals_of(spec: Spec, dashboard: str) -> list[Signal]:
    return [s for s in spec.signals.values() if s.definition.dashboard == dashboard]


def signal_dashboard(spec: Spec, name: str, summary: str, extras: Extras,
                     extra_exporters: Iterable[str]) -> dict[str, Any]:
    signals = signals_of(spec, name)
    ctx = Context(spec=spec, name=name, ids=PanelIds(s.panel_id for s in signals))
    panels: list[Any] = []
    if signals:
        panels.append(row(ctx, "Signals (thresholds from the spec)"))
        panels.extend(signal_panel(ctx, signal) for signal in signals)
    extra_exporters = [e for e in extra_exporters if e in spec.used_exporters()]
    if extra_exporters:  # its own panels read an exporter the spec scrapes
        panels.extend(extras(ctx))
    exporters = {s.definition.exporter for s in signals if s.definition.exporter} | set(extra_exporters)
    names = "|".join(s.name for s in signals)
    scope = f'signal=~"{names}"' if signals else None
    return assemble(spec, name, summary, panels, exporters, scope)
