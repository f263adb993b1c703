"""The sql exporter's config: connection settings and named queries.

Why so strict: a query config is code that runs against a production
database on a timer and names metrics that alert rules depend on. Every
problem — a missing key, a typo, a name that breaks Prometheus conventions,
two queries exporting the same metric — is refused at start-up with the file
and the key path, rather than discovered at 3 a.m. as a missing series.

Shape (see ``exporters/examples/sql.yml``)::

    dsn: "host=127.0.0.1 dbname=shop user=vigil_reader"
    password: {env: VIGIL_SQL_PASSWORD}      # or {file: PATH}; libpq defaults otherwise
    connect_timeout: 5s
    defaults: {interval: 60s, timeout: 10s, max_series: 100, max_label_length: 256}
    queries_file: my_queries.yml             # relative to this file
    queries: [...]                           # inline, added to queries_file's

With neither ``queries`` nor ``queries_file`` the shipped
``default_queries.yml`` (the demo shop's business metrics) is used. A query::

    - name: daily_revenue                   # the `query` label of self-metrics
      metric: vigil_business_daily_revenue
      type: gauge                           # or counter (name must end in _total)
      help: Revenue captured over the last 24 hours, in currency units.
      unit: seconds                         # optional; must be the name's suffix
      labels: [region]                      # columns → labels ({label: column} also works)
      value: revenue                        # the column holding the value
      interval: 60s                         # optional, else defaults
      timeout: 10s
      max_series: 100                       # at most 10000
      max_label_length: 256                 # longer label values are cut (at most 1024)
      sql: SELECT region, sum(amount) AS revenue FROM ... GROUP BY region

A counter of events kept in a table names a ``watermark`` column instead of a
``value``: the sql returns one row per event, and the exporter counts the rows past
the highest watermark it has seen (see :mod:`exporters.sql.watermark`), so purging
old rows is not read as a counter reset::

    - name: failed_logins
      metric: vigil_business_failed_logins_total
      type: counter
      watermark: id                         # grows with every new row (identity, bigserial)
      sql: SELECT id FROM login_attempts WHERE NOT succeeded
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from exporters.common.config import ConfigNode, load_config
from exporters.common.exposition import MAX_LABEL_VALUE_LENGTH
from exporters.postgres.exporter import parse_dsn
from exporters.sql.naming import METRIC_TYPES, label_name_problems, metric_name_problems

DEFAULT_QUERIES = Path(__file__).with_name("default_queries.yml")

TOP_KEYS = ("dsn", "password", "connect_timeout", "backoff_max", "defaults",
            "queries", "queries_file")
DEFAULT_KEYS = ("interval", "timeout", "max_series", "max_label_length")
MAX_SERIES_LIMIT = 10_000  # more series than this from one query is not a metric
MAX_LABEL_LENGTH_LIMIT = MAX_LABEL_VALUE_LENGTH  # the exporter-wide bound on output
QUERY_KEYS = ("name", "metric", "type", "help", "unit", "labels", "value", "watermark",
              "sql", *DEFAULT_KEYS)
QUERY_NAME = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$")


@dataclass(frozen=True)
class QuerySpec:
    """One named query and the metric family it produces."""

    name: str
    metric: str
    type: str
    help: str
    sql: str
    value: str
    labels: tuple[tuple[str, str], ...] = ()  # (label name, column name)
    unit: str | None = None
    interval: float = 60.0
    timeout: float = 10.0
    max_series: int = 100
    max_label_length: int = 256
    watermark: str | None = None  # counter of rows past the highest value of this column


@dataclass(frozen=True)
class Defaults:
    interval: float = 60.0
    timeout: float = 10.0
    max_series: int = 100
    max_label_length: int = 256


@dataclass(frozen=True)
class SqlSettings:
    dsn: str
    queries: tuple[QuerySpec, ...]
    password: str | None = None
    connect_timeout: float = 5.0
    backoff_max: float = 30.0


def parse_defaults(node: ConfigNode, base: Defaults = Defaults()) -> Defaults:
    node.reject_unknown(DEFAULT_KEYS)
    defaults = Defaults(
        interval=node.duration("interval", base.interval),
        timeout=node.duration("timeout", base.timeout),
        max_series=node.int("max_series", base.max_series, minimum=1,
                            maximum=MAX_SERIES_LIMIT),
        max_label_length=node.int("max_label_length", base.max_label_length, minimum=1,
                                  maximum=MAX_LABEL_LENGTH_LIMIT),
    )
    if defaults.timeout > defaults.interval:
        raise node.error(
            f"timeout ({defaults.timeout:g}s) must not exceed interval "
            f"({defaults.interval:g}s)", "timeout",
        )
    return defaults


def _parse_labels(node: ConfigNode) -> tuple[tuple[str, str], ...]:
    if node.value is None:
        return ()
    if isinstance(node.value, list):
        pairs = [(item.str(), item.str()) for item in node.items()]
    elif isinstance(node.value, dict):
        pairs = [(str(label), node.str(str(label))) for label in node.value]
    else:
        raise node.error("expected a list of column names or a mapping {label: column}")
    seen: set[str] = set()
    for label, _ in pairs:
        problems = label_name_problems(label)
        if problems:
            raise node.error("; ".join(problems))
        if label in seen:
            raise node.error(f"label {label!r} appears twice")
        seen.add(label)
    return tuple(pairs)


def parse_query(node: ConfigNode, defaults: Defaults) -> QuerySpec:
    node.reject_unknown(QUERY_KEYS)
    name = node.str("name")
    if not QUERY_NAME.match(name):
        raise node.error("expected letters, digits, '_', '.' or '-'", "name")
    metric_type = node.str("type", "gauge")
    if metric_type not in METRIC_TYPES:
        raise node.error(f"expected one of {', '.join(METRIC_TYPES)}, got {metric_type!r}", "type")
    unit = node.str("unit", None)
    metric = node.str("metric")
    problems = metric_name_problems(metric, metric_type, unit)
    if problems:
        raise node.error("; ".join(problems), "metric")
    labels = _parse_labels(node.child("labels", None))
    watermark = node.str("watermark", None)
    if watermark is not None:
        if metric_type != "counter":
            raise node.error("a watermark counts new rows: it needs type: counter", "watermark")
        if node.has("value"):
            raise node.error("a watermark query counts its rows and has no value column; "
                             "remove value", "value")
        value, role = "", "the watermark"
        column = watermark
    else:
        value = node.str("value")
        column, role = value, "the value"
    if column in {label_column for _, label_column in labels}:
        raise node.error(f"column {column!r} is both a label and {role}",
                         "watermark" if watermark is not None else "value")
    local = parse_defaults(
        ConfigNode({k: node.value[k] for k in DEFAULT_KEYS if k in node.value},
                   node.source, node.path),
        defaults,
    )
    sql = node.str("sql").strip().rstrip(";").strip()
    if not sql:
        raise node.error("expected a SELECT statement", "sql")
    if "\0" in sql:
        raise node.error("a NUL character cannot be sent to PostgreSQL", "sql")
    return QuerySpec(
        name=name, metric=metric, type=metric_type, help=" ".join(node.str("help").split()),
        sql=sql, value=value, labels=labels, unit=unit, interval=local.interval,
        timeout=local.timeout, max_series=local.max_series,
        max_label_length=local.max_label_length, watermark=watermark,
    )


def _query_nodes(config: ConfigNode) -> list[ConfigNode]:
    nodes: list[ConfigNode] = []
    if config.has("queries_file"):
        path = config.path_value("queries_file")
        queries_file = load_config(path)
        queries_file.reject_unknown(("queries",))
        nodes.extend(queries_file.items("queries"))
    if config.has("queries"):
        nodes.extend(config.items("queries"))
    if not config.has("queries") and not config.has("queries_file"):
        nodes.extend(load_config(DEFAULT_QUERIES).items("queries"))
    return nodes


def parse_queries(config: ConfigNode) -> tuple[QuerySpec, ...]:
    """The config's queries, validated, without touching its connection or secret."""
    defaults = parse_defaults(config.child("defaults", {}))
    queries: list[QuerySpec] = []
    names: dict[str, str] = {}
    metrics: dict[str, str] = {}
    for node in _query_nodes(config):
        query = parse_query(node, defaults)
        where = f"{node.source}: {node.path}"
        if query.name in names:
            raise node.error(f"query name {query.name!r} is already used at {names[query.name]}",
                             "name")
        if query.metric in metrics:
            raise node.error(
                f"metric {query.metric!r} is already exported by the query at"
                f" {metrics[query.metric]}", "metric",
            )
        names[query.name] = where
        metrics[query.metric] = where
        queries.append(query)
    if not queries:
        raise config.error("no queries configured", "queries")
    return tuple(queries)


def parse_settings(config: ConfigNode) -> SqlSettings:
    """Read and validate the whole sql exporter config."""
    config.reject_unknown(TOP_KEYS)
    queries = parse_queries(config)
    return SqlSettings(
        dsn=parse_dsn(config.child("dsn")),
        password=config.secret("password", None),
        queries=queries,
        connect_timeout=config.duration("connect_timeout", 5.0),
        backoff_max=config.duration("backoff_max", 30.0),
    )
