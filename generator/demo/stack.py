"""The demo stack: every part of Vigil running together on loopback, in one directory.

A :class:`Stack` starts, in order, and stops in reverse:

1. a throwaway PostgreSQL (:mod:`generator.demo.pg`; as the ``postgres`` user when
   run as root) with the demo shop (``exporters/sql/demo``: schema and seed), a
   monitoring role (``pg_monitor``) and a read-only role for the business queries;
2. the shop's web side (:mod:`generator.demo.shop`): an HTTP storefront writing an
   access log, and an HTTPS "payments API" with a self-signed certificate;
3. the webhook receiver (:mod:`generator.demo.receiver`) that records every
   notification;
4. the spec: a small overlay with the chosen ports that ``extends`` the demo spec
   (``slo/examples/demo.yaml``), plus ``spec_overlay`` if given, run through the real
   generator into ``<run_dir>/generated``;
5. the four exporters (``vigil exporter ...``), on configs written into the run dir,
   and the incident recorder (``vigil incidents serve``) on its own ``incidents``
   database in the same PostgreSQL;
6. Prometheus and Alertmanager (the Debian packages) on the generated configuration.

The only generated file adapted is the Prometheus configuration: the generator has no
knob for scrape and evaluation intervals, so a copy with ``scrape_interval`` /
``evaluation_interval`` replaced is written next to it (``prometheus.demo.yml``).

Contract (kept stable; the end-to-end tests build on it)::

    with Stack(run_dir, ports=None, spec_overlay=None,
               scrape_interval=5.0, evaluation_interval=5.0) as stack:
        stack.urls                # {"prometheus": ..., "alertmanager": ..., "receiver": ...,
                                  #  "host": ..., "http": ..., "postgres": ..., "sql": ...,
                                  #  "incidents": ... (the recorder's base URL),
                                  #  "shop": ..., "payments": ..., "database": ...}
                                  #  (exporters: their /metrics URLs)
        stack.prometheus_url, stack.alertmanager_url
        stack.incidents_dsn       # libpq DSN of the incident store (socket, trusted)
        stack.receiver            # WebhookReceiver: .notifications, .matching(**labels)
        stack.receiver.notifications[i].{receiver, recipient, status, alertname,
                                         severity, team, priority, labels, received_at}
        stack.pg_dsn              # libpq DSN of the shop database (socket, trusted)
        stack.connect()           # psycopg connection to the shop (autocommit)
        stack.stop_postgres(); stack.start_postgres()
        stack.storefront.error_share = 0.3      # see workload.py for the fault functions
        stack.spool               # a directory the host exporter serves as a filesystem
                                  #  with a budget of stack.spool_budget_bytes (workload.Fill)
        stack.payments.stop(); stack.payments.start()
        stack.query("up")         # Prometheus instant query -> result list
        stack.generated           # Path of the generated rules/dashboards/deploy tree
        stack.spec                # the loaded generator.model.Spec
        stack.startup_seconds     # from start() to every scrape target up
        stack.scrape_interval, stack.evaluation_interval  (seconds)

``ports`` is a :class:`Ports` (``Ports.free()`` picks free ones, ``Ports.from_base(n)``
a fixed block); None means free ports. ``spec_overlay`` is a dict in spec syntax
merged over the demo spec by ``extends`` (e.g. a maintenance window for a test).
``run_dir`` holds everything (configs, data, logs) and a pid file that makes a second
stack on the same directory fail with :class:`ActiveRunError`; with ``keep_files``
False (the default) the directory is removed when the stack stops.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
import yaml
from psycopg import sql

from exporters.sql.demo import seed
from generator.demo import pg
from generator.demo.certs import self_signed
from generator.demo.receiver import WebhookReceiver
from generator.demo.shop import PaymentsApi, Storefront

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPEC = ROOT / "slo/examples/demo.yaml"
SQL_QUERIES = ROOT / "exporters/sql/default_queries.yml"
PID_FILE = "vigil-demo.pid"
SHOP_DB = "shop"
EXPORTER_NAMES = ("host", "http", "postgres", "sql")
SPOOL_BUDGET_BYTES = 32 << 20  # the spool directory's budget: small, so a fill is quick
INCIDENTS_DB = "incidents"
SCRAPED = (*EXPORTER_NAMES, "incidents")  # every scrape job of the generated configuration


class StackError(RuntimeError):
    """A part of the stack could not start; the message says which and why."""


class ActiveRunError(StackError):
    """Another demo runs on the same run directory."""

    def __init__(self, run_dir: Path, pid: int) -> None:
        super().__init__(f"another vigil demo is already running (pid {pid}, run directory "
                         f"{run_dir}); stop it with Ctrl-C or wait for it to end")
        self.pid = pid


# Offsets from a base port; the base 19730 gives the addresses written in demo.yaml.
PORT_OFFSETS = {"host_exporter": 1, "http_exporter": 2, "postgres_exporter": 3,
                "sql_exporter": 4, "incidents": 5, "receiver": 10, "shop": 11, "payments": 12,
                "database": 13, "prometheus": 60, "alertmanager": 63}
DEFAULT_PORT_BASE = 19730


@dataclass(frozen=True)
class Ports:
    """Every loopback port the stack listens on."""

    host_exporter: int
    http_exporter: int
    postgres_exporter: int
    sql_exporter: int
    incidents: int
    receiver: int
    shop: int
    payments: int
    database: int
    prometheus: int
    alertmanager: int

    @classmethod
    def from_base(cls, base: int = DEFAULT_PORT_BASE) -> Ports:
        """A fixed block: ``base`` + :data:`PORT_OFFSETS` (19730 gives demo.yaml's)."""
        top = 65535 - max(PORT_OFFSETS.values())
        if not 1024 <= base <= top:
            raise StackError(f"port base {base}: expected 1024..{top}")
        return cls(**{name: base + offset for name, offset in PORT_OFFSETS.items()})

    @classmethod
    def free(cls) -> Ports:
        """Ports nothing listens on now (bound and released together, so all differ)."""
        import socket

        sockets = []
        try:
            for _ in fields(cls):
                sock = socket.socket()
                sock.bind(("127.0.0.1", 0))
                sockets.append(sock)
            return cls(*(s.getsockname()[1] for s in sockets))
        finally:
            for sock in sockets:
                sock.close()

    def busy(self) -> list[str]:
        """``name port`` of every port something already listens on."""
        import socket

        taken = []
        for item in fields(self):
            port = getattr(self, item.name)
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    taken.append(f"{item.name} {port}")
        return taken


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def missing_tools() -> list[str]:
    """What the stack needs from the system and cannot find."""
    missing = []
    if shutil.which("prometheus") is None:
        missing.append("prometheus (Debian package prometheus)")
    if alertmanager_binary() is None:
        missing.append("alertmanager (Debian package prometheus-alertmanager)")
    if not pg.available():
        missing.append("PostgreSQL server binaries (Debian package postgresql)")
    return missing


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    argv: list[str]
    env: dict[str, str] | None


class Stack:
    """The whole demo stack; see the module docstring for the contract."""

    def __init__(self, run_dir: Path, ports: Ports | None = None,
                 spec_overlay: dict[str, Any] | None = None,
                 scrape_interval: float = 5.0, evaluation_interval: float = 5.0,
                 *, keep_files: bool = False, spec: Path = DEMO_SPEC) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.ports = ports or Ports.free()
        self.spec_overlay = spec_overlay
        self.scrape_interval = float(scrape_interval)
        self.evaluation_interval = float(evaluation_interval)
        self.keep_files = keep_files
        self.base_spec = Path(spec).resolve()
        self.startup_seconds: float | None = None
        self.generated = self.run_dir / "generated"
        self.receiver = WebhookReceiver(port=self.ports.receiver)
        self.storefront = Storefront(self.ports.shop, self.run_dir / "logs/access.log")
        self.spool = self.run_dir / "spool"  # a directory with a size budget: it can fill
        self.spool_budget_bytes = SPOOL_BUDGET_BYTES
        self.spool_fill: Any = None  # the running workload.Fill, if any
        self.payments: PaymentsApi | None = None
        self.cluster: pg.PgCluster | None = None
        self.spec: Any = None
        self.spec_path: Path | None = None
        self._processes: list[_Process] = []
        self._owns_pid_file = False
        self._passwords = {"monitor": secrets.token_urlsafe(18), "reader": secrets.token_urlsafe(18)}

    # -- addresses ------------------------------------------------------------

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prometheus}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.alertmanager}"

    @property
    def urls(self) -> dict[str, str]:
        p = self.ports
        return {
            "prometheus": self.prometheus_url,
            "alertmanager": self.alertmanager_url,
            "receiver": self.receiver.url,
            "host": f"http://127.0.0.1:{p.host_exporter}/metrics",
            "http": f"http://127.0.0.1:{p.http_exporter}/metrics",
            "postgres": f"http://127.0.0.1:{p.postgres_exporter}/metrics",
            "sql": f"http://127.0.0.1:{p.sql_exporter}/metrics",
            "incidents": f"http://127.0.0.1:{p.incidents}",
            "shop": f"http://127.0.0.1:{p.shop}/",
            "payments": f"https://127.0.0.1:{p.payments}/v1/health",
            "database": f"postgresql://127.0.0.1:{p.database}/{SHOP_DB}",
        }

    @property
    def pg_dsn(self) -> str:
        assert self.cluster is not None, "the stack is not started"
        return self.cluster.dsn(SHOP_DB)

    @property
    def incidents_dsn(self) -> str:
        assert self.cluster is not None, "the stack is not started"
        return self.cluster.dsn(INCIDENTS_DB)

    def connect(self) -> psycopg.Connection[Any]:
        """A new autocommit connection to the shop database, as its owner."""
        assert self.cluster is not None, "the stack is not started"
        return self.cluster.connect(SHOP_DB)

    # -- lifecycle ------------------------------------------------------------

    @property
    def claimed(self) -> bool:
        """True from claiming the run directory until :meth:`stop` released it."""
        return self._owns_pid_file

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, *, on_step: Any = None) -> None:
        """Start everything and wait until Prometheus scrapes every target as up.

        ``on_step(text)`` is called before each step (the demo prints them). On any
        failure everything already started is stopped again before the error rises.
        """
        step = on_step or (lambda text: None)
        started = time.monotonic()
        self._claim_run_dir()
        try:
            missing = missing_tools()
            if missing:
                raise StackError("missing: " + "; ".join(missing)
                                 + " (make demo installs them when run as root)")
            busy = self.ports.busy()
            if busy:
                raise StackError("ports already in use: " + ", ".join(busy)
                                 + " (choose others with --port-base N, or --free-ports)")
            for sub in ("logs", "tls", "exporters", "spec", "backups", "spool"):
                (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
            step("PostgreSQL with the demo shop")
            self._start_database()
            step("shop, payments API and webhook receiver")
            cert, key, _ = self_signed(self.run_dir / "tls", days=90, name="payments")
            self.payments = PaymentsApi(self.ports.payments, cert, key)
            self.storefront.access_log.touch()
            self.storefront.start()
            self.payments.start()
            self.receiver.start()
            self._write_backups()
            step("generating rules and routing from the demo spec")
            self._generate()
            step("exporters, Prometheus and Alertmanager")
            self._start_exporters(cert)
            self._start_prometheus_and_alertmanager()
            step("waiting for every scrape target to be up")
            self.wait_targets_up(timeout=60)
            self.startup_seconds = time.monotonic() - started
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process and server the stack started; remove the run dir."""
        for process in reversed(self._processes):
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in reversed(self._processes):
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)
        self._processes = []
        for server in (self.storefront, self.payments):
            if server is not None:
                server.stop()
        self.receiver.stop()
        if self.cluster is not None:
            self.cluster.destroy() if not self.keep_files else self._stop_cluster_quietly()
            self.cluster = None
        if self._owns_pid_file:
            if self.keep_files:
                (self.run_dir / PID_FILE).unlink(missing_ok=True)
            else:
                shutil.rmtree(self.run_dir, ignore_errors=True)
            self._owns_pid_file = False

    def _stop_cluster_quietly(self) -> None:
        assert self.cluster is not None
        with contextlib.suppress(pg.PgError):
            if self.cluster.is_running():
                self.cluster.stop("fast")

    def _claim_run_dir(self) -> None:
        """Create the pid file atomically; a live owner means another run is active."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        pid_path = self.run_dir / PID_FILE
        for _ in range(2):
            try:
                fd = os.open(pid_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = _read_pid(pid_path)
                if owner is not None and _alive(owner):
                    raise ActiveRunError(self.run_dir, owner) from None
                # A run that was killed without cleaning up: take its directory over.
                for child in self.run_dir.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            self._owns_pid_file = True
            return
        raise StackError(f"cannot claim {pid_path}")

    # -- parts ----------------------------------------------------------------

    def _start_database(self) -> None:
        self.cluster = pg.PgCluster.create(self.run_dir / "postgres", port=self.ports.database,
                                           settings={"max_connections": 60})
        self.cluster.start()
        self.cluster.create_database(SHOP_DB)
        self.cluster.create_database(INCIDENTS_DB)
        with self.cluster.connect(SHOP_DB, autocommit=False) as conn:
            seed.load(conn, seed.generate())
        monitor, reader = self._passwords["monitor"], self._passwords["reader"]
        # CREATE ROLE takes no bind parameters: the password is quoted as a literal.
        statements = [
            sql.SQL("CREATE ROLE vigil_monitor LOGIN PASSWORD {}").format(sql.Literal(monitor)),
            sql.SQL("GRANT pg_monitor TO vigil_monitor"),
            sql.SQL("CREATE ROLE vigil_reader LOGIN PASSWORD {}").format(sql.Literal(reader)),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO vigil_reader"),
        ]
        with self.cluster.connect(SHOP_DB) as conn:
            for statement in statements:
                conn.execute(statement)

    def stop_postgres(self) -> None:
        """Stop the database server (the "database down" fault); data is kept."""
        assert self.cluster is not None
        self.cluster.stop("fast")

    def start_postgres(self) -> None:
        assert self.cluster is not None
        self.cluster.start()

    def _write_backups(self) -> None:
        """Fresh backup files, as the backup jobs would have left them."""
        for kind in ("full", "incremental", "wal"):
            directory = self.run_dir / "backups" / kind
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{kind}-0001.tar.gz").write_bytes(b"demo backup\n")

    def _spec_paths(self) -> Path:
        """Write the ports overlay (and the caller's overlay); return the spec to load."""
        p = self.ports
        with self.base_spec.open() as handle:
            base = yaml.safe_load(handle)
        receivers: dict[str, Any] = {}
        for name, body in (base.get("receivers") or {}).items():
            hook = (body or {}).get("webhook")
            if isinstance(hook, dict) and "url" in hook:
                parts = urlsplit(hook["url"])
                receivers[name] = {"webhook": {"url": urlunsplit(
                    parts._replace(netloc=f"127.0.0.1:{p.receiver}"))}}
        overlay: dict[str, Any] = {
            "extends": str(self.base_spec),
            "targets": {
                "host": [f"127.0.0.1:{p.host_exporter}"],
                "http": [f"127.0.0.1:{p.http_exporter}"],
                "postgres": [f"127.0.0.1:{p.postgres_exporter}"],
                "sql": [f"127.0.0.1:{p.sql_exporter}"],
                "incidents": [f"127.0.0.1:{p.incidents}"],
            },
            "alertmanager": [f"127.0.0.1:{p.alertmanager}"],
            "grafana_url": "http://127.0.0.1:3000",
            "receivers": receivers,
            "monitoring": {"prometheus": {"targets": [f"127.0.0.1:{p.prometheus}"]},
                           "alertmanager": {"targets": [f"127.0.0.1:{p.alertmanager}"]}},
        }
        heartbeat = ((base.get("monitoring") or {}).get("heartbeat") or {}).get("url")
        if isinstance(heartbeat, str):  # the Watchdog reaches the same receiver
            parts = urlsplit(heartbeat)
            overlay["monitoring"]["heartbeat"] = {"url": urlunsplit(
                parts._replace(netloc=f"127.0.0.1:{p.receiver}"))}
        spec_dir = self.run_dir / "spec"
        ports_spec = spec_dir / "ports.yaml"
        ports_spec.write_text("# Written by vigil demo: the ports of this run.\n"
                              + yaml.safe_dump(overlay, sort_keys=False))
        if not self.spec_overlay:
            return ports_spec
        custom = spec_dir / "spec.yaml"
        custom.write_text(yaml.safe_dump({"extends": str(ports_spec), **self.spec_overlay},
                                         sort_keys=False))
        return custom

    def _generate(self) -> None:
        from generator.commands import render
        from generator.loader import SpecError, load_spec
        from generator.output import write_atomically

        path = self._spec_paths()
        self.spec_path = path
        try:
            self.spec = load_spec(path)
        except SpecError as err:
            raise StackError(f"the demo spec is invalid:\n{err.render()}") from None
        write_atomically(self.generated, render(self.spec))
        prom_dir = self.generated / "deploy/prometheus"
        config = yaml.safe_load((prom_dir / "prometheus.yml").read_text())
        scrape, evaluation = f"{self.scrape_interval:g}s", f"{self.evaluation_interval:g}s"
        config["global"] = {"scrape_interval": scrape, "evaluation_interval": evaluation}
        for job in config["scrape_configs"]:
            job["scrape_interval"] = scrape
            job["scrape_timeout"] = f"{min(self.scrape_interval, 10.0):g}s"
        config["rule_files"] = self._compressed_rule_files(prom_dir, config.get("rule_files", []))
        (prom_dir / "prometheus.demo.yml").write_text(
            "# The generated prometheus.yml with the demo's scrape and evaluation intervals.\n"
            + yaml.safe_dump(config, sort_keys=False))

    def _compressed_rule_files(self, prom_dir: Path, patterns: list[str]) -> list[str]:
        """Copies of the rule files whose groups run at the demo's evaluation interval.

        The demo compresses time: an SLO's 5-minute and hourly tiles and the hourly
        capacity means would otherwise appear minutes or an hour into a run, and the
        slow-burn alerts that read the tiles would lag the simulated faults by as much.
        Sums of tiles are still errors over requests at any tile interval. The copies
        sit next to the originals as `*.rules.demo.yml`, which no `*.rules.yml` glob
        (vmalert's, Prometheus's own) picks up twice.
        """
        evaluation = f"{self.evaluation_interval:g}s"
        copies: list[str] = []
        for pattern in patterns:
            for path in sorted(prom_dir.glob(pattern)):
                rules = yaml.safe_load(path.read_text()) or {}
                for group in rules.get("groups", []):
                    if "interval" in group:
                        group["interval"] = evaluation
                copy = path.with_name(path.name.removesuffix(".yml") + ".demo.yml")
                copy.write_text("# The generated rules, every group at the demo's evaluation "
                                "interval.\n" + yaml.safe_dump(rules, sort_keys=False))
                copies.append(os.path.relpath(copy, prom_dir))
        return copies

    def _exporter_configs(self, cert: Path) -> dict[str, dict[str, Any]]:
        assert self.cluster is not None
        fast = f"{max(1.0, min(self.scrape_interval, 5.0)):g}s"
        backups = self.run_dir / "backups"
        return {
            "host": {
                "tcp_targets": [
                    {"name": "database", "address": f"127.0.0.1:{self.ports.database}",
                     "timeout": "1s", "interval": fast},
                    {"name": "payments-api", "address": f"127.0.0.1:{self.ports.payments}",
                     "timeout": "1s", "interval": fast},
                ],
                "backups": {"interval": fast, "kinds": [
                    {"kind": kind, "paths": [str(backups / kind)]}
                    for kind in ("full", "incremental", "wal")]},
                "tls_certificates": {"interval": "60s", "files": [str(cert)]},
                "directories": {"interval": fast, "budgets": [
                    {"path": str(self.spool), "budget_bytes": self.spool_budget_bytes}]},
            },
            "http": {
                "probes": [
                    {"name": "shop", "url": f"http://127.0.0.1:{self.ports.shop}/healthz",
                     "timeout": "2s", "interval": fast},
                    {"name": "payments-api",
                     "url": f"https://127.0.0.1:{self.ports.payments}/v1/health",
                     "timeout": "2s", "interval": fast, "ca_file": str(cert)},
                ],
                "access_logs": [{
                    "path": str(self.storefront.access_log), "format": "combined",
                    "routes": [{"name": "/api/orders/:id", "pattern": r"^/api/orders/\d+$"},
                               {"name": "/api/cart", "prefix": "/api/cart"},
                               {"name": "/static", "prefix": "/static/"},
                               "/checkout", "/", "/healthz"],
                }],
            },
            "postgres": {
                "dsn": self.cluster.dsn("postgres", "vigil_monitor", tcp=True),
                "password": {"env": "VIGIL_PG_PASSWORD"},
                "interval": fast, "timeout": "2s", "connect_timeout": "2s", "backoff_max": "5s",
            },
            "sql": {
                "dsn": self.cluster.dsn(SHOP_DB, "vigil_reader", tcp=True),
                "password": {"env": "VIGIL_SQL_PASSWORD"},
                "connect_timeout": "2s", "backoff_max": "5s",
                "defaults": {"interval": fast, "timeout": fast},
                "queries_file": str(SQL_QUERIES),
            },
        }

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = self.run_dir / "logs" / f"{name}.log"
        with log.open("ab") as handle:
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                cwd=self.run_dir, env={**os.environ, **(env or {})},
                start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
            )
        self._processes.append(_Process(name, popen, log, argv, env))

    def stop_exporter(self, name: str) -> None:
        """Stop one exporter (``host``, ``http``, ``postgres``, ``sql``): the "target down"
        fault. :meth:`start_exporter` starts it again on the same address and config."""
        process = self._process(f"{name}-exporter")
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)

    def start_exporter(self, name: str) -> None:
        process = self._process(f"{name}-exporter")
        if process.popen.poll() is None:
            return
        self._processes.remove(process)
        self._spawn(process.name, process.argv, process.env)

    def _process(self, name: str) -> _Process:
        found = [p for p in self._processes if p.name == name]
        if not found:
            raise StackError(f"no process {name!r} in this stack")
        return found[-1]

    def _start_exporters(self, cert: Path) -> None:
        listen = {"host": self.ports.host_exporter, "http": self.ports.http_exporter,
                  "postgres": self.ports.postgres_exporter, "sql": self.ports.sql_exporter}
        env = {"VIGIL_PG_PASSWORD": self._passwords["monitor"],
               "VIGIL_SQL_PASSWORD": self._passwords["reader"]}
        for name, config in self._exporter_configs(cert).items():
            path = self.run_dir / "exporters" / f"{name}.yml"
            path.write_text(yaml.safe_dump(config, sort_keys=False))
            self._spawn(f"{name}-exporter",
                        [sys.executable, "-m", "generator.cli", "exporter", name,
                         "--config", str(path), "--web.listen-address",
                         f"127.0.0.1:{listen[name]}"], env)
        self._spawn("incidents", [
            sys.executable, "-m", "generator.cli", "incidents", "serve",
            "--spec", str(self.spec_path), "--dsn", self.incidents_dsn,
            "--web.listen-address", f"127.0.0.1:{self.ports.incidents}",
            "--metrics-interval", f"{max(1.0, min(self.scrape_interval, 5.0)):g}s",
            "--spool", str(self.run_dir / "incidents-queue.jsonl")])

    def _start_prometheus_and_alertmanager(self) -> None:
        alertmanager = alertmanager_binary()
        assert alertmanager is not None
        self._spawn("alertmanager", [
            alertmanager,
            f"--config.file={self.generated}/deploy/alertmanager/alertmanager.yml",
            f"--storage.path={self.run_dir}/data/alertmanager",
            f"--web.listen-address=127.0.0.1:{self.ports.alertmanager}",
            "--cluster.listen-address=",
        ])
        self._spawn("prometheus", [
            "prometheus",
            f"--config.file={self.generated}/deploy/prometheus/prometheus.demo.yml",
            f"--storage.tsdb.path={self.run_dir}/data/prometheus",
            f"--web.listen-address=127.0.0.1:{self.ports.prometheus}",
            "--web.enable-lifecycle",
        ])

    # -- observing ------------------------------------------------------------

    def _check_processes(self) -> None:
        for process in self._processes:
            code = process.popen.poll()
            if code is not None:
                tail = process.log.read_text(errors="replace").splitlines()[-15:]
                raise StackError(f"{process.name} exited with {code}:\n" + "\n".join(tail))

    def targets(self) -> list[dict[str, Any]]:
        """Prometheus' active scrape targets (job, instance, health, lastError)."""
        response = requests.get(f"{self.prometheus_url}/api/v1/targets",
                                params={"state": "active"}, timeout=5)
        response.raise_for_status()
        return [{"job": t["labels"].get("job", ""), "instance": t["labels"].get("instance", ""),
                 "health": t["health"], "last_error": t.get("lastError", "")}
                for t in response.json()["data"]["activeTargets"]]

    def wait_targets_up(self, timeout: float = 60) -> None:
        """Wait until every configured target has been scraped and is up."""
        deadline = time.monotonic() + timeout
        last: Any = "Prometheus not answering"
        expected = len(SCRAPED) + 2  # and Prometheus and Alertmanager themselves
        while time.monotonic() < deadline:
            self._check_processes()
            try:
                targets = self.targets()
                if len(targets) >= expected and all(t["health"] == "up" for t in targets):
                    return
                last = targets
            except requests.RequestException as exc:
                last = exc
            time.sleep(0.2)
        raise StackError(f"not every target came up within {timeout:g}s: {last}")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query; the ``result`` list of Prometheus' answer."""
        response = requests.get(f"{self.prometheus_url}/api/v1/query",
                                params={"query": promql}, timeout=10)
        response.raise_for_status()
        return list(response.json()["data"]["result"])

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' pending and firing alerts (labels, state, activeAt)."""
        response = requests.get(f"{self.prometheus_url}/api/v1/alerts", timeout=5)
        response.raise_for_status()
        return list(response.json()["data"]["alerts"])


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
