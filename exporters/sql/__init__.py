"""The ``sql`` exporter: business metrics from named SQL queries.

``vigil exporter sql --config FILE`` serves the metrics named by its query
config (by default the demo shop's ``vigil_business_*``) and its own
``vigil_sql_*`` self-metrics on 127.0.0.1:9734. :mod:`.config` reads and
validates the config, :mod:`.naming` holds the Prometheus naming rules,
:mod:`.query` turns a result set into a metric family, :mod:`.exporter`
schedules each query; ``demo/`` holds the demo shop schema and seed data.
"""

from exporters.sql.exporter import build

__all__ = ["build"]
