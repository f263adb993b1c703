"""The metric catalogue: every metric the exporters serve, read from their own registries.

Why from live registries: each exporter declares its metric families in the
code that fills them (name, type, help, labels), and there is no second list
that could drift from it. Collecting an exporter once, on inputs that make
every family appear, is therefore the one description that is always true.
The README's catalogue table is rendered here and checked against the code by
``tests/exporters/test_metric_catalogue.py``, which builds the four exporters
on real inputs (a PostgreSQL with the demo shop, local HTTP and HTTPS servers,
an access log, files) and regenerates the table::

    VIGIL_UPDATE_CATALOGUE=1 .venv/bin/pytest tests/exporters/test_metric_catalogue.py

Label names come from the samples (``le`` and ``quantile`` of histograms and
summaries left out), so a family must have at least one series when it is
collected; :func:`entries` refuses an empty one rather than print no labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from exporters.common.exporter import Exporter

BEGIN = ("<!-- metric-catalogue:begin (generated from the exporters' registries by "
         "exporters/catalogue.py; do not edit) -->")
END = "<!-- metric-catalogue:end -->"
_SUFFIX_LABELS = {"le", "quantile"}
# The name a family is exposed under, by type (prometheus_client strips these).
_EXPOSED_SUFFIX = {"counter": "_total", "info": "_info"}


@dataclass(frozen=True)
class Entry:
    """One metric as a user sees it in ``/metrics``."""

    exporter: str
    name: str
    type: str
    labels: tuple[str, ...]
    help: str


def _labels(family: Metric) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for sample in family.samples:
        for label in sample.labels:
            if label not in _SUFFIX_LABELS:
                seen.setdefault(label)
    return tuple(seen)


def entries(exporter_name: str, exporter: Exporter) -> list[Entry]:
    """The exporter's metrics as collected now, sorted by name.

    Raises ``ValueError`` naming a family without series: its labels cannot be known.
    """
    found = []
    for family in exporter.registry.collect():
        if not family.samples:
            raise ValueError(f"{exporter_name}: {family.name} has no series; give the exporter "
                             "inputs that produce one")
        name = family.name + _EXPOSED_SUFFIX.get(family.type, "")
        found.append(Entry(exporter_name, name, family.type, _labels(family),
                           " ".join(family.documentation.split())))
    return sorted(found, key=lambda e: e.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(catalogue: Iterable[Entry]) -> str:
    """A Markdown table, one row per metric, between the catalogue markers."""
    lines = [BEGIN, "", "| exporter | metric | type | labels | help |", "|---|---|---|---|---|"]
    for entry in catalogue:
        labels = ", ".join(entry.labels)
        lines.append(f"| {entry.exporter} | `{entry.name}` | {entry.type} | {_cell(labels)} "
                     f"| {_cell(entry.help)} |")
    lines += ["", END]
    return "\n".join(lines)


def replace_section(document: str, table: str) -> str:
    """``document`` with the text between the catalogue markers replaced by ``table``."""
    start = document.find(BEGIN)
    end = document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the catalogue markers are missing: {BEGIN!r} ... {END!r}")
    return document[:start] + table + document[end + len(END):]
