"""A filling directory is forecast before it reaches the line, on the whole demo stack.

The stack's spool directory (a 32 MiB budget the host exporter serves as a filesystem,
exporters/host/directories.py) is filled by a real file growing steadily to 80 % of its
budget over two minutes (generator.demo.workload.Fill), injected when the stack is up so
that the wait passes during the other tests. The demo spec's forecast, `90% within 5m
over 2m`, must reach the webhook while the directory is still below 90 %: before the
static threshold at 90 % could fire at all, which, the fill stopping at 80 %, it never
does.
"""

from __future__ import annotations

import time

import requests

from generator.demo import workload
from tests.e2e.harness import E2E, MARGIN, STACK_MARKS, delivered, prometheus_only

pytestmark = STACK_MARKS

LINE = 0.9


def _ratio_at(e2e: E2E, mountpoint: str, at: float) -> float:
    response = requests.get(f"{e2e.stack.prometheus_url}/api/v1/query", timeout=10, params={
        "query": f'vigil:disk_usage{{mountpoint="{mountpoint}"}}', "time": repr(at)})
    result = response.json()["data"]["result"]
    assert result, f"no vigil:disk_usage for {mountpoint} at {at}"
    return float(result[0]["value"][1])


def test_a_filling_spool_is_forecast_before_it_reaches_the_line(e2e: E2E, say) -> None:
    started = e2e.inject("spool fill", lambda: workload.fill_spool(e2e.stack))
    fill = e2e.stack.spool_fill
    spool = str(e2e.stack.spool)
    hold = 60.0  # the forecast's `for`: the demo signal's 1m (more than a quarter of 2m)
    deadline = started + fill.seconds + hold + MARGIN
    notes = delivered(e2e, max(1.0, deadline - time.time()), alertname="DiskUsageForecast",
                      mountpoint=spool, status="firing")
    first = min(n.received_at for n in notes)
    level = _ratio_at(e2e, spool, first)
    say(f"forecast reached {notes[0].recipient} {first - started:.0f} s after the fill "
        f"began, with the spool at {level:.0%} of its budget")
    assert level < LINE, "the forecast came only once the line was crossed"
    assert notes[0].severity == "high" and notes[0].labels["signal"] == "disk_usage"
    # The fill stops at 80 %: the static alert at 90 % never fires for the spool.
    wait = started + fill.seconds + 5 - time.time()
    if wait > 0:
        time.sleep(wait)
    assert fill.done
    assert _ratio_at(e2e, spool, time.time()) < LINE
    assert not prometheus_only(e2e.stack.receiver.matching(alertname="DiskUsage",
                                                           mountpoint=spool))
