"""Application: request rate, errors, duration percentiles, active users, probes, TLS.

With `exporters.http: blackbox_exporter` the probe panels read blackbox_exporter's
`probe_success` and `probe_duration_seconds` (PROBE_METRICS); the request panels, which
only Vigil's http exporter measures from the access log, are left out.
"""

from __future__ import annotations

from typing import Any

from generator import catalogue
from generator.dashboards.context import Context, target
from generator.dashboards.domain import signal_dashboard
from generator.dashboards.panels.row import row
from generator.dashboards.panels.stat import stat
from generator.dashboards.panels.timeseries import timeseries
from generator.model import Spec

EXPORTER = "http"
PERCENTILES = (("A", "0.5", "p50"), ("B", "0.95", "p95"), ("C", "0.99", "p99"))
PROBE_STEPS = [{"color": "red", "value": None}, {"color": "green", "value": 1}]
# exporter → (its probe success metric, its probe duration metric)
PROBE_METRICS = {"vigil": ("vigil_http_probe_success", "vigil_http_probe_duration_seconds"),
                 "blackbox_exporter": ("probe_success", "probe_duration_seconds")}


def _extras(ctx: Context) -> list[Any]:
    source = ctx.spec.source_of(EXPORTER)
    return [*(_requests(ctx) if source == catalogue.VIGIL else []),
            *_probes(ctx, *PROBE_METRICS[source])]


def _requests(ctx: Context) -> list[Any]:
    q = ctx.query
    return [
        row(ctx, "Requests"),
        timeseries(
            id=ctx.ids(), title="Requests by status class", unit="reqps", grid=ctx.place(12, 8),
            description="Requests per second from the access log, stacked by status class "
                        "(2xx, 3xx, 4xx, 5xx).",
            targets=[target(q("sum by (status_class) (rate(vigil_http_requests_total{$sel}[$window]))",
                              EXPORTER), "A", "{{status_class}}")],
            stacked=True, minimum=0,
        ),
        timeseries(
            id=ctx.ids(), title="Request duration percentiles", unit="s", grid=ctx.place(12, 8),
            description="Median, 95th and 99th percentile request duration over all routes, "
                        "from the access log's duration histogram.",
            targets=[target(q(f"histogram_quantile({quantile}, sum by (le) "
                              "(rate(vigil_http_request_duration_seconds_bucket{$sel}[$window])))",
                              EXPORTER), ref, name)
                     for ref, quantile, name in PERCENTILES],
            minimum=0,
        ),
    ]


def _probes(ctx: Context, success: str, duration: str) -> list[Any]:
    q = ctx.query
    return [
        row(ctx, "Probes and certificates"),
        stat(
            id=ctx.ids(), title="Probes up", unit="percentunit", grid=ctx.place(6, 8),
            description="Share of probed URLs whose last probe succeeded (2xx/3xx within the "
                        "timeout); anything below 100 % means a target is down.",
            targets=[target(q(f"avg({success}{{$sel}})", EXPORTER))],
            steps=PROBE_STEPS, graph=True, decimals=1,
        ),
        timeseries(
            id=ctx.ids(), title="Probe success", unit="percentunit", grid=ctx.place(9, 8),
            description="Whether each probed URL answered successfully (1) or not (0).",
            targets=[target(q(f"min by (target) ({success}{{$sel}})", EXPORTER),
                            "A", "{{target}}")],
            minimum=0, maximum=1,
        ),
        timeseries(
            id=ctx.ids(), title="Probe latency", unit="s", grid=ctx.place(9, 8),
            description="Time each probe took, from connect to the last byte of the answer.",
            targets=[target(q(f"max by (target) ({duration}{{$sel}})", EXPORTER),
                            "A", "{{target}}")],
            minimum=0,
        ),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    return signal_dashboard(spec, "application",
                            "Traffic, errors, latency, users, probes and served certificates.",
                            _extras, [EXPORTER])
