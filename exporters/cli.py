"""``vigil exporter {host,http,postgres,sql} --config FILE``: run one exporter.

The exporters plug in through ``EXPORTERS``, a registry of one entry each:
the package to import lazily (so ``vigil exporter host`` never imports
psycopg) and the default listen address from the metric contract. Each
package exposes::

    def build(config: ConfigNode) -> Exporter

``config`` is the loaded YAML (:mod:`exporters.common.config`); ``build``
validates it (raising ``ConfigError`` naming the key) and returns an
:class:`~exporters.common.exporter.Exporter` whose tasks are not yet started.
This module does the rest for every exporter: flags, logging, web config,
starting the tasks, serving, and a clean exit on SIGTERM/SIGINT.

Exit codes: 0 after a signal, 2 for usage or config errors (the message names
the file and key), 1 when the listen address cannot be bound.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from exporters.common.config import ConfigError, load_config, parse_address
from exporters.common.exporter import Exporter
from exporters.common.exposition import DEFAULT_MAX_RESPONSE_BYTES
from exporters.common.server import MetricsServer, ServerLimits, serve_until_signal
from exporters.common.webconfig import WebConfig, load_web_config

log = logging.getLogger("vigil.exporter")


@dataclass(frozen=True)
class ExporterEntry:
    module: str  # package exposing build(config: ConfigNode) -> Exporter
    default_listen: str


EXPORTERS: dict[str, ExporterEntry] = {
    "host": ExporterEntry("exporters.host", "127.0.0.1:9731"),
    "http": ExporterEntry("exporters.http", "127.0.0.1:9732"),
    "postgres": ExporterEntry("exporters.postgres", "127.0.0.1:9733"),
    "sql": ExporterEntry("exporters.sql", "127.0.0.1:9734"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil exporter", description="Run one of Vigil's Prometheus exporters."
    )
    parser.add_argument("name", choices=sorted(EXPORTERS), help="which exporter to run")
    parser.add_argument("--config", required=True, help="the exporter's YAML config file")
    parser.add_argument(
        "--web.listen-address", dest="listen_address", default=None,
        help="host:port to listen on (default: 127.0.0.1 and the exporter's own port)",
    )
    parser.add_argument(
        "--web.config.file", dest="web_config_file", default=None,
        help="web-config.yml with TLS and basic auth settings (node_exporter format)",
    )
    defaults = ServerLimits()
    parser.add_argument(
        "--web.max-connections", dest="max_connections", type=int,
        default=defaults.max_connections,
        help="most client connections open at once (lowered to fit RLIMIT_NOFILE)",
    )
    parser.add_argument(
        "--web.request-timeout", dest="request_timeout", type=float,
        default=defaults.request_timeout,
        help="seconds a client has for its TLS handshake and whole request head",
    )
    parser.add_argument(
        "--web.max-response-bytes", dest="max_response_bytes", type=int,
        default=DEFAULT_MAX_RESPONSE_BYTES,
        help="largest /metrics page; families beyond it are left out and counted",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"],
    )
    return parser


def build_exporter(name: str, config_path: str) -> Exporter:
    """Load ``config_path`` and build exporter ``name`` (raises ``ConfigError``)."""
    entry = EXPORTERS[name]
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name and entry.module.startswith(exc.name):
            raise SystemExit(f"vigil exporter: the {name} exporter is not available") from None
        raise
    return module.build(load_config(config_path))


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    entry = EXPORTERS[args.name]
    try:
        listen = args.listen_address or entry.default_listen
        try:
            host, port = parse_address(listen, default_host="0.0.0.0")
        except ValueError as exc:
            raise ConfigError("--web.listen-address", "", str(exc)) from None
        for flag, value, low, high in [
            ("--web.max-connections", args.max_connections, 1, 1_000_000),
            ("--web.request-timeout", args.request_timeout, 0.01, 3600),
            ("--web.max-response-bytes", args.max_response_bytes, 65536, 1024**3),
        ]:
            if not low <= value <= high:  # NaN fails too
                raise ConfigError(flag, "", f"expected {low:g} to {high:g}, got {value:g}")
        limits = ServerLimits(max_connections=args.max_connections,
                              request_timeout=args.request_timeout)
        web_config = load_web_config(args.web_config_file) if args.web_config_file else WebConfig()
        exporter = build_exporter(args.name, args.config)
        exporter.max_response_bytes = args.max_response_bytes
    except ConfigError as exc:
        print(f"vigil exporter {args.name}: config error: {exc}", file=sys.stderr)
        return 2
    try:
        server = MetricsServer(exporter.registry, host, port, web_config, limits=limits)
    except OSError as exc:
        print(f"vigil exporter {args.name}: cannot listen on {listen}: {exc}", file=sys.stderr)
        return 1
    exporter.start()
    return serve_until_signal(server, on_stop=exporter.stop)
