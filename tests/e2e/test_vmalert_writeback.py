"""vmalert on the generated rules against VictoriaMetrics, on the end-to-end stack.

The stack's Prometheus sends raw samples to VictoriaMetrics by `remote_write` with
every recorded series and alert state dropped (tests/e2e/harness.py), so a `vigil:`
series found in VictoriaMetrics can only have been written back by vmalert's own
recording rules (`-remoteWrite.url`); vmalert's `/api/v1/alerts` shows the Watchdog
firing, an alert that must always fire.
"""

from __future__ import annotations

import requests

from tests.e2e.harness import STACK_MARKS
from tests.e2e.processes import wait_for

pytestmark = STACK_MARKS


def test_vmalert_writes_recording_rules_back(e2e):
    def recorded() -> list[dict] | None:
        answer = requests.get(f"{e2e.victoria_metrics.url}/api/v1/query",
                              params={"query": "vigil:cpu_usage"}, timeout=10).json()
        return answer["data"]["result"] or None

    series = wait_for(recorded, 60, interval=0.5,
                      message="no vigil:cpu_usage written back by vmalert")
    assert all(s["metric"].get("environment") for s in series)


def test_vmalert_fires_the_watchdog(e2e):
    def firing() -> list[dict] | None:
        alerts = requests.get(f"{e2e.vmalert.url}/api/v1/alerts", timeout=10).json()
        return [a for a in alerts["data"]["alerts"]
                if a["name"] == "Watchdog" and a["state"] == "firing"] or None

    watchdog = wait_for(firing, 60, interval=0.5, message="vmalert fires no Watchdog")
    assert watchdog[0]["labels"]["category"] == "monitoring"

