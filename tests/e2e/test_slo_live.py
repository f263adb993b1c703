"""Every SLO of the demo spec records an SLI on the demo stack's real exporters.

The demo's http exporter runs with the configuration `vigil demo` writes, and the
SLO rules with what `vigil generate` made of the demo spec: a latency threshold the
exporter has no bucket for, or an SLI selecting nothing, leaves
`vigil_slo:errors:rate5m` without a series while the total still records.
"""

from __future__ import annotations

import requests

from tests.e2e.harness import E2E, EVALUATION, SCRAPE, STACK_MARKS
from tests.e2e.processes import wait_for

pytestmark = STACK_MARKS


def test_the_demo_exporter_exposes_each_latency_slo_bucket(e2e: E2E) -> None:
    text = requests.get(e2e.stack.urls["http"], timeout=10).text
    latency = [s for s in e2e.stack.spec.slos.values() if s.latency is not None]
    assert latency
    for slo in latency:
        assert f'vigil_http_request_duration_seconds_bucket{{le="{slo.latency.le}"' in text, slo.name


def test_every_slo_records_its_error_and_total_rates(e2e: E2E) -> None:
    def recorded() -> set[str]:
        names = set()
        for slo in e2e.stack.spec.slos:
            series = {row["metric"]["__name__"] for row in e2e.stack.query(
                f'{{__name__=~"vigil_slo:(errors|total):rate5m",slo="{slo}"}}')}
            if series == {"vigil_slo:errors:rate5m", "vigil_slo:total:rate5m"}:
                names.add(slo)
        return names

    # the shop's steady traffic is in the access log from the start
    wait_for(lambda: recorded() == set(e2e.stack.spec.slos), 4 * (SCRAPE + EVALUATION) + 30,
             interval=1.0, message=f"SLOs without both rates: {set(e2e.stack.spec.slos) - recorded()}")
