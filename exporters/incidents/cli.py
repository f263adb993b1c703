"""`vigil incidents serve | ack | list`: run the recorder, acknowledge, look.

The store's connection: ``--dsn`` (or ``$VIGIL_INCIDENTS_DSN``), a libpq connection
string; the password, if the DSN has none, from ``$VIGIL_INCIDENTS_PASSWORD`` or the
file ``$VIGIL_INCIDENTS_PASSWORD_FILE`` names, so it need not be on the command line.

Exit codes: 0 (served until a signal, acknowledged, listed), 2 for usage or config
errors and an unknown incident, 1 when the store or the listen address cannot be
reached. Errors are one line naming what failed, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exporters.common.secrets import SecretError, env_secret, redact

if TYPE_CHECKING:  # psycopg is imported when a command runs: `vigil generate` never pays for it
    import psycopg

DEFAULT_LISTEN = "127.0.0.1:9735"
PROG = "vigil incidents"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="incidents_command", required=True)
    serve = commands.add_parser("serve", help="run the recorder (Alertmanager webhook, /metrics)")
    _store_arguments(serve)
    serve.add_argument("--spec", type=Path, default=Path("slo/spec.yaml"),
                       help="the spec: severities' priorities and targets, flap interval")
    serve.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN)
    serve.add_argument("--web.config.file", dest="web_config", default=None,
                       help="web-config.yml (TLS, basic auth); HTTP acknowledgement needs users")
    serve.add_argument("--queue-capacity", type=int, default=10_000,
                       help="notifications held in memory while the store is down")
    serve.add_argument("--spool", type=Path, default=None,
                       help="file the queue is kept in across a restart during an outage")
    serve.add_argument("--metrics-interval", default="15s",
                       help="how often the incident metrics are read from the store")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])
    ack = commands.add_parser("ack", help="acknowledge an incident")
    ack.add_argument("id", help="the incident's number")
    ack.add_argument("--by", default=os.environ.get("USER", ""),
                     help="who acknowledges (default: $USER)")
    _store_arguments(ack)
    listing = commands.add_parser("list", help="the latest incidents")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    _store_arguments(listing)


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", default=os.environ.get("VIGIL_INCIDENTS_DSN"),
                        help="libpq connection string of the incident store "
                             "(default: $VIGIL_INCIDENTS_DSN)")


def connector(dsn: str) -> Any:
    """A function opening a new connection to the store (the password from the environment)."""
    import psycopg

    password = env_secret("VIGIL_INCIDENTS_PASSWORD")

    def connect() -> psycopg.Connection[Any]:
        kwargs: dict[str, Any] = {"connect_timeout": 5, "application_name": "vigil-incidents",
                                  "options": "-c statement_timeout=10000"}
        if password is not None:
            kwargs["password"] = password
        return psycopg.connect(dsn, **kwargs)
    return connect


def _fail(code: int, message: str) -> int:
    print(f"{PROG}: {redact(message)}", file=sys.stderr)
    return code


def main(args: argparse.Namespace) -> int:
    import psycopg

    from exporters.incidents import schema

    if not args.dsn:
        return _fail(2, "no incident store: pass --dsn or set VIGIL_INCIDENTS_DSN")
    try:
        connect = connector(args.dsn)
    except SecretError as exc:
        return _fail(2, str(exc))
    if args.incidents_command == "serve":
        return _serve(args, connect)
    try:
        with connect() as conn:
            conn.autocommit = True
            schema.migrate(conn)
            if args.incidents_command == "ack":
                return _ack(args, conn)
            return _list(args, conn)
    except (psycopg.Error, schema.SchemaError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _fail(1, f"incident store: {first}")


def _ack(args: argparse.Namespace, conn: psycopg.Connection[Any]) -> int:
    from exporters.incidents.policy import Policy
    from exporters.incidents.store import AckError, Store, check_ack

    try:
        incident, by = check_ack(args.id, args.by)
        row = Store(conn, Policy({}, 0.0)).acknowledge(incident, by, time.time())
    except AckError as exc:
        return _fail(2, str(exc))
    print(f"incident {row['id']} acknowledged by {row['acknowledged_by']} at "
          f"{row['acknowledged_at'].isoformat()}")
    return 0


def _list(args: argparse.Namespace, conn: psycopg.Connection[Any]) -> int:
    from exporters.incidents.policy import Policy
    from exporters.incidents.store import Store, duration, rows_as_json

    rows = Store(conn, Policy({}, 0.0)).incidents(limit=max(1, min(args.limit, 10_000)))
    if args.json:
        print(json.dumps(rows_as_json(rows), indent=2, default=str))
        return 0
    for row in rows:
        took = duration(row)
        state = f"{took / 60:.1f} min" if took is not None else "open"
        ack = f", acknowledged by {row['acknowledged_by']}" if row["acknowledged_by"] else ""
        print(f"#{row['id']} {row['started_at']:%Y-%m-%d %H:%M:%S} {row['priority']} "
              f"{row['alertname']} ({row['severity']}, {row['team'] or '-'}): {state}{ack}")
    return 0


def _serve(args: argparse.Namespace, connect: Any) -> int:
    from exporters.common.config import ConfigError, parse_address, parse_duration
    from exporters.common.server import MetricsServer, serve_until_signal
    from exporters.common.webconfig import WebConfig, load_web_config
    from exporters.incidents.policy import Policy
    from exporters.incidents.service import build
    from generator.loader import SpecError

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        host, port = parse_address(args.listen, default_host="0.0.0.0")
        interval = parse_duration(args.metrics_interval)
        if not 1 <= interval <= 3600:
            raise ValueError(f"--metrics-interval: expected 1s to 1h, got {args.metrics_interval}")
        if not 1 <= args.queue_capacity <= 1_000_000:
            raise ValueError("--queue-capacity: expected 1 to 1000000")
        web_config = load_web_config(args.web_config) if args.web_config else WebConfig()
        policy = Policy.from_spec(args.spec)
    except SpecError as exc:
        return _fail(2, f"spec error:\n{exc.render()}")
    except (ConfigError, ValueError) as exc:
        return _fail(2, f"config error: {exc}")
    recorder = build(policy, connect, web_config, capacity=args.queue_capacity,
                     interval=interval, spool=args.spool, dsn_for_logs=args.dsn)
    try:
        server = MetricsServer(recorder.exporter.registry, host, port, web_config,
                               routes=recorder.routes)
    except OSError as exc:
        return _fail(1, f"cannot listen on {args.listen}: {exc}")
    recorder.start()
    return serve_until_signal(server, on_stop=recorder.stop)


def run(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG)
    add_arguments(parser)
    return main(parser.parse_args(list(argv)))
