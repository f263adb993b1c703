"""Throwaway PostgreSQL clusters: a real server for the demo and for tests.

Why this module exists: ``vigil demo`` runs the shop on a PostgreSQL of its
own, and exporter and end-to-end tests must prove behaviour against a real
one (deadlocks, streaming replication, a server that goes away and comes
back). Both import this module (tests through ``tests/pg.py``) instead of
growing their own ``initdb`` dance.

What it handles:

* ``initdb``/``postgres`` refuse to run as root, and CI runs as root. When the
  current user is root, every server-side binary runs as the ``postgres``
  user through ``runuser -u postgres --``, in a temporary directory that user
  owns. As any other user the binaries run directly.
* Each cluster listens on ``127.0.0.1`` on a free port, with its Unix socket
  directory inside its own data root, so clusters never collide with a system
  PostgreSQL or with each other.
* Local (socket) connections are trusted; TCP connections need a password
  (``scram-sha-256``), so code under test exercises real password handling.
  :attr:`PgCluster.password` is the ``postgres`` role's password.
* A streaming standby is one call: :meth:`PgCluster.create_standby` runs
  ``pg_basebackup -R`` against the primary and starts the copy.

Typical use (a session-scoped pytest fixture)::

    cluster = PgCluster.create(settings={"max_connections": 30})
    cluster.start()
    cluster.execute("CREATE TABLE t (id int)")
    standby = cluster.create_standby(name="replica1")
    ...
    standby.destroy(); cluster.destroy()     # stop the servers, remove the files

or ``with running_cluster() as cluster: ...`` for one test. Without a
``root`` each cluster gets its own ``tempfile.mkdtemp`` directory: pytest
prunes old ``tmp_path`` trees when another session starts, which must not
pull a data directory from under a running server.

Speed: durability is switched off (``fsync``, ``synchronous_commit``,
``full_page_writes``) because a test cluster is thrown away; a cluster starts
in well under a second.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

PG_VERSION_DIRS = ("17", "16", "15", "14", "13")
SERVER_USER = "postgres"
DEFAULT_PASSWORD = "vigil-test-password"

# Settings that make a throwaway cluster fast and easy to provoke.
BASE_SETTINGS: dict[str, Any] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": 40,
    "wal_level": "replica",
    "max_wal_senders": 5,
    "hot_standby": "on",
    "wal_receiver_status_interval": "1s",
    "deadlock_timeout": "100ms",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] ",
    "dynamic_shared_memory_type": "mmap",
}


class PgError(RuntimeError):
    """A cluster operation failed; the message carries the tool's output."""


def find_bin_dir() -> Path:
    """Locate the PostgreSQL server binaries (``initdb``, ``pg_ctl``...).

    ``PG_BIN_DIR`` wins; otherwise Debian's versioned directories, newest
    first; otherwise whatever ``pg_ctl`` is on ``PATH``.
    """
    env = os.environ.get("PG_BIN_DIR")
    if env:
        return Path(env)
    for version in PG_VERSION_DIRS:
        candidate = Path("/usr/lib/postgresql") / version / "bin"
        if (candidate / "initdb").exists():
            return candidate
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise PgError("no PostgreSQL binaries found; set PG_BIN_DIR")


def available() -> bool:
    """True when a throwaway cluster can be started here (for skip markers)."""
    try:
        find_bin_dir()
    except PgError:
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: Sequence[str]) -> list[str]:
    """Prefix ``argv`` so it runs as the server user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return list(argv)


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(argv: Sequence[str], *, timeout: float = 60, env: Mapping[str, str] | None = None) -> str:
    full_env = dict(os.environ)
    full_env.update(env or {})
    # Server binaries must not inherit a client's connection defaults.
    for key in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE"):
        full_env.pop(key, None)
    result = subprocess.run(
        _as_server_user(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd="/",
        check=False,
    )
    if result.returncode != 0:
        raise PgError(
            f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def _format_setting(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class PgCluster:
    """One PostgreSQL data directory and the server that runs on it.

    ``root`` is a directory owned by the server user that holds ``data/``,
    ``socket/`` and ``server.log``. Build one with :meth:`create` (a new
    primary) or :meth:`create_standby` (a streaming copy of a running one).
    """

    def __init__(self, root: Path, port: int, *, password: str = DEFAULT_PASSWORD) -> None:
        self.root = root
        self.port = port
        self.password = password
        self.bin_dir = find_bin_dir()

    # -- layout ---------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    # -- creation -------------------------------------------------------------

    @classmethod
    def _make_root(cls, root: Path | None) -> Path:
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(root)
        # The server user must be able to reach the root through its parents
        # (pytest's tmp_path lives under a 0700 directory owned by root).
        parent = root.parent
        while parent != parent.parent:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
            parent = parent.parent
        return root

    @classmethod
    def create(
        cls,
        root: Path | None = None,
        *,
        settings: Mapping[str, Any] | None = None,
        pg_stat_statements: bool = False,
        password: str = DEFAULT_PASSWORD,
        port: int | None = None,
    ) -> PgCluster:
        """``initdb`` a new primary under ``root`` (a fresh temp dir if None).

        It will listen on ``port`` (a free one if None).

        ``settings`` are appended to ``postgresql.conf`` over
        :data:`BASE_SETTINGS`. With ``pg_stat_statements`` the library is
        preloaded; the extension itself still needs ``CREATE EXTENSION``.
        The server is not started: call :meth:`start`.
        """
        root = cls._make_root(root)
        cluster = cls(root, port or free_port(), password=password)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        _chown_to_server_user(pwfile)
        _run(
            [
                cluster._bin("initdb"),
                "-D", str(cluster.data_dir),
                "-U", SERVER_USER,
                "--pwfile", str(pwfile),
                "--auth-local", "trust",
                "--auth-host", "scram-sha-256",
                "--no-sync",
                "--no-instructions",
                "-E", "UTF8",
                "--locale", "C",
            ],
            timeout=120,
        )
        pwfile.unlink()
        merged: dict[str, Any] = {**BASE_SETTINGS, **(settings or {})}
        if pg_stat_statements:
            merged["shared_preload_libraries"] = "pg_stat_statements"
        cluster._append_settings(merged)
        # Replication over the socket without a password, as initdb's
        # defaults allow for ordinary databases.
        hba = cluster.data_dir / "pg_hba.conf"
        with hba.open("a") as handle:
            handle.write("local replication all trust\n")
        return cluster

    def _append_settings(self, settings: Mapping[str, Any]) -> None:
        settings = {
            **settings,
            "port": self.port,
            "unix_socket_directories": str(self.socket_dir),
        }
        with (self.data_dir / "postgresql.conf").open("a") as handle:
            handle.write("\n# vigil test cluster\n")
            for key, value in settings.items():
                handle.write(f"{key} = {_format_setting(value)}\n")
        if not self.socket_dir.exists():
            self.socket_dir.mkdir()
            _chown_to_server_user(self.socket_dir)

    def create_standby(
        self, root: Path | None = None, *, name: str = "standby", start: bool = True
    ) -> PgCluster:
        """Copy this running primary with ``pg_basebackup -R`` into a standby.

        The standby streams from the primary over the socket and reports
        ``name`` as its ``application_name`` (it appears in the primary's
        ``pg_stat_replication``).
        """
        root = self._make_root(root)
        standby = PgCluster(root, free_port(), password=self.password)
        _run(
            [
                self._bin("pg_basebackup"),
                "-D", str(standby.data_dir),
                "-h", str(self.socket_dir),
                "-p", str(self.port),
                "-U", SERVER_USER,
                "-X", "stream",
                "-R",
                "--no-sync",
                "-c", "fast",
            ],
            timeout=120,
        )
        standby._append_settings({"cluster_name": name})
        # primary_conninfo written by -R lacks application_name; the walreceiver
        # would then call itself "walreceiver" whatever cluster_name says.
        auto = standby.data_dir / "postgresql.auto.conf"
        lines = auto.read_text().splitlines()
        fixed = []
        for line in lines:
            if line.startswith("primary_conninfo = '") and line.endswith("'"):
                line = line[:-1] + f" application_name={name}'"
            fixed.append(line)
        auto.write_text("\n".join(fixed) + "\n")
        if start:
            standby.start()
        return standby

    # -- lifecycle ------------------------------------------------------------

    def start(self, *, timeout: float = 60) -> None:
        """Start the server and wait until it accepts connections."""
        _run(
            [
                self._bin("pg_ctl"), "start", "-w",
                "-t", str(int(timeout)),
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
            ],
            timeout=timeout + 10,
        )
        self.wait_ready(timeout=timeout)

    def stop(self, mode: str = "fast", *, timeout: float = 60) -> None:
        """Stop the server (``mode``: smart, fast or immediate)."""
        _run(
            [
                self._bin("pg_ctl"), "stop", "-w",
                "-t", str(int(timeout)),
                "-m", mode,
                "-D", str(self.data_dir),
            ],
            timeout=timeout + 10,
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        try:
            _run([self._bin("pg_ctl"), "status", "-D", str(self.data_dir)], timeout=10)
        except PgError:
            return False
        return True

    def wait_ready(self, *, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect():
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def destroy(self) -> None:
        """Stop the server if it runs and remove every file of the cluster."""
        if self.data_dir.exists() and self.is_running():
            with contextlib.suppress(PgError):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server log, for assertion messages."""
        try:
            return "\n".join(self.log_file.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    # -- connecting -----------------------------------------------------------

    def dsn(self, dbname: str = "postgres", user: str = SERVER_USER, *, tcp: bool = False) -> str:
        """A libpq connection string.

        The socket form needs no password (trusted). The TCP form goes to
        ``127.0.0.1:port`` and, like a remote client, needs a password that
        the caller supplies (the DSN carries none).
        """
        host = "127.0.0.1" if tcp else str(self.socket_dir)
        return f"host={host} port={self.port} dbname={dbname} user={user}"

    def connect(self, dbname: str = "postgres", *, autocommit: bool = True,
                **kwargs: Any) -> psycopg.Connection[Any]:
        """A psycopg connection over the socket (autocommit by default)."""
        return psycopg.connect(
            self.dsn(dbname), autocommit=autocommit, connect_timeout=5, **kwargs
        )

    def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, dbname: str = "postgres"
    ) -> list[tuple[Any, ...]]:
        """Run one statement in its own autocommit connection, like ``psql -c``.

        Returns the rows (empty when the statement returns none).
        """
        with self.connect(dbname) as conn, conn.cursor() as cur:
            cur.execute(sql, params)  # type: ignore[arg-type]
            return list(cur.fetchall()) if cur.description else []

    def scalar(self, sql: str, params: Sequence[Any] | None = None, *,
               dbname: str = "postgres") -> Any:
        """The first column of the first row of ``sql``."""
        rows = self.execute(sql, params, dbname=dbname)
        return rows[0][0] if rows else None

    def create_database(self, name: str) -> None:
        self.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def running_cluster(
    root: Path | None = None, **create_kwargs: Any
) -> Iterator[PgCluster]:
    """Create and start a primary for the duration of a ``with`` block."""
    cluster = PgCluster.create(root, **create_kwargs)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
