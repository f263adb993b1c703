"""Side-by-side benchmark: each Vigil exporter against its Go peer, same run, same sources.

Pairs: host vs prometheus-node-exporter, postgres vs prometheus-postgres-exporter,
http vs prometheus-blackbox-exporter, sql vs prometheus-sql-exporter.

For each pair both exporters are started on 127.0.0.1, warmed up, and then
scraped N times in turn (alternating which goes first) over one keep-alive
connection each, with the headers Prometheus sends. Reported per exporter:
median and p99 scrape latency, CPU seconds per 1,000 scrapes (utime+stime of
the exporter's process tree from /proc/<pid>/stat, before/after the measured
scrapes, so background work such as periodic probes or queries is included),
and resident memory (VmRSS and peak VmHWM from /proc/<pid>/status). Targets:
Vigil's median latency at or below the peer's, Vigil's peak RSS at most 1.5x
the peer's.

Run it with the project's venv, as root if the peers may need installing:

    .venv/bin/python bench/exporters_bench.py [--scrapes 500] [--pairs host,sql]

Everything the script starts (exporters, a throwaway PostgreSQL cluster, a
static HTTP server) is stopped on exit, on error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from exporter_peers import peers, report
from exporter_peers.context import BenchContext
from exporter_peers.pairs import PAIRS, PairDef, Side, Unavailable, vigil_available
from exporter_peers.pgcluster import REPO_ROOT, free_port
from exporter_peers.procs import (
    ManagedProcess,
    StartError,
    cpu_seconds,
    memory,
    python_rss_floor,
)
from exporter_peers.scrape import LatencySeries, ScrapeError, Scraper
from exporter_peers.vigil_configs import NotYet

MAX_SCRAPES = 100_000


def _positive_int(limit: int):
    def parse(text: str) -> int:
        value = int(text)
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"expected 1..{limit}, got {value}")
        return value

    return parse


def _seconds(minimum: float, maximum: float = 3600.0):
    def parse(text: str) -> float:
        value = float(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"expected {minimum:g}..{maximum:g} s, got {text}")
        return value

    return parse


def _pairs(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PAIRS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown pair(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(PAIRS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exporters_bench.py",
        description=__doc__.split("\n\n", 1)[0],
        epilog="Figures and the command line are written to bench/RESULTS.md (between the "
               "generated markers; the rest of the file is kept).",
    )
    parser.add_argument("--pairs", type=_pairs, default=list(PAIRS),
                        help=f"comma-separated pairs to run (default: {','.join(PAIRS)})")
    parser.add_argument("--scrapes", type=_positive_int(MAX_SCRAPES), default=500,
                        help="measured scrapes per exporter (default: 500)")
    parser.add_argument("--warmup", type=_positive_int(10_000), default=50,
                        help="unmeasured scrapes per exporter before measuring (default: 50)")
    parser.add_argument("--settle", type=_seconds(0), default=3.0,
                        help="seconds to wait after both exporters answer, so first background "
                             "probes/queries finish before warm-up (default: 3)")
    parser.add_argument("--interval", type=_seconds(1), default=15.0,
                        help="probe/query interval in seconds for the http and sql pairs, "
                             "the same on both sides (default: 15)")
    parser.add_argument("--max-seconds", type=_seconds(1), default=300.0,
                        help="time budget per pair; measuring stops early (and says so) when it "
                             "runs out (default: 300)")
    parser.add_argument("--start-timeout", type=_seconds(1), default=30.0,
                        help="seconds to wait for each process to answer (default: 30)")
    parser.add_argument("--profile", choices=("matched", "stock"), default="matched",
                        help="matched: peers limited to the collectors Vigil covers "
                             "(node_exporter: cpu, meminfo, filesystem, diskstats, netdev, loadavg; "
                             "postgres_exporter: no pg_settings); stock: package defaults "
                             "(default: matched)")
    parser.add_argument("--no-gzip", action="store_true",
                        help="do not send Accept-Encoding: gzip (Prometheus does send it)")
    parser.add_argument("--no-keepalive", action="store_true",
                        help="open a new connection for every scrape (Prometheus keeps it open; "
                             "a diagnostic that separates per-connection effects such as "
                             "Nagle/delayed-ACK stalls from the cost of collecting)")
    parser.add_argument("--vigil", type=Path, default=REPO_ROOT / ".venv" / "bin" / "vigil",
                        help="the vigil command (default: the repository's .venv)")
    parser.add_argument("--no-install", action="store_true",
                        help="never apt-get install missing peers (by default they are "
                             "installed when running as root)")
    parser.add_argument("--peers-only", action="store_true",
                        help="measure the peer even when the Vigil exporter is not available "
                             "(checks the harness; no comparison is made)")
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "bench" / "RESULTS.md",
                        help="where to write the figures (default: bench/RESULTS.md)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    return parser


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


class _Running:
    """A started side: its process, its scraper and its measured figures."""

    def __init__(self, side: Side, process: ManagedProcess, args: argparse.Namespace) -> None:
        self.side = side
        self.process = process
        self.scraper = Scraper(side.port, side.scrape_path, use_gzip=not args.no_gzip,
                               keepalive=not args.no_keepalive)
        self.series = LatencySeries()
        self.samples = 0
        self.cpu_start = 0.0


def _start_side(ctx: BenchContext, pair: PairDef, role: str, stack: contextlib.ExitStack,
                args: argparse.Namespace) -> _Running:
    builder = pair.build_vigil if role == "vigil" else pair.build_peer
    side = builder(ctx, free_port())
    process = ManagedProcess(side.label, side.argv, ctx.workdir / f"{pair.name}-{role}.log",
                             env=side.env)
    stack.callback(process.stop)
    process.start()
    running = _Running(side, process, args)
    stack.callback(running.scraper.close)
    return running


def measure_pair(ctx: BenchContext, pair: PairDef, args: argparse.Namespace) -> report.PairResult:
    """Start both sides, scrape them in turn, and read their /proc figures."""
    result = report.PairResult(pair.name, pair.same_source)
    roles = ["vigil", "peer"]
    try:
        vigil_available(ctx, pair.name)
    except Unavailable as exc:
        if not args.peers_only:
            result.skipped = str(exc)
            return result
        result.notes.append(f"vigil side not measured: {exc}")
        roles = ["peer"]
    deadline = time.monotonic() + args.max_seconds
    with contextlib.ExitStack() as stack:
        try:
            sides = [_start_side(ctx, pair, role, stack, args) for role in roles]
        except NotYet as exc:
            result.skipped = f"vigil config for {exc} not written yet"
            return result
        for running in sides:
            running.process.wait_http_ready(running.side.port, running.side.ready_path,
                                            ctx.start_timeout)
        time.sleep(max(0.0, args.settle))
        for _ in range(args.warmup):
            for running in sides:
                running.scraper.scrape()
            if time.monotonic() > deadline:
                raise TimeoutError(f"--max-seconds ran out during warm-up of {pair.name}")
        for running in sides:
            lines = running.scraper.samples()
            absent = [want for want in running.side.expect
                      if not any(line.startswith(want) for line in lines)]
            if absent:
                raise StartError(f"{running.side.label} does not serve {', '.join(absent)}: it "
                                 f"is not reading its source. Log:\n{running.process.log_tail()}")
            running.samples = len(lines)
        for running in sides:
            running.cpu_start = cpu_seconds(running.process.pid)
        max_errors = 5 + args.scrapes // 100
        for i in range(args.scrapes):
            for running in sides if i % 2 == 0 else reversed(sides):
                try:
                    running.series.add(*running.scraper.scrape())
                except ScrapeError as exc:
                    running.series.errors += 1
                    if running.series.errors > max_errors or running.process.exited() is not None:
                        raise ScrapeError(f"{running.side.label}: {exc}\n"
                                          f"{running.process.log_tail()}") from exc
            if time.monotonic() > deadline:
                result.notes.append(f"time budget of {args.max_seconds:.0f} s ran out after "
                                    f"{i + 1} of {args.scrapes} scrapes")
                break
        for running in sides:
            used = cpu_seconds(running.process.pid) - running.cpu_start
            mem = memory(running.process.pid)
            side_result = report.SideResult(
                role=running.side.role, label=running.side.label, latency=running.series,
                cpu_seconds=used, samples_per_scrape=running.samples,
                rss_bytes=mem.rss_bytes, hwm_bytes=mem.hwm_bytes,
                anon_bytes=mem.anon_bytes, file_bytes=mem.file_bytes,
            )
            if running.series.errors:
                result.notes.append(f"{running.side.label}: {running.series.errors} failed scrapes")
            setattr(result, running.side.role, side_result)
    result.notes.insert(0, pair.scrape_work)
    if result.vigil is not None:
        result.notes.append(_python_floor_note(ctx, pair.name))
    return result


def _python_floor_note(ctx: BenchContext, exporter: str) -> str:
    """How much of the Vigil side's RSS is there before it collects anything."""
    python = ctx.vigil.parent / "python"
    bare = python_rss_floor(python, [])
    loaded = python_rss_floor(python, ["exporters.cli", f"exporters.{exporter}"])
    if bare is None or loaded is None:
        return "could not measure the CPython floor"
    return (f"CPython floor: a bare interpreter is {report.mib(bare)} MiB RSS; after importing "
            f"exporters.cli and exporters.{exporter} (before collecting) {report.mib(loaded)} MiB")


def _command_line(argv: Sequence[str]) -> str:
    exe = Path(sys.executable)
    with contextlib.suppress(ValueError):
        exe = exe.relative_to(REPO_ROOT)
    return shlex.join([str(exe), "bench/exporters_bench.py", *argv])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Also when started in the background, where the shell hands SIGINT down ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    selected = [PAIRS[name] for name in args.pairs]
    for message in peers.ensure_installed([p.peer for p in selected], not args.no_install):
        print(message, file=sys.stderr)

    load_at_start = report.load_text(os.getloadavg())
    ctx = BenchContext(args.vigil, args.start_timeout, args.profile, args.interval)
    results: list[report.PairResult] = []
    failed = False
    try:
        for pair in selected:
            if shutil.which(pair.peer.binary) is None:
                results.append(report.PairResult(pair.name, pair.same_source,
                                                 skipped=f"{pair.peer.package} is not installed"))
                continue
            print(f"== {pair.name}: {args.scrapes} scrapes each ...", flush=True)
            try:
                results.append(measure_pair(ctx, pair, args))
            except (StartError, ScrapeError, TimeoutError, OSError, RuntimeError) as exc:
                failed = True
                results.append(report.PairResult(pair.name, pair.same_source,
                                                 skipped=f"error: {exc}"))
            for verdict in results[-1].verdicts():
                print(f"   {verdict}", flush=True)
    except KeyboardInterrupt:
        print("interrupted: stopping every process the benchmark started", file=sys.stderr)
        return 130
    finally:
        ctx.close()

    print()
    print(report.text_table(results))
    measured = any(r.peer or r.vigil for r in results)
    if not args.no_write and measured:
        block = report.markdown_block(
            results,
            command=_command_line(argv),
            date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            facts={**report.machine_facts(args.vigil, REPO_ROOT),
                   "load average at the start (1/5/15 min)": load_at_start},
            peer_versions={p.peer.package: peers.package_version(p.peer.package) or "not installed"
                           for p in selected},
            settings={
                "pairs": ",".join(args.pairs), "scrapes": str(args.scrapes),
                "warm-up": str(args.warmup), "profile": args.profile,
                "interval": f"{args.interval:g} s", "gzip": str(not args.no_gzip).lower(),
                "keep-alive": str(not args.no_keepalive).lower(),
            },
        )
        report.write_results(args.results, block)
        print(f"\nwritten to {args.results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
