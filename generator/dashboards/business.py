"""Business & security: revenue against its baseline, conversion, orders, satisfaction, logins.

Business numbers come from SQL queries the sql exporter runs on its own interval, so
this dashboard also shows whether those queries work and how old their result is: a
flat revenue line may be a stalled query, not a quiet day.
"""

from __future__ import annotations

from typing import Any

from generator.dashboards.context import Context, target
from generator.dashboards.domain import signal_dashboard
from generator.dashboards.panels.row import row
from generator.dashboards.panels.table import organize, table
from generator.dashboards.panels.timeseries import timeseries
from generator.model import Spec

EXPORTER = "sql"


def _extras(ctx: Context) -> list[Any]:
    q = ctx.query
    return [
        row(ctx, "Business data freshness"),
        timeseries(
            id=ctx.ids(), title="Business query age", unit="s", grid=ctx.place(12, 8),
            description="Time since each business query last succeeded: the age of the "
                        "numbers on this dashboard.",
            targets=[target(q("time() - max by (query) "
                              "(vigil_sql_query_last_success_timestamp_seconds{$sel})", EXPORTER),
                            "A", "{{query}}")],
            minimum=0,
        ),
        table(
            id=ctx.ids(), title="Business query health", unit="short", grid=ctx.place(12, 8),
            description="Per query: whether the last run succeeded (1) and how many runs "
                        "fail per second now.",
            targets=[
                target(q("min by (query) (vigil_sql_query_success{$sel})", EXPORTER),
                       "A", instant=True, table=True),
                target(q("sum by (query) (rate(vigil_sql_query_errors_total{$sel}[$window]))",
                         EXPORTER), "B", instant=True, table=True),
            ],
            transformations=[
                {"id": "merge", "options": {}},
                organize(["Time"], {"query": "Query", "Value #A": "Last run succeeded",
                                    "Value #B": "Errors per second"}),
            ],
        ),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    return signal_dashboard(spec, "business",
                            "Revenue, conversion, orders, satisfaction and security events.",
                            _extras, [EXPORTER])
