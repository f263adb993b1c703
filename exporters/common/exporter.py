"""The Exporter: named sources + background tasks behind one private registry.

Why: every Vigil exporter has the same shape. Cheap sources (CPU counters, a
few files) are read on each scrape; expensive ones (network probes, SQL) are
``PeriodicTask``s whose last result is served. Either way a failing source
must become ``<prefix>_collector_success{collector="..."} 0``, never an
exception that turns ``/metrics`` into an HTTP 500. This module is that
guarantee, written once.

Building an exporter (what each ``exporters.<name>.build`` returns)::

    Exporter(
        prefix="vigil_host",
        sources=[Source("cpu", collect_cpu), ...],    # run on every scrape
        tasks=[PeriodicTask("tcp:db", probe, interval=15, timeout=2), ...],
    )

- ``Source(name, fn)``: ``fn()`` returns an iterable of metric families and is
  called on each scrape; raising ``CollectionError(msg, metrics)`` serves the
  partial ``metrics`` and marks the collector failed, any other exception
  serves nothing from that source and marks it failed; failures are logged
  at most once a minute per source (scrapes are client-driven).
- ``Exporter.registry`` is a fresh ``CollectorRegistry`` (never the global
  one) holding a single collector that yields every source's and task's
  metrics, then ``<prefix>_collector_success``/``_duration_seconds`` for each
  and ``<prefix>_build_info``. Families of the same name coming from several
  sources or tasks (one task per probe target, say) are merged into one.
- ``Exporter.start()`` starts the tasks, ``Exporter.stop()`` stops them;
  ``on_stop`` callbacks release resources (connections, file handles).
- Output is bounded (:func:`exporters.common.exposition.bound_families`):
  label values longer than ``MAX_LABEL_VALUE_LENGTH`` are shortened and
  families beyond ``max_response_bytes`` (default 8 MiB) left out, counted in
  ``<prefix>_exposition_label_values_truncated_total`` and
  ``<prefix>_exposition_samples_dropped_total`` and logged (rate-limited).
  The self-metrics are added after that bound, so they are always served.
- ``Source(..., self_metrics=False)`` hides a source from the collector
  self-metrics (for a source that only renders state a task maintains, whose
  health the task already reports).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporters.common.exposition import (
    DEFAULT_MAX_RESPONSE_BYTES,
    MAX_LABEL_VALUE_LENGTH,
    Cuts,
    bound_families,
)
from exporters.common.ratelog import RateLimitedLog
from exporters.common.selfmetrics import (
    CollectorStatus,
    build_info_family,
    collector_families,
)
from exporters.common.tasks import CollectionError, PeriodicTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """A cheap source read on every scrape."""

    name: str
    fn: Callable[[], Iterable[Metric]]
    self_metrics: bool = True


class Exporter:
    """Sources and tasks of one exporter, served from a private registry."""

    def __init__(
        self,
        prefix: str,
        sources: Sequence[Source] = (),
        tasks: Sequence[PeriodicTask] = (),
        *,
        on_stop: Sequence[Callable[[], None]] = (),
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        names = [s.name for s in sources] + [t.name for t in tasks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate collector names: {', '.join(duplicates)}")
        self.prefix = prefix
        self.sources = list(sources)
        self.tasks = list(tasks)
        self.on_stop = list(on_stop)
        self.max_response_bytes = max_response_bytes
        self._cut_lock = threading.Lock()
        self._label_values_truncated = 0
        self._samples_dropped = 0
        self._ratelog = RateLimitedLog(log)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_ExporterCollector(self))

    def start(self) -> None:
        for task in self.tasks:
            task.start()

    def stop(self) -> None:
        for task in self.tasks:
            task.stop(wait=0.2)
        for callback in self.on_stop:
            try:
                callback()
            except Exception:  # stopping must not fail half-way
                log.exception("error while stopping")

    def collect(self) -> list[Metric]:
        """Every metric family of one scrape (what the registry serves)."""
        families: list[Metric] = []
        statuses: list[CollectorStatus] = []
        for source in self.sources:
            metrics, status = _collect_source(source, self._ratelog)
            families.extend(metrics)
            if source.self_metrics:
                statuses.append(status)
        for task in self.tasks:
            state = task.state()
            families.extend(state.metrics)
            if state.ran:
                statuses.append(CollectorStatus(task.name, state.success, state.duration))
        families, cuts = bound_families(merge_families(families), self.max_response_bytes)
        families.extend(self._cut_families(cuts))
        families.extend(collector_families(self.prefix, statuses))
        families.append(build_info_family(self.prefix))
        return families

    def _cut_families(self, cuts: Cuts) -> list[Metric]:
        """The two counters of what output bounds cut, this scrape's cuts included."""
        with self._cut_lock:
            self._label_values_truncated += cuts.label_values
            self._samples_dropped += cuts.samples_dropped
            truncated, dropped = self._label_values_truncated, self._samples_dropped
        if cuts:
            self._ratelog.warning(
                "cut", "scrape output cut: %d label values longer than %d characters shortened "
                "(first: %s), %d samples beyond the %d-byte response limit left out (first: %s)",
                cuts.label_values, MAX_LABEL_VALUE_LENGTH, cuts.first_truncated or "none",
                cuts.samples_dropped, self.max_response_bytes, cuts.first_dropped or "none")
        label_values = CounterMetricFamily(
            f"{self.prefix}_exposition_label_values_truncated",
            "Long label values shortened (summed over scrapes).", value=truncated)
        samples = CounterMetricFamily(
            f"{self.prefix}_exposition_samples_dropped",
            "Samples left out by the response size limit (summed).", value=dropped)
        return [label_values, samples]


def merge_families(families: Iterable[Metric]) -> list[Metric]:
    """One family per metric name: samples of same-named families are concatenated.

    Several tasks (one per probe target, say) each build their own family of
    the same metric; the exposition format allows each name only once. A
    series two of them both report (overlapping certificate globs) is kept
    once, the first one's value: a duplicate would fail the scrape.
    """
    merged: dict[str, Metric] = {}
    for family in families:
        first = merged.get(family.name)
        if first is None:
            merged[family.name] = family
        elif first.type != family.type:
            log.warning("metric %s has two types (%s, %s); keeping the first",
                        family.name, first.type, family.type)
        else:  # copy: the first family may be a task's stored result, shared by scrapes
            copy = Metric(first.name, first.documentation, first.type, first.unit)
            seen = {(s.name, tuple(sorted(s.labels.items()))) for s in first.samples}
            copy.samples = list(first.samples)
            for sample in family.samples:  # two globs matching one file: one series
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in seen:
                    seen.add(key)
                    copy.samples.append(sample)
            merged[family.name] = copy
    return list(merged.values())


def _collect_source(source: Source, ratelog: RateLimitedLog) -> tuple[list[Metric], CollectorStatus]:
    """Run one scrape-time source. Its failures are logged at most once a minute per
    source: a client can scrape as often as it likes, the log must not follow."""
    started = time.monotonic()
    try:
        metrics = list(source.fn())
        ok = True
    except CollectionError as exc:
        ratelog.warning(f"source:{source.name}", "collector %s failed: %s", source.name, exc)
        metrics, ok = exc.metrics, False
    except Exception as exc:
        ratelog.warning(f"source:{source.name}", "collector %s failed: %s: %s", source.name,
                        type(exc).__name__, exc)
        metrics, ok = [], False
    return metrics, CollectorStatus(source.name, ok, time.monotonic() - started)


class _ExporterCollector(Collector):
    def __init__(self, exporter: Exporter) -> None:
        self._exporter = exporter

    def collect(self) -> Iterable[Metric]:
        return self._exporter.collect()
