"""Query config validation: naming rules and errors that name the file and key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from exporters.common.config import ConfigError, ConfigNode, load_config
from exporters.sql.config import DEFAULT_QUERIES, QuerySpec, parse_settings
from exporters.sql.naming import metric_name_problems
from exporters.sql.query import QueryError, to_family

ROOT = Path(__file__).resolve().parents[3]

BUSINESS_CONTRACT = {
    "vigil_business_daily_revenue": "gauge",
    "vigil_business_conversion_ratio": "gauge",
    "vigil_business_order_processing_seconds": "gauge",
    "vigil_business_customer_satisfaction_score": "gauge",
    "vigil_business_failed_logins_total": "counter",
    "vigil_business_suspicious_activity_total": "counter",
    "vigil_business_active_users": "gauge",
}

GOOD_NAMES = [
    ("vigil_business_daily_revenue", "gauge", None),
    ("vigil_business_failed_logins_total", "counter", None),
    ("vigil_business_order_processing_seconds", "gauge", "seconds"),
    ("vigil_business_conversion_ratio", "gauge", "ratio"),
    ("http_sent_bytes_total", "counter", "bytes"),
]
BAD_NAMES = [
    ("logins", "counter", None, "must end with _total"),
    ("revenue_total", "gauge", None, "only counters end with _total"),
    ("order_time_milliseconds", "gauge", None, "use the base unit 'seconds'"),
    ("order_time", "gauge", "seconds", "must be the name's suffix"),
    ("order_time_ms", "gauge", "ms", "not a base unit"),
    ("share_percent", "gauge", "percent", "use 'ratio'"),
    ("job:errors:rate5m", "gauge", None, "reserved for recording rules"),
    ("2xx_responses", "gauge", None, "not a valid metric name"),
    ("latency_seconds_count", "gauge", None, "reserved for histograms"),
    ("sent_total", "counter", "bytes", "(..._bytes_total)"),
]


@pytest.mark.parametrize(("name", "kind", "unit"), GOOD_NAMES)
def test_good_names_pass(name: str, kind: str, unit: str | None) -> None:
    assert metric_name_problems(name, kind, unit) == []


@pytest.mark.parametrize(("name", "kind", "unit", "problem"), BAD_NAMES)
def test_bad_names_are_explained(name: str, kind: str, unit: str | None, problem: str) -> None:
    problems = metric_name_problems(name, kind, unit)
    assert any(problem in p for p in problems), problems


def base_query(**overrides: object) -> dict:
    return {
        "name": "q", "metric": "vigil_test_value", "help": "A value.",
        "value": "v", "sql": "SELECT 1 AS v", **overrides,
    }


WATERMARK_QUERY = {"name": "w", "metric": "vigil_test_events_total", "type": "counter",
                   "help": "Events.", "watermark": "id", "sql": "SELECT id FROM events"}

BAD_CONFIGS = [
    ({"queries": [base_query()]}, "dsn: required key is missing"),
    ({"dsn": "host=x", "queries": [base_query(metric="orders_ms")]},
     "queries[0].metric: 'orders_ms': use the base unit 'seconds'"),
    ({"dsn": "host=x", "queries": [base_query(type="counter")]},
     "queries[0].metric: 'vigil_test_value': a counter's name must end with _total"),
    ({"dsn": "host=x", "queries": [base_query(type="histogram")]},
     "queries[0].type: expected one of gauge, counter"),
    ({"dsn": "host=x", "queries": [base_query(colums=["a"])]},
     "queries[0].colums: unknown key"),
    ({"dsn": "host=x", "queries": [base_query(labels=["__name"])]},
     "queries[0].labels: '__name': label names starting with __ are reserved"),
    ({"dsn": "host=x", "queries": [base_query(labels=["v"])]},
     "queries[0].value: column 'v' is both a label and the value"),
    ({"dsn": "host=x", "queries": [base_query(), base_query(metric="vigil_test_other")]},
     "queries[1].name: query name 'q' is already used at sql.yml: queries[0]"),
    ({"dsn": "host=x", "queries": [base_query(), base_query(name="r")]},
     "queries[1].metric: metric 'vigil_test_value' is already exported"),
    ({"dsn": "host=x", "queries": [base_query(timeout="2m", interval="1m")]},
     "queries[0].timeout: timeout (120s) must not exceed interval (60s)"),
    ({"dsn": "host=x", "queries": [base_query(max_series=0)]},
     "queries[0].max_series: expected an integer >= 1"),
    ({"dsn": "host=x", "queries": [base_query(sql="SELECT 1 AS v\0; DELETE FROM t")]},
     "queries[0].sql: a NUL character cannot be sent to PostgreSQL"),
    ({"dsn": "host=x", "queries": [base_query(max_series=10**9)]},
     "queries[0].max_series: expected an integer <= 10000, got 1000000000"),
    ({"dsn": "host=x", "queries": [base_query(max_label_length=0)]},
     "queries[0].max_label_length: expected an integer >= 1"),
    ({"dsn": "host=x", "queries": [base_query(interval=float("inf"))]},
     "queries[0].interval: expected a finite duration, got inf"),
    ({"dsn": "host=x", "queries": [base_query(interval="1ms", timeout="1ms")]},
     "queries[0].interval: expected a duration from 1s to 24h, got '1ms'"),
    ({"dsn": "host=x", "queries": [base_query()], "connect_timeout": 0},
     "connect_timeout: expected a positive duration, got 0"),
    ({"dsn": "host=x", "queries": [base_query()], "backoff_max": float("nan")},
     "backoff_max: expected a finite duration, got nan"),
    ({"dsn": "host=x", "defaults": {"interval": "often"}, "queries": [base_query()]},
     "defaults.interval: expected a duration"),
    ({"dsn": "host=x", "queries": [base_query(sql=" ; ")]},
     "queries[0].sql: expected a SELECT statement"),
    ({"dsn": "host=x", "queries_file": "does-not-exist.yml"}, "cannot read config file"),
    ({"dsn": "host=x", "queries": [base_query(watermark="id")]},
     "queries[0].watermark: a watermark counts new rows: it needs type: counter"),
    ({"dsn": "host=x", "queries": [base_query(type="counter", metric="vigil_test_total",
                                              watermark="id")]},
     "queries[0].value: a watermark query counts its rows and has no value column"),
    ({"dsn": "host=x", "queries": [{**WATERMARK_QUERY, "labels": ["id"]}]},
     "queries[0].watermark: column 'id' is both a label and the watermark"),
]


@pytest.mark.parametrize(("data", "message"), BAD_CONFIGS)
def test_bad_config_names_file_and_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(ConfigNode(data, "sql.yml"))
    assert message in str(caught.value)
    assert str(caught.value).startswith(("sql.yml: ", "does-not-exist.yml: "))


def test_default_queries_export_exactly_the_business_contract() -> None:
    settings = parse_settings(ConfigNode({"dsn": "host=x"}, "sql.yml"))
    exported = {q.metric: q.type for q in settings.queries}
    assert exported == BUSINESS_CONTRACT
    assert all(q.timeout <= q.interval for q in settings.queries)


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SQL_PASSWORD", "example")
    settings = parse_settings(load_config(ROOT / "exporters/examples/sql.yml"))
    assert {q.metric for q in settings.queries} == set(BUSINESS_CONTRACT)
    assert settings.password == "example"


def test_queries_file_is_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "mine.yml").write_text(
        "queries:\n  - {name: a, metric: vigil_test_a, help: A., value: v, sql: SELECT 1 AS v}\n"
    )
    (tmp_path / "sql.yml").write_text(
        "dsn: host=x\nqueries_file: mine.yml\n"
        "queries:\n  - {name: b, metric: vigil_test_b, help: B., value: v, sql: SELECT 2 AS v,"
        " interval: 5s, timeout: 1s}\n"
    )
    settings = parse_settings(load_config(tmp_path / "sql.yml"))
    assert [(q.name, q.interval, q.timeout) for q in settings.queries] == [
        ("a", 60.0, 10.0), ("b", 5.0, 1.0),
    ]
    assert DEFAULT_QUERIES.exists()


class _One(Collector):
    def __init__(self, family: object) -> None:
        self.family = family

    def collect(self) -> list:
        return [self.family]


def spec(**overrides: object) -> QuerySpec:
    fields: dict = {
        "name": "orders", "metric": "vigil_test_orders_total", "type": "counter",
        "help": "Orders.", "sql": "SELECT ...", "value": "n",
        "labels": (("state", "status"),), "max_series": 3,
    }
    fields.update(overrides)
    return QuerySpec(**fields)


def exposition(family: object) -> str:
    registry = CollectorRegistry()
    registry.register(_One(family))
    return generate_latest(registry).decode()


def test_rows_become_one_family() -> None:
    family = to_family(spec(), ["status", "n"],
                       [("paid", Decimal("3")), ("failed", 1), (None, 2)])
    assert exposition(family) == (
        "# HELP vigil_test_orders_total Orders.\n"
        "# TYPE vigil_test_orders_total counter\n"
        'vigil_test_orders_total{state="paid"} 3.0\n'
        'vigil_test_orders_total{state="failed"} 1.0\n'
        'vigil_test_orders_total{state=""} 2.0\n'
    )


def test_a_null_value_is_no_series() -> None:
    family = to_family(spec(type="gauge", metric="vigil_test_avg", labels=()), ["n"], [(None,)])
    assert family.samples == []


@pytest.mark.parametrize(
    ("columns", "rows", "message"),
    [
        (["status", "n"], [("a", 1), ("b", 1), ("c", 1), ("d", 1)],
         "query orders: more than max_series=3 series"),
        (["status", "n"], [("a", 1), ("a", 2)],
         "query orders: two rows have the same labels (state='a')"),
        (["status", "n"], [("a", "many")], "column 'n' holds str 'many', not a number"),
        (["status", "count"], [("a", 1)], "result has no column 'n' (columns: status, count)"),
    ],
)
def test_bad_results_are_errors(columns: list[str], rows: list[tuple], message: str) -> None:
    with pytest.raises(QueryError) as caught:
        to_family(spec(), columns, rows)
    assert message in str(caught.value)
