"""The http exporter: probes of URLs and request metrics from access logs,
under ``vigil_http_``. See ``exporters/examples/http.yml``.

Config::

    probes:
      - name: shop                       # label `target`; default: the URL
        url: https://127.0.0.1:8443/healthz
        method: GET                      # default GET
        expected_status: [200, 3xx]      # codes or classes; default [2xx]
        timeout: 5s                      # whole request, body included
        interval: 30s
        follow_redirects: true
        tls_verify: true                 # or false
        ca_file: ca.pem                  # trust this CA instead of the system's
        headers: {Authorization: {env: SHOP_PROBE_TOKEN}}   # values may be secrets
        body: '{"ping": true}'
    access_logs:
      - path: /var/log/nginx/access.log
        format: combined                 # combined | alb | json
        poll_interval: 1s
        from_beginning: false            # count lines already in the file at start
        json_fields:                     # json only; defaults cover common names
          status: [http.status]
        duration_unit: s                 # json only: s | ms | us | ns
        routes:                          # first match names the route
          - {name: /api/orders/:id, pattern: '^/api/orders/\\d+$'}
          - {name: /static, prefix: /static/}
          - /checkout                    # exact path
        path_segments: 0                 # >0: unmatched paths become their first N segments
        max_routes: 100                  # cap on distinct route values; then "other"
    request_duration_buckets: [0.1, 300ms, 2s]  # histogram bounds (seconds); default below
"""

from __future__ import annotations

import re
from functools import partial

import urllib3

from exporters.common.config import ConfigNode
from exporters.common.exporter import Exporter, Source
from exporters.common.tasks import PeriodicTask
from exporters.http.accesslog import DEFAULT_BUCKETS, AccessLog, RequestStats
from exporters.http.logformats import (
    DEFAULT_JSON_FIELDS,
    DURATION_UNITS,
    FORMATS,
    json_parser,
    parse_alb,
    parse_combined,
)
from exporters.http.probe import Probe, run_probe
from exporters.http.routes import Route, RouteMapper

PREFIX = "vigil_http"
_STATUS = re.compile(r"^[1-5](\d\d|xx)$")
_PROBE_KEYS = ["name", "url", "method", "expected_status", "timeout", "interval",
               "follow_redirects", "tls_verify", "ca_file", "headers", "body"]
MAX_BUCKETS = 40  # each bucket is a series per method and route: bound the cardinality
_LOG_KEYS = ["path", "format", "poll_interval", "from_beginning", "json_fields",
             "duration_unit", "routes", "path_segments", "max_routes"]


def _probe(node: ConfigNode) -> Probe:
    node.reject_unknown(_PROBE_KEYS)
    url = node.str("url")
    if not url.startswith(("http://", "https://")):
        raise node.error("expected an http:// or https:// URL", "url")
    expected: list[str] = []
    for item in node.items("expected_status", ["2xx"]):
        text = str(item.value)
        if not _STATUS.match(text):
            raise item.error(f"expected a status code (200) or class (2xx), got {item.value!r}")
        expected.append(text)
    verify: bool | str = node.bool("tls_verify", True)
    if verify is False:  # chosen by the operator: do not warn on every probe
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    if node.has("ca_file"):
        verify = str(node.path_value("ca_file"))
    headers_node = node.child("headers", {})
    headers = {name: headers_node.secret(name) for name in headers_node.mapping()}
    return Probe(
        name=node.str("name", url), url=url, method=node.str("method", "GET").upper(),
        expected_status=tuple(expected), timeout=node.duration("timeout", 5.0),
        interval=node.duration("interval", 30.0),
        follow_redirects=node.bool("follow_redirects", True), verify=verify,
        headers=headers, body=node.str("body", None),
    )


def _routes(node: ConfigNode) -> list[Route]:
    routes: list[Route] = []
    for item in node.items("routes"):
        if isinstance(item.value, str):
            routes.append(Route(item.value, exact=item.value))
            continue
        item.reject_unknown(["name", "prefix", "pattern", "path"])
        given = [k for k in ("prefix", "pattern", "path") if item.has(k)]
        if len(given) != 1:
            raise item.error("expected exactly one of path, prefix or pattern")
        kind = given[0]
        value = item.str(kind)
        if kind == "pattern":
            try:
                compiled = re.compile(value)
            except re.error as exc:
                raise item.error(f"invalid regular expression: {exc}", "pattern") from None
            routes.append(Route(item.str("name"), pattern=compiled))
        elif kind == "prefix":
            routes.append(Route(item.str("name", value.rstrip("/") or "/"), prefix=value))
        else:
            routes.append(Route(item.str("name", value), exact=value))
    return routes


def _access_log(node: ConfigNode, stats: RequestStats) -> AccessLog:
    node.reject_unknown(_LOG_KEYS)
    fmt = node.str("format", "combined")
    if fmt not in FORMATS:
        raise node.error(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", "format")
    if fmt == "json":
        unit = node.str("duration_unit", "s")
        if unit not in DURATION_UNITS:
            raise node.error(f"expected one of {', '.join(DURATION_UNITS)}", "duration_unit")
        fields_node = node.child("json_fields", {})
        fields_node.reject_unknown(DEFAULT_JSON_FIELDS)
        fields = {}
        for kind in fields_node.mapping():
            value = fields_node.child(kind).value
            names = [value] if isinstance(value, str) else fields_node.list(kind)
            fields[kind] = [str(n) for n in names]
        parser = json_parser(fields, unit)
    else:
        parser = parse_alb if fmt == "alb" else parse_combined
    mapper = RouteMapper(_routes(node), node.int("path_segments", 0, minimum=0),
                         node.int("max_routes", 100, minimum=1))
    return AccessLog(str(node.path_value("path")), parser, mapper, stats,
                     from_beginning=node.bool("from_beginning", False))


def buckets(config: ConfigNode) -> tuple[float, ...]:
    """``request_duration_buckets``: upper bounds in seconds, strictly increasing.

    Rounded to the nanosecond so ``300ms`` and ``0.3`` are the same bound, exposed
    as ``le="0.3"``; ``+Inf`` is always added by the histogram itself.
    """
    items = config.items("request_duration_buckets", list(DEFAULT_BUCKETS))
    if not 1 <= len(items) <= MAX_BUCKETS:
        raise config.error(f"expected 1 to {MAX_BUCKETS} buckets, got {len(items)}",
                           "request_duration_buckets")
    bounds: list[float] = []
    for item in items:
        bound = round(item.duration(kind="bucket"), 9)
        if bounds and bound <= bounds[-1]:
            raise item.error(f"expected buckets in increasing order, got {item.value!r} "
                             f"after {bounds[-1]:g}s")
        bounds.append(bound)
    return tuple(bounds)


def build(config: ConfigNode) -> Exporter:
    """Validate ``config`` and assemble the http exporter (tasks not started)."""
    config.reject_unknown(["probes", "access_logs", "request_duration_buckets"])
    tasks: list[PeriodicTask] = []
    names: set[str] = set()
    for node in config.items("probes"):
        probe = _probe(node)
        if probe.name in names:
            raise node.error(f"duplicate probe name {probe.name!r}", "name")
        names.add(probe.name)
        # The probe bounds itself; the task's limit is a backstop for the cert fetch.
        tasks.append(PeriodicTask(f"probe:{probe.name}", partial(run_probe, probe),
                                  interval=probe.interval, timeout=2 * probe.timeout + 1))
    stats = RequestStats(buckets(config))  # one set of counters: several logs of one app add up
    sources: list[Source] = []
    logs: list[AccessLog] = []
    for node in config.items("access_logs"):
        log = _access_log(node, stats)
        if any(other.path == log.path for other in logs):
            raise node.error(f"log {log.path} is listed twice", "path")
        logs.append(log)
        interval = node.duration("poll_interval", 1.0)
        tasks.append(PeriodicTask(f"access_log:{log.path}", log.poll, interval=interval,
                                  timeout=max(10.0, interval)))
    if logs:
        sources.append(Source("access_log_render", stats.collect, self_metrics=False))
    return Exporter(PREFIX, sources, tasks, on_stop=[log.tailer.close for log in logs])
