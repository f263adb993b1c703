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

Bounded output: whatever a source returns (a SQL query's 1 MB label
values, a million rows) must not turn one scrape into a 50 MB response and
hundreds of MiB of memory. ``bound_families`` is applied by every
:class:`~exporters.common.exporter.Exporter` before rendering:

- a label value longer than ``MAX_LABEL_VALUE_LENGTH`` characters is cut to
  that length, its last 13 characters replaced by ``~`` and 12 hex digits of
  its SHA-256 (``cap_label_value``), so two long values that share a prefix
  stay two series;
- families are kept whole, in order, while the estimated exposition stays
  within ``max_bytes`` (``DEFAULT_MAX_RESPONSE_BYTES``); a family that would
  exceed it is left out whole (half a histogram is worse than none) and the
  smaller ones after it still get their chance.

``Cuts`` says what was cut; the exporter counts it in
``<prefix>_exposition_label_values_truncated_total`` and
``<prefix>_exposition_samples_dropped_total`` and logs a rate-limited warning.

Public API: ``render(registry, encoder) -> bytes`` where ``encoder`` is what
``prometheus_client.exposition.choose_encoder`` returned;
``MAX_LABEL_VALUE_LENGTH``, ``DEFAULT_MAX_RESPONSE_BYTES``,
``cap_label_value(value) -> str``, ``bound_families(families, max_bytes) ->
(families, Cuts)``, ``Cuts``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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

MAX_LABEL_VALUE_LENGTH = 1024  # characters
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
_HASH_SUFFIX = 12  # hex digits after "~"
_SAMPLE_OVERHEAD = 32  # value, braces, quotes, newline: a generous estimate


def cap_label_value(value: str) -> str:
    """``value``, or a ``MAX_LABEL_VALUE_LENGTH``-character form of it that stays distinct."""
    if len(value) <= MAX_LABEL_VALUE_LENGTH:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_SUFFIX]
    return f"{value[:MAX_LABEL_VALUE_LENGTH - _HASH_SUFFIX - 1]}~{digest}"


@dataclass
class Cuts:
    """What ``bound_families`` cut from one scrape."""

    label_values: int = 0
    samples_dropped: int = 0
    first_truncated: str | None = None  # "metric{label}" of the first cut value
    first_dropped: str | None = None  # the first family left out

    def __bool__(self) -> bool:
        return bool(self.label_values or self.first_dropped)


def _capped(metric: Metric, cuts: Cuts) -> Metric:
    """``metric`` itself, or a copy with long label values cut (stored results are shared)."""
    samples = metric.samples
    index = next((i for i, sample in enumerate(samples)
                  if any(len(v) > MAX_LABEL_VALUE_LENGTH for v in sample.labels.values())), None)
    if index is None:
        return metric
    copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
    copy.samples = list(samples[:index])
    for sample in samples[index:]:
        labels = sample.labels
        long = [k for k, v in labels.items() if len(v) > MAX_LABEL_VALUE_LENGTH]
        if long:
            cuts.label_values += len(long)
            if cuts.first_truncated is None:
                cuts.first_truncated = f"{metric.name}{{{long[0]}}}"
            labels = {k: cap_label_value(v) for k, v in labels.items()}
            sample = sample._replace(labels=labels)
        copy.samples.append(sample)
    return copy


def _estimate(metric: Metric) -> int:
    size = 2 * len(metric.name) + len(metric.documentation) + 32
    for sample in metric.samples:
        size += len(sample.name) + _SAMPLE_OVERHEAD
        for key, value in sample.labels.items():
            size += len(key) + len(value) + 4
    return size


def bound_families(
    families: Sequence[Metric], max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
) -> tuple[list[Metric], Cuts]:
    """``families`` with long label values cut and whole families beyond ``max_bytes`` left out."""
    cuts = Cuts()
    kept: list[Metric] = []
    total = 0
    for metric in families:
        metric = _capped(metric, cuts)
        size = _estimate(metric)
        if total + size > max_bytes:
            cuts.samples_dropped += len(metric.samples)
            cuts.first_dropped = cuts.first_dropped or metric.name
            continue
        total += size
        kept.append(metric)
    return kept, cuts


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


__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "MAX_LABEL_VALUE_LENGTH", "Cuts", "bound_families",
           "cap_label_value", "render"]
