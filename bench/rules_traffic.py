"""Synthetic request counters for the rules benchmark: 30 days of history, then live.

Every raw series is a request counter with a known curve (a steady rate with a daily
wave of ±30 %), so three things agree exactly: the backfilled raw history
(`promtool tsdb create-blocks-from openmetrics`), the recorded series a rule set needs
history of (computed here from the same curves, as the rules would have recorded them),
and the live `/metrics` endpoint Prometheus scrapes during the run, which continues
every counter from where its history ends.

Resolution (the benchmark states it with its results), chosen so that generating the
data and the whole run fit half an hour on two cores: raw samples every minute for the
last 3 days (every raw window of the rule sets except Pyrra's 4d and 30d reads only
these), every 30 minutes before; series recorded every evaluation every 30 s for the
last 3 days and every 30 minutes before; Vigil's tiles every 5 minutes (the last 3
days, all its 5-minute tiles are read for) and every hour. The coarse past makes the
peers' month-long reads cheaper than on a Prometheus that kept every sample for 30
days, never dearer.

Blocks are written one time slice at a time, each slice aligned to the block length
promtool uses for it, so no two blocks overlap and Prometheus never has to compact
them while it is being measured.
"""

from __future__ import annotations

import math
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

METRIC = "bench_requests_total"
DAY = 86400
HISTORY = 30 * DAY
FINE = 3 * DAY  # the recent part kept at scrape resolution
SCRAPE = 60  # Prometheus's default scrape interval
COARSE = 1800
EVALUATION = 30
WAVE = 0.3  # relative amplitude of the daily wave
ENV = {"environment": "production", "job": "bench", "instance": "bench-0"}
# Slice lengths promtool's block ranges allow (2h × 3^k): 18h for the fine part,
# 162h (nine of them) for the coarse past.
FINE_SLICE = 18 * 3600
COARSE_SLICE = 162 * 3600


PHASES = {"2xx": 0.0, "5xx": 1.0}  # the errors' wave is shifted: their ratio varies


def shape(seconds: float, phase: float) -> float:
    """Requests per unit of rate `seconds` after the history starts (never decreasing)."""
    return seconds + WAVE * DAY / (2 * math.pi) * (math.sin(2 * math.pi * seconds / DAY + phase)
                                                   - math.sin(phase))


@dataclass(frozen=True)
class Counter:
    """One raw series: name, labels, mean rate (requests a second), phase of its wave."""

    labels: tuple[tuple[str, str], ...]
    rate: float
    phase: float = 0.0
    name: str = METRIC

    def value(self, seconds: float) -> float:
        return self.rate * shape(seconds, self.phase)


@dataclass
class Service:
    """The raw counters behind one SLO: its name and which of them count errors."""

    name: str
    counters: list[Counter] = field(default_factory=list)

    def errors(self) -> list[Counter]:
        return [c for c in self.counters if dict(c.labels)["status_class"] == "5xx"]


def service(name: str, series: int) -> Service:
    """`series` counters for one service: pods × routes, one in ten of them 5xx.

    With 3 series (the SLO-count axis): two pods' 2xx and one pod's 5xx. With one
    series there are no errors at all (the error selectors select nothing).
    """
    result = Service(name)
    for j in range(series):
        status = "5xx" if (series == 3 and j == 2) or (series > 3 and j % 10 == 9) else "2xx"
        rate = (1.0 + j % 5) * (0.002 if status == "5xx" else 1.0)
        labels = (("service", name), ("pod", f"p{j // 10}"), ("route", f"/r{j % 10}"),
                  ("status_class", status), *ENV.items())
        result.counters.append(Counter(tuple(sorted(labels)), rate, PHASES[status]))
    return result


Mix = tuple[tuple[float, float], ...]  # (phase, summed rate) of some counters


def mix(counters: list[Counter]) -> Mix:
    by_phase: dict[float, float] = {}
    for c in counters:
        by_phase[c.phase] = by_phase.get(c.phase, 0.0) + c.rate
    return tuple(sorted(by_phase.items()))


@dataclass(frozen=True)
class Recorded:
    """A recorded series to backfill: the rate of `num` over `window` (÷ that of `den`)."""

    name: str
    labels: tuple[tuple[str, str], ...]
    spacing: Callable[[float], int]  # seconds between samples, by age (seconds before the end)
    span: float  # how far back it goes
    window: float
    num: Mix
    den: Mix | None = None
    timestamp: bool = False  # the value is the sample's own time


def every_evaluation(age: float) -> int:
    return EVALUATION if age <= FINE else COARSE


def vigil_recorded(services: list[Service], selectors: dict[str, str]) -> list[Recorded]:
    """What Vigil's rules record and read back: 5m rates, 5-minute and hourly tiles."""
    result = []
    for s in services:
        labels = tuple(sorted({"slo": s.name, **selectors}.items()))
        for kind, counters in (("errors", s.errors()), ("total", s.counters)):
            m = mix(counters)
            result += [
                Recorded(f"vigil_slo:{kind}:rate5m", labels, every_evaluation, 7 * 3600, 300, m),
                Recorded(f"vigil_slo:{kind}:rate_tile5m", labels, lambda _: 300, FINE + 3600, 300,
                         m),
                Recorded(f"vigil_slo:{kind}:rate_tile1h", labels, lambda _: 3600, HISTORY, 3600, m),
            ]
        result.append(Recorded("vigil_slo:tile1h:timestamp_seconds", labels, lambda _: 3600,
                               HISTORY, 0, (), timestamp=True))
    return result


def sloth_recorded(services: list[Service]) -> list[Recorded]:
    """Sloth's 5m error ratio, which its 30-day ratio averages."""
    return [Recorded("slo:sli_error:ratio_rate5m",
                     tuple(sorted({"sloth_id": f"bench-{s.name}", "sloth_service": "bench",
                                   "sloth_slo": s.name, "sloth_window": "5m"}.items())),
                     every_evaluation, HISTORY, 300, mix(s.errors()), mix(s.counters))
            for s in services if s.errors()]


@dataclass(frozen=True)
class AroundOffsets:
    """A spacing dense only near the ages an offset reads (for a run within two hours of
    the end of the history), coarse elsewhere: an anomaly band reads its hourly means at
    a few offsets only, so weeks of them at full resolution would be data nobody reads.
    Coarse enough steps never jump a dense window (COARSE < its two hours)."""

    offsets: tuple[float, ...]
    dense: int = 60

    @property
    def key(self) -> tuple[float, ...]:
        return self.offsets

    def __call__(self, age: float) -> int:
        near = any(o - 2 * 3600 <= age <= o + 600 for o in self.offsets)
        return self.dense if near else COARSE


def signal_recorded(series: list[tuple[str, tuple[tuple[str, str], ...], float]],
                    lookback: float, offsets: tuple[float, ...]) -> list[Recorded]:
    """What forecasts and anomaly bands read back, for signals `(name, labels, rate)`:
    the recorded signal over the forecast's lookback and the offset it compares with,
    and its hourly mean and deviation at the bands' offsets."""
    result = []
    for name, labels, rate in series:
        level = ((0.0, rate),)
        result.append(Recorded(f"vigil:{name}", labels, every_evaluation, lookback + 7200, 300,
                               level))
        for stat in ("avg_1h", "stddev_1h"):
            result.append(Recorded(f"vigil:{name}:{stat}", labels, AroundOffsets(offsets),
                                   max(offsets) + 7200, 3600, level))
    return result


def _text(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


def _times(start: int, end: int, spacing: Callable[[float], int], last: int) -> list[int]:
    """Sample times in [start, end) on the grid each age's spacing defines."""
    times = []
    t = start
    while t < end:
        step = spacing(last - t)
        t = -(-t // step) * step  # next multiple of the spacing
        if t < end:
            times.append(t)
        t += step
    return times


class _Rates:
    """Per-slice cache: the rate of one unit of each phase over a window, at each time."""

    def __init__(self, origin: int) -> None:
        self.origin = origin
        self.cache: dict[tuple[float, float, int, int], list[float]] = {}

    def of(self, m: Mix, window: float, times: list[int]) -> list[float]:
        total = [0.0] * len(times)
        for phase, rate in m:
            key = (phase, window, times[0], len(times))
            if key not in self.cache:
                self.cache[key] = [
                    (shape(t - self.origin, phase) - shape(max(t - self.origin - window, 0), phase))
                    / window for t in times]
            total = [a + rate * b for a, b in zip(total, self.cache[key], strict=True)]
        return total


def _lines(name: str, samples: list[str]) -> str:
    """`name` before each of `samples` (" value timestamp"), one line each."""
    return name + f"\n{name}".join(samples) + "\n" if samples else ""


def write_slice(path: Path, start: int, end: int, origin: int, last: int,
                counters: list[Counter], recorded: list[Recorded]) -> int:
    """One OpenMetrics file with every sample in [start, end) (Unix seconds); the count.

    `origin` is when the history starts, `last` when it ends (the newest sample). Series
    with the same curve share their formatted samples: the SLOs of the count axis all
    have the same counters, so each curve is formatted once per slice.
    """
    written = 0
    rates = _Rates(origin)
    formatted: dict[tuple[object, ...], list[str]] = {}
    with path.open("w") as out:
        out.write(f"# TYPE {METRIC.removesuffix('_total')} counter\n")
        times = _times(start, min(end, last + 1), lambda age: SCRAPE if age <= FINE else COARSE,
                       last)
        shapes = {phase: [shape(t - origin, phase) for t in times] for phase in PHASES.values()}
        for c in counters:
            key = ("raw", c.rate, c.phase)
            if key not in formatted:
                formatted[key] = [f" {c.rate * x:.4f} {t}"
                                  for x, t in zip(shapes[c.phase], times, strict=True)]
            out.write(_lines(_text(c.name, c.labels), formatted[key]))
            written += len(times)
        for family in sorted({r.name for r in recorded}):
            out.write(f"# TYPE {family} gauge\n")
            for r in (r for r in recorded if r.name == family):
                if not r.num and not r.timestamp:
                    continue
                key = (r.spacing(0), r.spacing(FINE + 1), getattr(r.spacing, "key", None),
                       r.span, r.window, r.num, r.den, r.timestamp)
                if key not in formatted:
                    times = _times(max(start, last - int(r.span)), min(end, last + 1), r.spacing,
                                   last)
                    values = rates.of(r.num, r.window, times) if times and r.num else []
                    if r.timestamp:
                        pairs = [(float(t), t) for t in times]
                    elif r.den is not None:  # a ratio: none before the first request
                        pairs = [(v / d, t) for v, d, t in zip(
                            values, rates.of(r.den, r.window, times), times, strict=True) if d > 0]
                    else:
                        pairs = list(zip(values, times, strict=True))
                    formatted[key] = [f" {v:.10g} {t}" for v, t in pairs]
                out.write(_lines(_text(r.name, r.labels), formatted[key]))
                written += len(formatted[key])
        out.write("# EOF\n")
    return written


def slices(origin: int, last: int) -> list[tuple[int, int, int]]:
    """(start, end, block length) of aligned slices covering [origin, last]."""
    result = []
    fine_from = (last - FINE) // COARSE_SLICE * COARSE_SLICE  # a boundary of both lengths
    t = origin // COARSE_SLICE * COARSE_SLICE
    while t < fine_from:
        result.append((max(t, origin), t + COARSE_SLICE, COARSE_SLICE))
        t += COARSE_SLICE
    t = fine_from
    while t <= last:
        result.append((max(t, origin), t + FINE_SLICE, FINE_SLICE))
        t += FINE_SLICE
    return result


def backfill(data: Path, scratch: Path, origin: int, last: int, counters: list[Counter],
             recorded: list[Recorded], log: Callable[[str], None]) -> int:
    """Write every slice and turn it into blocks in `data`: the number of samples.

    Slices are written while promtool imports the previous ones (two at a time).
    """
    total = 0
    pending: list[tuple[subprocess.Popen[bytes], Path]] = []
    for i, (start, end, length) in enumerate(slices(origin, last)):
        path = scratch / f"slice-{i}.om"
        total += write_slice(path, start, end, origin, last, counters, recorded)
        while len(pending) >= 2:
            _finish(*pending.pop(0))
        pending.append((subprocess.Popen(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet",
             f"--max-block-duration={length // 3600}h", str(path), str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), path))
        log(f"slice {i + 1}: {total / 1e6:.1f} M samples so far")
    while pending:
        _finish(*pending.pop(0))
    return total


def _finish(process: subprocess.Popen[bytes], path: Path) -> None:
    _, err = process.communicate()
    path.unlink()
    if process.returncode:
        raise RuntimeError(f"promtool create-blocks-from openmetrics {path}: {err.decode()[-2000:]}")


class LiveCounters:
    """A /metrics endpoint continuing the counters (and any extra ones) in real time."""

    def __init__(self, counters: list[Counter], origin: int) -> None:
        self.counters = counters
        self.origin = origin
        self.extra: list[Counter] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        live = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                now = time.time() - live.origin
                body = "".join(f"{_text(c.name, c.labels)} {c.value(now):.4f}\n"
                               for c in live.counters + live.extra)
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
