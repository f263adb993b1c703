"""`vigil demo`: start the whole stack on a simulated shop and show it live.

Starts :class:`~generator.demo.stack.Stack`, prints how long it took until every
scrape target was up, runs the :class:`~generator.demo.workload.Workload` (steady
traffic and the trouble schedule) and draws :mod:`generator.demo.summary` once a
second until Ctrl-C or the end of ``--duration``. Either way every process it
started is stopped and its run directory removed; an unattended run then prints what
fired and what was received.

Exit codes: 0 after a normal end or Ctrl-C, 1 when the stack cannot start (the message
says which part and why), 3 when another demo is running on the same run directory.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from generator.units import UnitError, parse_duration

EXIT_FAILED = 1
EXIT_ACTIVE = 3
MAX_DURATION = 7 * 86400.0


def default_run_dir() -> Path:
    """One per user, so a second run finds the first one's pid file."""
    return Path(tempfile.gettempdir()) / f"vigil-demo-{os.getuid()}"


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except UnitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0 < seconds <= MAX_DURATION:
        raise argparse.ArgumentTypeError(f"expected a duration above 0 and at most 7d, got {text!r}")
    return seconds


def _interval(text: str) -> float:
    seconds = _duration(text)
    if not 1 <= seconds <= 60:
        raise argparse.ArgumentTypeError(f"expected an interval from 1s to 60s, got {text!r}")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `vigil demo` (also used by generator/cli.py)."""
    parser.add_argument("--duration", type=_duration, default=None,
                        help="run unattended for this long (e.g. 10m), then stop and print "
                             "what fired and what was received; default: until Ctrl-C")
    ports = parser.add_mutually_exclusive_group()
    ports.add_argument("--port-base", type=int, default=None,
                       help="listen on this block of ports (default 19730: Prometheus on "
                            "+60, Alertmanager +63, exporters +1..+4, receiver +10)")
    ports.add_argument("--free-ports", action="store_true",
                       help="pick any free ports instead of a fixed block")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help=f"where configs, data and logs live while it runs "
                             f"(default {default_run_dir()}); removed at the end")
    parser.add_argument("--scrape-interval", type=_interval, default=5.0,
                        help="Prometheus scrape interval (default 5s)")
    parser.add_argument("--evaluation-interval", type=_interval, default=5.0,
                        help="Prometheus rule evaluation interval (default 5s)")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from generator.demo import summary
    from generator.demo.stack import DEFAULT_PORT_BASE, ActiveRunError, Ports, Stack, StackError
    from generator.demo.workload import Workload

    console = Console()
    err = Console(stderr=True)
    try:
        ports = Ports.free() if args.free_ports else Ports.from_base(
            DEFAULT_PORT_BASE if args.port_base is None else args.port_base)
    except StackError as exc:
        err.print(f"vigil demo: {exc}", style="bold red", highlight=False)
        return EXIT_FAILED
    stack = Stack(args.run_dir or default_run_dir(), ports,
                  scrape_interval=args.scrape_interval,
                  evaluation_interval=args.evaluation_interval)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # stop cleanly on kill too
    workload = None
    interrupted = False
    try:
        console.print(f"vigil demo: starting in {stack.run_dir}", highlight=False)
        stack.start(on_step=lambda text: console.print(f"  - {text}", highlight=False))
        console.print(f"vigil demo: all {len(stack.targets())} targets up in "
                      f"{stack.startup_seconds:.1f}s", style="bold green", highlight=False)
        console.print(f"vigil demo: the operations report of this run: vigil report --period 1d "
                      f"--spec {stack.spec_path} --prometheus {stack.prometheus_url} "
                      f"--incidents '{stack.incidents_dsn}' --out report.html --pdf report.pdf",
                      highlight=False, markup=False, soft_wrap=True)
        workload = Workload(stack)
        workload.start()
        started = time.monotonic()
        with Live(console=console, refresh_per_second=2, transient=False) as live:
            while args.duration is None or time.monotonic() - started < args.duration:
                live.update(summary.render(summary.collect(stack, workload, started,
                                                           args.duration)))
                time.sleep(1.0)
        final = summary.collect(stack, workload, started, args.duration)
        console.print(summary.final_report(final), highlight=False, markup=False)
    except ActiveRunError as exc:
        err.print(f"vigil demo: {exc}", style="bold red", highlight=False)
        return EXIT_ACTIVE
    except StackError as exc:
        err.print(f"vigil demo: could not start: {exc}", style="bold red", highlight=False)
        return EXIT_FAILED
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            if workload is not None:
                workload.stop()
            if stack.claimed:
                console.print("vigil demo: stopping every process it started", highlight=False)
            stack.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
    if interrupted:
        console.print("vigil demo: stopped; run directory removed", highlight=False)
    else:
        console.print("vigil demo: done; run directory removed", highlight=False)
    return 0


def cli(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (``python -m generator.demo.run``), same flags as `vigil demo`."""
    parser = argparse.ArgumentParser(prog="vigil demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(cli())
