"""Rendering a scrape: a fast path for the families Vigil's exporters build.

Why: prometheus_client's ``generate_latest`` (text and OpenMetrics) handles
every escaping scheme, UTF-8 names, exemplars and native histograms, and pays
for that generality on each of the hundred-odd samples of a host scrape: it
was about a third of the host exporter's in-process scrape time. Vigil's
families are plain: legacy metric and label names (checked here, once per
name), counters, gauges and histograms, no exemplars, no timestamps. For
those this module writes the same bytes with less work; anything else (an
unusual type or name, a suffix sample such as ``_created``, an escaping or
version other than the defaults Prometheus negotiates) goes to
prometheus_client's own encoder, so the output never differs.

Public API: ``render(registry, encoder) -> bytes`` where ``encoder`` is what
``prometheus_client.exposition.choose_encoder`` returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import partial

from prometheus_client.exposition import generate_latest as text_generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

Encoder = Callable[[Collector], bytes]

_LEGACY_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_FAST_TYPES = frozenset({"counter", "gauge", "histogram"})
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")
_plain_names: dict[str, bool] = {}  # name -> needs no escaping in either format


def _plain(name: str) -> bool:
    known = _plain_names.get(name)
    if known is None:
        known = bool(_LEGACY_NAME.match(name))
        if len(_plain_names) < 10_000:  # bounded: names come from configs, not data
            _plain_names[name] = known
    return known


class _Collected(Collector):
    """Families already collected, handed to a library encoder (no second collection)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def _format(encoder: Encoder) -> str | None:
    """``"text"`` or ``"openmetrics"`` when ``encoder`` is a default one this module renders."""
    if encoder is text_generate_latest:
        return "text"
    if isinstance(encoder, partial) and not encoder.args:
        keywords = encoder.keywords
        if encoder.func is text_generate_latest and keywords == {"escaping": "underscores"}:
            return "text"
        if encoder.func is openmetrics.generate_latest and keywords == {
                "escaping": "underscores", "version": "1.0.0"}:
            return "openmetrics"
    return None


def _label_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def _render_fast(families: list[Metric], openmetrics_format: bool) -> bytes | None:
    """The exposition of ``families``, or ``None`` when one needs the general encoder."""
    output: list[str] = []
    append = output.append
    for metric in families:
        name, kind = metric.name, metric.type
        if kind not in _FAST_TYPES or not _plain(name):
            return None
        if openmetrics_format:
            exposed = name
            doc = _label_value(metric.documentation)
        else:
            if metric.unit:
                return None
            exposed = name + "_total" if kind == "counter" else name
            doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        append(f"# HELP {exposed} {doc}\n# TYPE {exposed} {kind}\n")
        if openmetrics_format and metric.unit:
            append(f"# UNIT {exposed} {metric.unit}\n")
        for sample in metric.samples:
            sample_name = sample.name
            if (sample.timestamp is not None or sample.exemplar is not None
                    or sample.native_histogram is not None or not _plain(sample_name)
                    or sample_name in (name + s for s in _OM_SUFFIXES)):
                return None
            labels = sample.labels
            if labels:
                parts = []
                for key in sorted(labels):
                    if not _plain(key):
                        return None
                    parts.append(f'{key}="{_label_value(labels[key])}"')
                append(f"{sample_name}{{{','.join(parts)}}} {floatToGoString(sample.value)}\n")
            else:
                append(f"{sample_name} {floatToGoString(sample.value)}\n")
    if openmetrics_format:
        append("# EOF\n")
    return "".join(output).encode("utf-8")


def render(registry: Collector, encoder: Encoder) -> bytes:
    """What ``encoder(registry)`` returns, through the fast path when it applies."""
    form = _format(encoder)
    if form is None:
        return encoder(registry)
    families = list(registry.collect())
    body = _render_fast(families, form == "openmetrics")
    return body if body is not None else encoder(_Collected(families))


__all__ = ["render"]
