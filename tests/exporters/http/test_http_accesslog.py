"""Access-log request metrics from real files: formats, routes, rotation, truncation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from exporters.common.config import ConfigError, ConfigNode
from exporters.common.exporter import Exporter
from exporters.http import build
from exporters.http.logformats import SkipLine, json_parser, parse_alb, parse_combined

ROUTES = [
    {"name": "/api/orders/:id", "pattern": r"^/api/orders/\d+$"},
    {"name": "/static", "prefix": "/static/"},
    "/checkout",
]


def combined(method: str, path: str, status: int, seconds: float | None = 0.05) -> str:
    line = (f'203.0.113.9 - - [10/Oct/2024:13:55:36 +0700] "{method} {path} HTTP/1.1" {status} '
            f'512 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"')
    return line + (f" {seconds}" if seconds is not None else "") + "\n"


def make(tmp_path: Path, **log: object) -> tuple[Exporter, Path]:
    path = tmp_path / "access.log"
    log.setdefault("path", str(path))
    log.setdefault("routes", ROUTES)
    exporter = build(ConfigNode({"access_logs": [log]}, str(tmp_path / "http.yml")))
    return exporter, path


def poll(exporter: Exporter) -> None:
    for task in exporter.tasks:
        task.run_once()


def requests_total(exporter: Exporter, parse_samples) -> dict[tuple[str, str, str], float]:
    """The counted requests; the 5xx series every route starts at 0 are left out here
    (test_a_route_serves_its_error_series_from_its_first_request checks them)."""
    samples = parse_samples(generate_latest(exporter.registry).decode())
    return {(lb["method"], lb["route"], lb["status_class"]): v
            for (name, labels), v in samples.items() if name == "vigil_http_requests_total"
            for lb in [dict(labels)] if v}


def append(path: Path, *lines: str) -> None:
    with path.open("a") as fh:
        fh.write("".join(lines))


def test_combined_exposition(tmp_path: Path) -> None:
    exporter, path = make(tmp_path)
    path.write_text(combined("GET", "/old", 200))  # present at start: not counted
    exporter, path = make(tmp_path)
    append(path,
           combined("GET", "/api/orders/17?x=1", 200, 0.05),
           combined("GET", "/api/orders/18", 200, 1.5),
           combined("POST", "/checkout", 502, 3.2),
           combined("GET", "/static/app.js", 304, 0.001),
           combined("GET", "/users/42", 404, None),
           "garbage line\n")
    poll(exporter)
    text = generate_latest(exporter.registry).decode()
    assert """\
# HELP vigil_http_requests_total Requests seen in the access log.
# TYPE vigil_http_requests_total counter
vigil_http_requests_total{method="GET",route="/api/orders/:id",status_class="2xx"} 2.0
vigil_http_requests_total{method="GET",route="/api/orders/:id",status_class="5xx"} 0.0
vigil_http_requests_total{method="GET",route="/static",status_class="3xx"} 1.0
vigil_http_requests_total{method="GET",route="/static",status_class="5xx"} 0.0
vigil_http_requests_total{method="GET",route="other",status_class="4xx"} 1.0
vigil_http_requests_total{method="GET",route="other",status_class="5xx"} 0.0
vigil_http_requests_total{method="POST",route="/checkout",status_class="5xx"} 1.0
""" in text
    assert """\
vigil_http_request_duration_seconds_bucket{le="1.0",method="GET",route="/api/orders/:id"} 1.0
vigil_http_request_duration_seconds_bucket{le="2.0",method="GET",route="/api/orders/:id"} 2.0
""" in text
    assert ('vigil_http_request_duration_seconds_bucket{le="2.5",method="POST",route="/checkout"}'
            ' 0.0') in text
    assert ('vigil_http_request_duration_seconds_bucket{le="5.0",method="POST",route="/checkout"}'
            ' 1.0') in text
    assert 'vigil_http_request_duration_seconds_count{method="GET",route="/api/orders/:id"} 2.0' \
        in text
    assert 'vigil_http_request_duration_seconds_sum{method="GET",route="/api/orders/:id"} 1.55' \
        in text
    # the 404 had no request time: counted, but not in the histogram
    assert 'route="other"} ' not in text.split("vigil_http_request_duration_seconds")[1]
    assert 'vigil_http_log_lines_skipped_total{reason="malformed"} 1.0' in text
    for bound in ["0.1", "0.25", "0.5", "1.0", "2.0", "2.5", "5.0", "10.0"]:
        assert f'le="{bound}"' in text
    assert f'vigil_http_collector_success{{collector="access_log:{path}"}} 1.0' in text


def test_a_route_serves_its_error_series_from_its_first_request(tmp_path: Path,
                                                              parse_samples) -> None:
    """The first error then raises a series Prometheus already has a 0 for, so rate()
    counts it; a series born with it would lose it and show one scrape later."""
    exporter, path = make(tmp_path)
    append(path, combined("GET", "/checkout", 200))
    poll(exporter)
    samples = parse_samples(generate_latest(exporter.registry).decode())
    errors = ("vigil_http_requests_total",
              (("method", "GET"), ("route", "/checkout"), ("status_class", "5xx")))
    assert samples[errors] == 0
    append(path, combined("GET", "/checkout", 503))
    poll(exporter)
    assert parse_samples(generate_latest(exporter.registry).decode())[errors] == 1
    assert requests_total(exporter, parse_samples) == {
        ("GET", "/checkout", "2xx"): 1, ("GET", "/checkout", "5xx"): 1}


def test_json_lines(tmp_path: Path, parse_samples) -> None:
    exporter, path = make(tmp_path, format="json", duration_unit="ms", from_beginning=True,
                          json_fields={"duration": ["timing.total_ms"]})
    append(path,
           json.dumps({"method": "GET", "path": "/checkout", "status": 200,
                       "timing": {"total_ms": 2100}}) + "\n",
           json.dumps({"request": "DELETE /api/orders/9 HTTP/1.1", "status_code": "503"}) + "\n",
           json.dumps({"method": "GET", "path": "/"}) + "\n",
           json.dumps({"method": "BREW", "path": "/pot", "status": 418}) + "\n",
           "[1, 2]\n", "{not json\n")
    poll(exporter)
    samples = parse_samples(generate_latest(exporter.registry).decode())
    assert requests_total(exporter, parse_samples) == {
        ("GET", "/checkout", "2xx"): 1,
        ("DELETE", "/api/orders/:id", "5xx"): 1,
        ("OTHER", "other", "4xx"): 1,
    }
    bucket = ("vigil_http_request_duration_seconds_bucket",
              (("le", "2.5"), ("method", "GET"), ("route", "/checkout")))
    assert samples[bucket] == 1
    assert samples[(bucket[0], (("le", "2.0"), ("method", "GET"), ("route", "/checkout")))] == 0
    assert samples[("vigil_http_log_lines_skipped_total", (("reason", "missing_field"),))] == 1
    assert samples[("vigil_http_log_lines_skipped_total", (("reason", "malformed"),))] == 2


@pytest.mark.parametrize(
    ("line", "method", "target", "status", "duration"),
    [
        (combined("GET", "/a", 200, 0.25), "GET", "/a", 200, 0.25),
        (combined("GET", "/a", 200, None).rstrip("\n") + " rt=0.5 uct=0.001", "GET", "/a", 200,
         0.001),
        ('1.2.3.4 - bob [10/Oct/2024:13:55:36 +0000] "-" 400 0 "-" "-" 0.000', "", "", 400, 0.0),
    ],
)
def test_parse_combined(line: str, method: str, target: str, status: int, duration) -> None:
    request = parse_combined(line.rstrip("\n"))
    assert (request.method, request.target, request.status, request.duration) == (
        method, target, status, duration)


def test_parse_alb() -> None:
    line = ('https 2024-10-10T13:55:36.123456Z app/shop/50dc6c495c0c9188 192.0.2.1:46532 '
            '10.0.0.1:80 0.000 1.234 0.001 200 200 34 366 '
            '"GET https://shop.example:443/api/orders/5?x=1 HTTP/1.1" "curl/8.0" '
            'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:...')
    request = parse_alb(line)
    assert (request.method, request.target, request.status) == ("GET", "/api/orders/5", 200)
    assert request.duration == pytest.approx(1.235)
    failed = line.replace("0.000 1.234 0.001 200 200", "-1 -1 -1 504 -")
    assert parse_alb(failed).duration is None and parse_alb(failed).status == 504


@pytest.mark.parametrize(
    ("line", "reason"),
    [('{"method": "GET", "path": "/", "status": 999}', "bad_status"),
     ('{"method": "GET", "path": "/", "status": 200, "request_time": "fast"}', "bad_duration")],
)
def test_json_skip_reasons(line: str, reason: str) -> None:
    with pytest.raises(SkipLine) as caught:
        json_parser()(line)
    assert caught.value.reason == reason


def test_rotation_rename_and_new_file(tmp_path: Path, parse_samples) -> None:
    exporter, path = make(tmp_path)
    path.write_text("")
    exporter, path = make(tmp_path)
    append(path, combined("GET", "/checkout", 200))
    poll(exporter)
    # written to the old file after the last poll, then rotated away
    append(path, combined("GET", "/checkout", 500))
    os.rename(path, tmp_path / "access.log.1")
    path.write_text(combined("GET", "/checkout", 201) + combined("GET", "/checkout", 404))
    poll(exporter)
    append(path, combined("GET", "/checkout", 200))
    poll(exporter)
    assert requests_total(exporter, parse_samples) == {
        ("GET", "/checkout", "2xx"): 3, ("GET", "/checkout", "5xx"): 1,
        ("GET", "/checkout", "4xx"): 1,
    }


def test_truncation(tmp_path: Path, parse_samples) -> None:
    exporter, path = make(tmp_path, from_beginning=True)
    path.write_text(combined("GET", "/checkout", 200) * 3)
    exporter, path = make(tmp_path, from_beginning=True)
    poll(exporter)
    with path.open("w") as fh:  # copytruncate
        fh.write(combined("GET", "/checkout", 500))
    poll(exporter)
    assert requests_total(exporter, parse_samples) == {
        ("GET", "/checkout", "2xx"): 3, ("GET", "/checkout", "5xx"): 1,
    }


def test_partial_and_long_lines(tmp_path: Path, parse_samples) -> None:
    exporter, path = make(tmp_path, from_beginning=True)
    line = combined("GET", "/checkout", 200)
    append(path, line[:30])
    poll(exporter)
    assert requests_total(exporter, parse_samples) == {}
    append(path, line[30:], combined("GET", "/" + "x" * 70000, 200), line)
    poll(exporter)
    samples = parse_samples(generate_latest(exporter.registry).decode())
    assert requests_total(exporter, parse_samples) == {("GET", "/checkout", "2xx"): 2}
    assert samples[("vigil_http_log_lines_skipped_total", (("reason", "too_long"),))] == 1


def test_missing_log_is_reported_and_counters_stay(tmp_path: Path, parse_samples) -> None:
    exporter, path = make(tmp_path)
    poll(exporter)
    samples = parse_samples(generate_latest(exporter.registry).decode())
    assert samples[("vigil_http_collector_success", (("collector", f"access_log:{path}"),))] == 0
    append(path, combined("GET", "/checkout", 200))  # created later: read from its start
    poll(exporter)
    os.rename(path, tmp_path / "access.log.1")
    poll(exporter)
    samples = parse_samples(generate_latest(exporter.registry).decode())
    assert samples[("vigil_http_collector_success", (("collector", f"access_log:{path}"),))] == 0
    assert requests_total(exporter, parse_samples) == {("GET", "/checkout", "2xx"): 1}


def test_route_label_is_bounded(tmp_path: Path, parse_samples) -> None:
    exporter, path = make(tmp_path, routes=[], path_segments=1, max_routes=3, from_beginning=True)
    append(path, *[combined("GET", f"/section{i}/item/{i}", 200) for i in range(10)])
    poll(exporter)
    routes = {route for (_m, route, _s) in requests_total(exporter, parse_samples)}
    assert routes == {"/section0", "/section1", "/section2", "other"}


def test_two_logs_add_up(tmp_path: Path, parse_samples) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    exporter = build(ConfigNode({"access_logs": [
        {"path": str(a), "routes": ["/checkout"], "from_beginning": True},
        {"path": str(b), "routes": ["/checkout"], "from_beginning": True},
    ]}, "http.yml"))
    append(a, combined("GET", "/checkout", 200))
    append(b, combined("GET", "/checkout", 200))
    poll(exporter)
    assert requests_total(exporter, parse_samples) == {("GET", "/checkout", "2xx"): 2}


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ({"path": "a.log", "format": "apache"}, "access_logs[0].format: expected one of"),
        ({"format": "json"}, "access_logs[0].path: required key is missing"),
        ({"path": "a.log", "routes": [{"name": "x", "pattern": "("}]},
         "access_logs[0].routes[0].pattern: invalid regular expression"),
        ({"path": "a.log", "routes": [{"name": "x", "prefix": "/a", "pattern": "b"}]},
         "access_logs[0].routes[0]: expected exactly one of path, prefix or pattern"),
        ({"path": "a.log", "routes": [{"prefix": "/a", "nme": "x"}]},
         "access_logs[0].routes[0].nme: unknown key"),
        ({"path": "a.log", "max_routes": 0}, "access_logs[0].max_routes: expected an integer >= 1"),
        ({"path": "a.log", "format": "json", "duration_unit": "min"},
         "access_logs[0].duration_unit: expected one of s, ms, us, ns"),
    ],
)
def test_config_errors(tmp_path: Path, log: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(ConfigNode({"access_logs": [log]}, "http.yml"))
    assert str(caught.value).startswith(f"http.yml: {message}")


def test_configured_buckets_are_the_histogram_bounds(tmp_path: Path, parse_samples) -> None:
    path = tmp_path / "access.log"
    config = {"request_duration_buckets": [0.1, "300ms", "2s"],
              "access_logs": [{"path": str(path), "routes": ROUTES}]}
    exporter = build(ConfigNode(config, str(tmp_path / "http.yml")))
    append(path, combined("GET", "/checkout", 200, 0.25), combined("GET", "/checkout", 200, 0.3),
           combined("GET", "/checkout", 200, 0.31))
    poll(exporter)
    samples = parse_samples(generate_latest(exporter.registry).decode())
    buckets = {dict(labels)["le"]: value for (name, labels), value in samples.items()
               if name == "vigil_http_request_duration_seconds_bucket"}
    # le is inclusive: 0.3 s is under the 300 ms bound, 0.31 s is not
    assert buckets == {"0.1": 0, "0.3": 2, "2.0": 3, "+Inf": 3}


@pytest.mark.parametrize(("buckets", "message"), [
    ([0.5, 0.3], "request_duration_buckets[1]: expected buckets in increasing order"),
    (["300ms", 0.3], "request_duration_buckets[1]: expected buckets in increasing order"),
    ([], "request_duration_buckets: expected 1 to 40 buckets, got 0"),
    ([0.001 * (i + 1) for i in range(41)], "expected 1 to 40 buckets, got 41"),
    ([0], "request_duration_buckets[0]: expected a positive duration"),
    (["2h"], "request_duration_buckets[0]: expected a duration from 1ms to 1h"),
    ([float("nan")], "request_duration_buckets[0]: expected a finite duration"),
    (["fast"], "request_duration_buckets[0]: expected a duration such as"),
    ({"a": 1}, "request_duration_buckets: expected a list"),
])
def test_bad_buckets_are_refused_with_their_path(tmp_path: Path, buckets: object,
                                                 message: str) -> None:
    config = {"request_duration_buckets": buckets,
              "access_logs": [{"path": str(tmp_path / "access.log")}]}
    with pytest.raises(ConfigError) as caught:
        build(ConfigNode(config, str(tmp_path / "http.yml")))
    assert str(caught.value).startswith(f"{tmp_path / 'http.yml'}: ")
    assert message in str(caught.value)
