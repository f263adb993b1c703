"""`vigil demo workload`: the shop's workload on its own, for Compose's demo profile.

In `vigil demo` the workload runs inside the process that started the whole stack. In
Compose, PostgreSQL, the exporters and Prometheus are services of their own, so this
runs only what the workload needs beside them: the storefront (writing the access log
the http exporter tails), the HTTPS payments API the probes call, and the shop's
activity and trouble schedule in the database named by ``--dsn``. It is the same
:class:`~generator.demo.workload.Workload` and the same faults, given a
:class:`ShopHost` instead of a :class:`~generator.demo.stack.Stack`. Stopping the
database is left out of the schedule here, as it is in the demo's: in Compose that is
``docker compose stop postgres``. So is the filling spool directory: the host exporter
runs in a container of its own and watches no directory of this one.

The database password is never a flag: it comes from ``--password-env`` (default
``POSTGRES_PASSWORD``), honouring ``<NAME>_FILE`` as the exporters do.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from exporters.common.secrets import SecretError, env_secret, redact
from generator.demo.certs import self_signed
from generator.demo.shop import PaymentsApi, Storefront

EXIT_FAILED = 1


@dataclass(frozen=True)
class ShopPorts:
    shop: int
    payments: int


class ShopHost:
    """What the workload and its faults use of a stack: a database, the two servers."""

    def __init__(self, dsn: str, listen: str, ports: ShopPorts, access_log: Path,
                 tls_dir: Path) -> None:
        self.pg_dsn = dsn
        self.ports = ports
        self.storefront = Storefront(ports.shop, access_log, host=listen)
        cert, key, _ = self_signed(tls_dir, days=90, name="payments")
        self.payments = PaymentsApi(ports.payments, cert, key, host=listen)

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection to the shop database."""
        return psycopg.connect(self.pg_dsn, autocommit=True, connect_timeout=5)

    def start(self) -> None:
        self.storefront.access_log.parent.mkdir(parents=True, exist_ok=True)
        self.storefront.access_log.touch()
        self.storefront.start()
        self.payments.start()

    def stop(self) -> None:
        self.storefront.stop()
        self.payments.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", required=True,
                        help="libpq connection string of the shop database (no password)")
    parser.add_argument("--password-env", default="POSTGRES_PASSWORD",
                        help="variable holding the password, or NAME_FILE naming a file "
                             "(default POSTGRES_PASSWORD)")
    parser.add_argument("--listen", default="127.0.0.1",
                        help="address the storefront and payments API listen on")
    parser.add_argument("--shop-port", type=_port, default=8080)
    parser.add_argument("--payments-port", type=_port, default=8443)
    parser.add_argument("--access-log", type=Path, required=True,
                        help="the storefront's access log (combined format)")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return port


def _dsn_with_password(dsn: str, password_env: str) -> str:
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"--dsn: {exc}") from None
    try:
        password = env_secret(password_env)
    except SecretError as exc:
        raise ValueError(f"--password-env {password_env}: {exc}") from None
    if password is None:  # not set: trust, peer or a .pgpass file
        return dsn
    return make_conninfo(dsn, password=password)


def _print_events(events: list[tuple[float, str]], after: float) -> float:
    """Print the events newer than ``after``; returns the newest time printed."""
    for at, text in list(events):
        if at > after:
            print(f"vigil demo workload: {redact(text)}", flush=True)
            after = at
    return after


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(args: argparse.Namespace) -> int:
    from generator.demo.workload import SCHEDULE, Workload, fill_spool

    try:
        dsn = _dsn_with_password(args.dsn, args.password_env)
    except ValueError as exc:
        print(f"vigil demo workload: {exc}", file=sys.stderr)
        return EXIT_FAILED
    previous = signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="vigil-workload-") as tls_dir:
        host = ShopHost(dsn, args.listen, ShopPorts(args.shop_port, args.payments_port),
                        args.access_log, Path(tls_dir))
        workload = Workload(host, schedule=tuple(t for t in SCHEDULE if t.start is not fill_spool))
        shown = 0.0  # time of the newest event printed (the list keeps only the latest)
        try:
            host.start()
            print(f"vigil demo workload: storefront on {args.listen}:{host.ports.shop}, "
                  f"payments API on {args.listen}:{host.ports.payments}", flush=True)
            workload.start()
            while True:
                shown = _print_events(workload.events, shown)
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            print(f"vigil demo workload: cannot listen: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            workload.stop()
            host.stop()
            _print_events(workload.events, shown)
            signal.signal(signal.SIGTERM, previous)
    print("vigil demo workload: stopped", flush=True)
    return 0

