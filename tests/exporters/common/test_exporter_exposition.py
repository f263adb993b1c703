"""The fast exposition path writes exactly what prometheus_client's encoders write.

Vigil renders plain families itself (exporters/common/exposition.py) because the
library's general encoder was a third of a host scrape. The price of that is a
promise, held here: for any family, label set and value, and for every Accept header
Prometheus may send, the bytes equal the library's own.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from exporters.common.exposition import render

ACCEPT_HEADERS = [
    "",
    "text/plain;version=0.0.4",
    "application/openmetrics-text;version=1.0.0;charset=utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
    "application/openmetrics-text;version=0.0.1",
    "text/plain;version=1.0.0;escaping=allow-utf-8",
]

names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.endswith(("_total", "_created", "_bucket", "_count", "_sum", "_info")))
label_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n != "le")
label_values = st.text(max_size=12)
values = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**6, 10**6).map(float)


@st.composite
def families(draw):
    result = []
    for index in range(draw(st.integers(1, 4))):
        name = f"{draw(names)}_{index}"
        keys = draw(st.lists(label_names, max_size=3, unique=True))
        kind = draw(st.sampled_from(["counter", "gauge", "histogram"]))
        documentation = draw(st.text(max_size=20))
        unit = draw(st.sampled_from(["", "seconds"])) if kind == "gauge" else ""
        if unit:
            name = f"{name}_{unit}"
        if kind == "counter":
            family = CounterMetricFamily(name, documentation, labels=keys)
        elif kind == "gauge":
            family = GaugeMetricFamily(name, documentation, labels=keys, unit=unit)
        else:
            family = HistogramMetricFamily(name, documentation, labels=keys)
        for _ in range(draw(st.integers(0, 3))):
            label_set = [draw(label_values) for _ in keys]
            if kind == "histogram":
                count = float(draw(st.integers(0, 100)))
                family.add_metric(label_set, [("0.5", count / 2), ("+Inf", count)], count * 0.3)
            else:
                value = draw(values)
                if kind == "counter" and (math.isnan(value) or value < 0):
                    value = 0.0
                family.add_metric(label_set, value)
        result.append(family)
    return result


class _Fixed(Collector):
    def __init__(self, fams):
        self.fams = fams

    def collect(self):
        return self.fams


@settings(max_examples=300, deadline=None)
@given(families(), st.sampled_from(ACCEPT_HEADERS))
def test_fast_path_equals_library_output(fams, accept):
    registry = CollectorRegistry()
    registry.register(_Fixed(fams))
    encoder, _ = choose_encoder(accept)
    assert render(registry, encoder) == encoder(registry)


def test_plain_families_take_the_fast_path():
    """The equality above would hold trivially if everything fell back to the library."""
    from exporters.common.exposition import _render_fast

    gauge = GaugeMetricFamily("vigil_test_used_ratio", "Used share.", labels=["mountpoint"])
    gauge.add_metric(['/a "b"\\c\n'], 0.25)
    counter = CounterMetricFamily("vigil_test_reads", "Reads.", labels=["device"])
    counter.add_metric(["sda"], 3)
    body = _render_fast([gauge, counter], openmetrics_format=False)
    assert body == (
        b"# HELP vigil_test_used_ratio Used share.\n"
        b"# TYPE vigil_test_used_ratio gauge\n"
        b'vigil_test_used_ratio{mountpoint="/a \\"b\\"\\\\c\\n"} 0.25\n'
        b"# HELP vigil_test_reads_total Reads.\n"
        b"# TYPE vigil_test_reads_total counter\n"
        b'vigil_test_reads_total{device="sda"} 3.0\n'
    )
