"""Latency SLIs: the threshold becomes the exporter's bucket, or `vigil generate` refuses it.

A latency SLO whose threshold is not a bucket bound reads no good requests at all; each
case below is refused with the file, line and path of the offending key, and the
exporter configs shipped with Vigil expose the bucket every shipped latency SLO reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exporters.common.config import load_config
from exporters.http import buckets as exporter_buckets
from generator.loader import SpecError, load_spec
from generator.rules.slo import recording_rules

ROOT = Path(__file__).resolve().parents[2]


def _latency(**sli: object):
    def change(data):
        data["slos"]["latency"]["sli"] = sli
    return change


BAD = [
    ("threshold that is not a bucket", _latency(latency={"threshold": "300ms"}),
     "slos.latency.sli.latency.threshold: 0.3s is not a bucket of "
     "vigil_http_request_duration_seconds (buckets: 0.005s, 0.01s, 0.025s, 0.05s, 0.1s, 0.25s, "
     "0.5s, 1s, 2s, 2.5s, 5s, 10s), so this SLO would count no request as good; expected one "
     "of them, or add the bound to the exporter's request_duration_buckets and to "
     "sli.latency.buckets"),
    ("threshold missing from the configured buckets",
     _latency(latency={"threshold": "2s", "buckets": ["100ms", "300ms"]}),
     "slos.latency.sli.latency.threshold: 2s is not a bucket of"),
    ("another histogram without its buckets",
     _latency(latency={"threshold": "300ms", "metric": "shop_request_seconds"}),
     "slos.latency.sli.latency.buckets: required for shop_request_seconds: list the bounds it "
     "is exported with, so the threshold can be checked against them"),
    ("buckets out of order", _latency(latency={"threshold": "1s", "buckets": ["1s", "300ms"]}),
     "slos.latency.sli.latency.buckets[1]: expected buckets in increasing order, got 0.3s "
     "after 1s"),
    ("too many buckets",
     _latency(latency={"threshold": "1ms", "buckets": [f"{i + 1}ms" for i in range(41)]}),
     "slos.latency.sli.latency.buckets: expected at most 40 items, got 41"),
    ("total beside latency", _latency(latency={"threshold": "2s"}, total="sum(rate(x[$window]))"),
     "slos.latency.sli.total: not used with `latency`: the histogram's `_count` is the total"),
    ("latency and good", _latency(latency={"threshold": "2s"}, good="sum(rate(x[$window]))"),
     "slos.latency.sli: expected exactly one of error or good or latency"),
    ("error without total", _latency(error="sum(rate(x[$window]))"),
     "slos.latency.sli.total: required key is missing (with `error` or `good`)"),
    ("hand-written bucket the exporter does not have", _latency(
        good='sum(rate(vigil_http_request_duration_seconds_bucket{le="0.3",$sel}[$window]))',
        total="sum(rate(vigil_http_request_duration_seconds_count{$sel}[$window]))"),
     'slos.latency.sli.good: le="0.3" is not a bucket of the http exporter\'s '
     "vigil_http_request_duration_seconds (default buckets: 0.005, 0.01, 0.025, 0.05, 0.1, "
     "0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0), so this SLI would select nothing; expected "
     "`latency: {threshold: ...}` (with `buckets:` as the exporter is configured) instead"),
    ("broken selector", _latency(latency={"threshold": "2s", "selector": 'route="/x'}),
     "slos.latency.sli.latency.selector: expected a PromQL expression"),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_refused_with_file_line_and_path(write_spec, change, message: str) -> None:
    path = write_spec(change)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    rendered = err.value.render()
    assert re.search(rf"^{re.escape(str(path))}:\d+: {re.escape(message)}", rendered, re.M), \
        rendered


def _rules(spec, name: str) -> dict[str, str]:
    return {r["record"]: r["expr"] for r in recording_rules(spec, spec.slos[name])
            if "labels" in r and "window" not in r["labels"]}


def test_a_configured_bucket_is_the_good_series(write_spec) -> None:
    spec = load_spec(write_spec(_latency(latency={
        "threshold": "300ms", "buckets": ["100ms", "0.3s", "2s"], "selector": 'route!="/healthz"'})))
    rules = _rules(spec, "latency")
    count = ('sum(rate(vigil_http_request_duration_seconds_count{route!="/healthz",'
             'job="vigil-http",environment="production"}[5m]))')
    assert rules["vigil_slo:total:rate5m"] == count
    good = ('sum(rate(vigil_http_request_duration_seconds_bucket{le="0.3",route!="/healthz",'
            'job="vigil-http",environment="production"}[5m]))')
    assert rules["vigil_slo:errors:rate5m"] == f"({count}) - (({good}) or 0 * ({count}))"


def test_another_histogram_is_read_with_its_own_buckets(write_spec) -> None:
    spec = load_spec(write_spec(_latency(latency={
        "threshold": "250ms", "metric": "shop_request_seconds", "buckets": ["250ms", "1s"]})))
    assert spec.slos["latency"].exporter is None  # not the http exporter's job
    assert 'shop_request_seconds_bucket{le="0.25",environment="production"}' in \
        _rules(spec, "latency")["vigil_slo:errors:rate5m"]


EXPORTER_CONFIGS = [ROOT / "deploy" / "compose" / "exporters" / "http.yml",
                    ROOT / "exporters" / "examples" / "http.yml"]


@pytest.mark.parametrize("config", EXPORTER_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("spec_file", ["spec.yaml", "examples/demo.yaml"])
def test_shipped_exporter_configs_have_every_shipped_latency_bucket(config: Path,
                                                                   spec_file: str) -> None:
    """The buckets a shipped spec's latency SLIs name are the ones its exporters expose."""
    exposed = exporter_buckets(load_config(config))
    latency_slis = [s.latency for s in load_spec(ROOT / "slo" / spec_file).slos.values()
                    if s.latency is not None]
    assert latency_slis
    for sli in latency_slis:
        assert sli.buckets == exposed
