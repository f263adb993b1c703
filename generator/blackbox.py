"""`deploy/blackbox/blackbox.yml`: the probe module a spec names when it is not a stock one.

blackbox_exporter's stock configuration already has `http_2xx`, the default of
`probes.module`, and Vigil writes nothing for it. A spec that names another module,
for instance to trust a private CA (`probes.ca_file`) for internal HTTPS endpoints,
gets that one module here: an HTTP probe that expects a 2xx answer, over IPv4 first,
with a timeout under the scrape timeout (so a slow endpoint reads as a failed probe,
not as a blackbox_exporter target down). Run blackbox_exporter with
`--config.file=deploy/blackbox/blackbox.yml`.
"""

from __future__ import annotations

from typing import Any

from generator import output, units
from generator.model import Spec
from generator.prometheus_config import SCRAPE_TIMEOUT

CONFIG_FILE = "deploy/blackbox/blackbox.yml"
PROBE_TIMEOUT = SCRAPE_TIMEOUT - 1.0  # seconds: blackbox_exporter answers before Prometheus gives up


def module(spec: Spec) -> dict[str, Any]:
    """The spec's probe module, as blackbox_exporter's `modules:` entry."""
    assert spec.probes is not None
    http: dict[str, Any] = {"preferred_ip_protocol": "ip4", "valid_status_codes": []}
    if spec.probes.ca_file:
        http["tls_config"] = {"ca_file": spec.probes.ca_file}
    return {"prober": "http", "timeout": units.format_duration(PROBE_TIMEOUT), "http": http}


def outputs(spec: Spec) -> dict[str, str]:
    probes = spec.probes
    if probes is None or probes.stock_module or "http" not in spec.used_exporters():
        return {}
    body = {"modules": {probes.module: module(spec)}}
    return {CONFIG_FILE: output.header(spec.source) + output.dump_yaml(body)}
