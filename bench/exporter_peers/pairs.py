"""The four comparisons: how each side is configured and started.

Both sides of a pair read the same source: the same host, the same
PostgreSQL cluster and DSN, the same local URL, the same SQL queries on the
same database. The `matched` profile switches the peers to the subset of
collectors Vigil's exporter covers, so neither side is measured doing work
the other does not do; `stock` runs the peers with their package defaults.
"""

from __future__ import annotations

import subprocess
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from . import peers, vigil_configs
from .context import BenchContext

# node_exporter collectors that cover what `vigil exporter host` reports
# (CPU, memory and swap, filesystems, disk I/O, network, load).
NODE_MATCHED_COLLECTORS = ("cpu", "meminfo", "filesystem", "diskstats", "netdev", "loadavg")


@dataclass
class Side:
    """One exporter process of a pair, and where to scrape it."""

    role: str  # "vigil" or "peer"
    label: str
    argv: list[str]
    port: int
    scrape_path: str = "/metrics"
    ready_path: str = "/metrics"
    env: dict[str, str] = field(default_factory=dict)
    # Sample-line prefixes a scrape must contain once warmed up: proof that the
    # exporter really reads its source, so nobody is timed serving an error.
    expect: tuple[str, ...] = ()


class Unavailable(RuntimeError):
    """This side cannot run here yet (not built, not installed); the pair is skipped."""


@dataclass(frozen=True)
class PairDef:
    name: str
    peer: peers.Peer
    build_peer: Callable[[BenchContext, int], Side]
    build_vigil: Callable[[BenchContext, int], Side]
    same_source: str
    scrape_work: str  # what one scrape costs on each side, stated with the figures


_PROBE = (
    "import importlib, sys\n"
    "try:\n"
    "    module = importlib.import_module('exporters.' + sys.argv[1])\n"
    "except ModuleNotFoundError as exc:\n"
    "    sys.exit(f'module {exc.name} not found')\n"
    "if not callable(getattr(module, 'build', None)):\n"
    "    sys.exit('no build() yet')\n"
)


def vigil_available(ctx: BenchContext, exporter: str) -> None:
    """Raise Unavailable unless the exporter's package imports and has its build().

    `vigil exporter NAME --help` answers for every name as soon as the command
    exists, so the check imports the package with the venv's interpreter.
    """
    if not ctx.vigil.exists():
        raise Unavailable(f"{ctx.vigil} not found (create the venv: pip install -e .)")
    python = ctx.vigil.parent / "python"
    try:
        result = subprocess.run(
            [str(python), "-c", _PROBE, exporter],
            capture_output=True, text=True, timeout=60, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"importing exporters.{exporter} took over 60 s") from exc
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise Unavailable(f"`vigil exporter {exporter}` is not available yet: {last[0]}")


def _vigil_side(ctx: BenchContext, exporter: str, port: int, config_text: str,
                expect: tuple[str, ...], env: dict[str, str] | None = None) -> Side:
    config = ctx.file(f"vigil-{exporter}.yml", config_text)
    return Side(
        role="vigil",
        label=f"vigil exporter {exporter}",
        argv=[str(ctx.vigil), "exporter", exporter, "--config", str(config),
              "--web.listen-address", f"127.0.0.1:{port}"],
        port=port,
        env=env or {},
        expect=expect,
    )


def _peer_label(peer: peers.Peer) -> str:
    return f"{peer.upstream} {peers.package_version(peer.package) or '?'}"


def _pg_uri(ctx: BenchContext, dbname: str) -> str:
    cluster = ctx.pg()
    password = urllib.parse.quote(cluster.password, safe="")
    # "postgres://": sql_exporter picks its database driver by the URL scheme.
    return f"postgres://postgres:{password}@127.0.0.1:{cluster.port}/{dbname}?sslmode=disable"


# -- host ---------------------------------------------------------------------

def host_peer(ctx: BenchContext, port: int) -> Side:
    argv = [peers.NODE.binary, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    if ctx.profile == "matched":
        argv.append("--collector.disable-defaults")
        argv += [f"--collector.{name}" for name in NODE_MATCHED_COLLECTORS]
    return Side("peer", _peer_label(peers.NODE), argv, port,
                expect=("node_cpu_seconds_total{", "node_filesystem_avail_bytes{"))


def host_vigil(ctx: BenchContext, port: int) -> Side:
    return _vigil_side(ctx, "host", port, vigil_configs.host(),
                       ("vigil_host_cpu_seconds_total{", "vigil_host_filesystem_avail_bytes{"))


# -- postgres -----------------------------------------------------------------

def postgres_peer(ctx: BenchContext, port: int) -> Side:
    argv = [peers.POSTGRES.binary, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    if ctx.profile == "matched":
        # Vigil reads max_connections only, not every pg_settings row.
        argv.append("--disable-settings-metrics")
    env = {"DATA_SOURCE_NAME": _pg_uri(ctx, "postgres")}
    return Side("peer", _peer_label(peers.POSTGRES), argv, port, env=env,
                expect=("pg_up 1", "pg_stat_database_xact_commit{"))


def postgres_vigil(ctx: BenchContext, port: int) -> Side:
    cluster = ctx.pg()
    text, env = vigil_configs.postgres(cluster.port, cluster.password, ctx.interval)
    return _vigil_side(ctx, "postgres", port, text,
                       ("vigil_pg_up 1", "vigil_pg_xact_commit_total{"), env)


# -- http ---------------------------------------------------------------------

BLACKBOX_MODULE = "http_2xx"


def http_peer(ctx: BenchContext, port: int) -> Side:
    config = ctx.file("blackbox.yml", yaml.safe_dump({
        "modules": {
            BLACKBOX_MODULE: {
                "prober": "http",
                "timeout": "5s",
                "http": {"preferred_ip_protocol": "ip4", "method": "GET"},
            }
        }
    }))
    target = ctx.http_target()
    query = urllib.parse.urlencode({"target": target, "module": BLACKBOX_MODULE})
    argv = [peers.BLACKBOX.binary, f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return Side("peer", _peer_label(peers.BLACKBOX), argv, port, scrape_path=f"/probe?{query}",
                expect=("probe_success 1", "probe_http_status_code 200"))


def http_vigil(ctx: BenchContext, port: int) -> Side:
    return _vigil_side(
        ctx, "http", port, vigil_configs.http(ctx.http_target(), ctx.interval),
        (f'vigil_http_probe_success{{target="{vigil_configs.HTTP_TARGET}"}} 1',
         f'vigil_http_probe_status_code{{target="{vigil_configs.HTTP_TARGET}"}} 200'),
    )


# -- sql ----------------------------------------------------------------------

SQL_DATABASE = "vigil_bench_shop"


def _shop_database(ctx: BenchContext) -> str:
    """Create and fill the demo shop database once per run."""
    cluster = ctx.pg()
    if not getattr(ctx, "_shop_ready", False):
        vigil_configs.load_shop(cluster, SQL_DATABASE)
        ctx._shop_ready = True  # type: ignore[attr-defined]
    return SQL_DATABASE


def sql_peer(ctx: BenchContext, port: int) -> Side:
    dbname = _shop_database(ctx)
    queries = vigil_configs.sql_queries()
    config = ctx.file("sql-exporter.yml", yaml.safe_dump({
        "jobs": [{
            "name": "vigil_bench",
            "interval": f"{round(ctx.interval * 1000)}ms",
            "connections": [_pg_uri(ctx, dbname)],
            "queries": [q.as_sql_exporter() for q in queries],
        }]
    }, sort_keys=False))
    argv = [peers.SQL.binary, f"-config.file={config}", f"-web.listen-address=127.0.0.1:{port}"]
    expect = tuple(f"sql_{q.name}{{" for q in queries if q.always_present)
    return Side("peer", _peer_label(peers.SQL), argv, port, expect=expect)


def sql_vigil(ctx: BenchContext, port: int) -> Side:
    dbname = _shop_database(ctx)
    cluster = ctx.pg()
    text, env = vigil_configs.sql(cluster.port, cluster.password, dbname, ctx.interval)
    expect = tuple(f"{q.name} " for q in vigil_configs.sql_queries() if q.always_present)
    return _vigil_side(ctx, "sql", port, text, expect, env)


PAIRS: dict[str, PairDef] = {
    "host": PairDef(
        "host", peers.NODE, host_peer, host_vigil, "this machine's /proc and /sys",
        "both read the kernel counters during every scrape",
    ),
    "postgres": PairDef(
        "postgres", peers.POSTGRES, postgres_peer, postgres_vigil,
        "one throwaway PostgreSQL cluster, same DSN",
        "postgres_exporter queries the server during every scrape; Vigil queries it every "
        "--interval in the background and a scrape serves the last result",
    ),
    "http": PairDef(
        "http", peers.BLACKBOX, http_peer, http_vigil, "one local static HTTP server, same URL",
        "blackbox_exporter probes the URL during every /probe scrape; Vigil probes it every "
        "--interval in the background and a scrape serves the last result",
    ),
    "sql": PairDef(
        "sql", peers.SQL, sql_peer, sql_vigil, "the demo shop database, the same queries",
        "both run the queries every --interval in the background and a scrape serves the "
        "last result",
    ),
}
