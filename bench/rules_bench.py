"""Rule-evaluation benchmark: what Vigil's SLO rules cost Prometheus, against Sloth- and
Pyrra-shaped rules, on one TSDB with 30 days of history.

One real Prometheus (the Debian package) on backfilled blocks (bench/rules_traffic.py)
that keeps scraping the same counters live. Each rule set is loaded alone, in a fresh
Prometheus process on the same data, and measured while it evaluates:
- SLO count: 10, 100 and 1,000 SLOs, each over a request counter with 3 series;
- cardinality: one SLO over 1, 100 and 1,000 series (the three ride along with the
  10-SLO runs, one figure per SLO's groups);
- thresholds: Vigil's rules for 10,000 signals (warning and critical thresholds each);
- forecasts and anomalies: the groups of 1,000 signals, once with their warning and
  critical thresholds only and once with a forecast (`within 4h`, a 2-hour lookback)
  and an anomaly band (3 weekly seasons) each as well, on backfilled history of what
  those read back (the recorded signal, its hourly means at the bands' offsets). These
  two runs come first, while the history's end is minutes old.

Figures per run: rule-evaluation seconds per minute of wall time (from
`prometheus_rule_group_last_duration_seconds`, sampled every few seconds: each group's
last duration × its evaluations a minute, groups of one interval pooled, so hourly
groups that ran once in the window count for all of their kind), the same measured
directly (`prometheus_rule_group_duration_seconds_sum` over the window), the slowest
group against its interval, peak RSS (VmHWM) and CPU of the Prometheus process, samples
read per minute (every rule of the first SLO run once as a query with `stats=all`,
times its group's evaluations a minute, times the SLOs) and series written per round.

    .venv/bin/python bench/rules_bench.py [--quick] [--record]

`--quick`: 10 SLOs, one series of cardinality, 1,000 signals, 100 with forecasts and
anomalies, short windows (a few minutes). `--record` rewrites the generated block of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal as signals
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generator_bench import make_spec  # noqa: E402
from rules_peers import PeerSlo, pyrra_groups, sloth_groups  # noqa: E402
from rules_traffic import (  # noqa: E402
    COARSE,
    EVALUATION,
    FINE,
    HISTORY,
    METRIC,
    SCRAPE,
    Counter,
    LiveCounters,
    Recorded,
    Service,
    backfill,
    service,
    signal_recorded,
    sloth_recorded,
    vigil_recorded,
)

from generator import output, units  # noqa: E402
from generator.loader import load_spec  # noqa: E402
from generator.rules import rule_groups  # noqa: E402
from generator.rules import slo as vigil_slo  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- rules_bench: begin -->", "<!-- rules_bench: end -->"
OBJECTIVE = 0.999
SELECTORS = {"environment": "production"}
SERIES_PER_SLO = 3
SIGNALS_PER_FILE = 4000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the three rule sets -------------------------------------------------------------

def bench_slos(services: list[Service]) -> dict[str, Any]:
    """Spec entries for the services' SLOs: 5xx of all requests, 99.9 % over 30 days."""
    return {s.name: {
        "title": f"Bench {s.name}",
        "description": "Requests served without a server error.",
        "objective": f"{OBJECTIVE * 100:g}%",
        "period": "30d",
        "sli": {"error": f'sum(rate({METRIC}{{service="{s.name}",status_class="5xx",$sel}}[$window]))',
                "total": f'sum(rate({METRIC}{{service="{s.name}",$sel}}[$window]))'},
        "min_rate": "1/m",
    } for s in services}


def vigil_spec(scratch: Path, slos: dict[str, Any], signals_count: int = 0,
               extra_signals: dict[str, Any] | None = None) -> Path:
    """A Vigil spec: the demo spec with these SLOs and `signals_count` custom signals
    (bench/generator_bench.py's), plus `extra_signals` (e.g. forecast or anomaly ones)."""
    path = scratch / f"spec-{len(slos)}-{signals_count}.yaml"
    make_spec(signals_count, path)
    spec = yaml.safe_load(path.read_text())
    spec["slos"] = slos
    signals = list({**spec["signals"], **(extra_signals or {})}.items())
    # A spec file is bounded (generator/inputs.py): thousands of signals are spread over
    # files that each extend the previous one, as a large deployment would split them.
    spec["signals"] = dict(signals[:SIGNALS_PER_FILE])
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    for i in range(SIGNALS_PER_FILE, len(signals), SIGNALS_PER_FILE):
        overlay = path.with_name(f"{path.stem}-{i}.yaml")
        overlay.write_text(yaml.safe_dump({"extends": path.name,
                                           "signals": dict(signals[i:i + SIGNALS_PER_FILE])},
                                          sort_keys=False))
        path = overlay
    return path


def vigil_rules(scratch: Path, services: list[Service]) -> list[dict[str, Any]]:
    """Vigil's generated SLO groups for the services (the project's own generator)."""
    return vigil_slo.groups(load_spec(vigil_spec(scratch, bench_slos(services))))


def peer(s: Service) -> PeerSlo:
    sel = ",".join(f'{k}="{v}"' for k, v in SELECTORS.items())
    return PeerSlo(s.name, f'{METRIC}{{service="{s.name}",status_class="5xx",{sel}}}',
                   f'{METRIC}{{service="{s.name}",{sel}}}', OBJECTIVE)


RULE_SETS: dict[str, Callable[[Path, list[Service]], list[dict[str, Any]]]] = {
    "vigil": vigil_rules,
    "sloth": lambda _, services: [g for s in services for g in sloth_groups(peer(s))],
    "pyrra": lambda _, services: [g for s in services for g in pyrra_groups(peer(s))],
}


def _signal_counters(spec: Any, signals_count: int) -> list[Counter]:
    """The counters bench/generator_bench.py's signals read (`bench_metric_<i>_total`)."""
    labels = tuple(sorted({**SELECTORS, "job": spec.jobs["http"], "instance": "bench-0"}.items()))
    return [Counter(labels, 100.0 + i % 300, 0.0, f"bench_metric_{i}_total")
            for i in range(signals_count)]


def threshold_rules(scratch: Path, signals_count: int) -> tuple[list[dict[str, Any]], list[Counter]]:
    """Every rule Vigil generates for a spec of `signals_count` signals (no SLOs), and
    the counters those signals read."""
    spec = load_spec(vigil_spec(scratch, {}, signals_count))
    return rule_groups(spec), _signal_counters(spec, signals_count)


@dataclass
class Predictive:
    """The signal groups of `signals_count` signals without and with forecasts and
    anomaly bands, the counters they read and the recorded history they read back."""

    plain: list[dict[str, Any]]
    predictive: list[dict[str, Any]]
    counters: list[Counter]
    recorded: list[Recorded]


def predictive_rules(scratch: Path, signals_count: int) -> Predictive:
    path = scratch / "predictive-signals.yaml"
    make_spec(signals_count, path)
    plain_signals = yaml.safe_load(path.read_text())["signals"]
    extended = {name: {**body, "high": f"{300 + i}/s within 4h", "info": "anomaly 3σ"}
                for i, (name, body) in enumerate(plain_signals.items())}
    specs = [load_spec(vigil_spec(scratch / kind, {}, 0, signals))
             for kind, signals in (("plain", plain_signals), ("predictive", extended))]
    plain, predictive = ([g for g in rule_groups(spec) if ".signal." in g["name"]]
                         for spec in specs)
    offsets = tuple(sorted({units.parse_duration(o) for g in predictive for r in g["rules"]
                            for o in re.findall(r"offset (\w+)", r["expr"])}))
    lookback = max(units.parse_duration(m) for g in predictive for r in g["rules"]
                   for m in re.findall(r"predict_linear\([^\[]*\[(\w+)\]", r["expr"]))
    labels = tuple(sorted({**SELECTORS, "instance": "bench-0"}.items()))
    recorded = signal_recorded([(name, labels, 100.0 + i % 300) for i, name in
                                enumerate(plain_signals)], lookback, offsets)
    return Predictive(plain, predictive, _signal_counters(specs[1], signals_count), recorded)


# --- one Prometheus run --------------------------------------------------------------

@dataclass
class Run:
    rule_set: str
    size: str
    groups: list[dict[str, Any]]
    per_slo: int = 1  # SLOs (or signals) whose samples-read figure is scaled up
    result: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _metrics(base: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    wanted = {"prometheus_rule_group_last_duration_seconds", "prometheus_rule_group_interval_seconds",
              "prometheus_rule_group_last_evaluation_samples",
              "prometheus_rule_group_iterations_missed", "prometheus_rule_group_duration_seconds",
              "process_cpu_seconds"}
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(_get(f"{base}/metrics").decode()):
        if family.name in wanted:
            for sample in family.samples:
                found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _by_group(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str) -> dict[str, float]:
    return {labels["rule_group"].split(";", 1)[1]: v for labels, v in metrics.get(name, [])}


def _single(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    return sum(v for _, v in metrics.get(name, []))


def _owned(group: str, name: str) -> bool:
    """Whether a group belongs to the SLO `name` (in every rule set's naming)."""
    return name in re.split(r"[.\-]", group)


def _samples_read(base: str, groups: list[dict[str, Any]], first: str) -> float | None:
    """Samples one SLO's rules read a minute: each rule as a query with stats=all (None
    when a query does not answer in time on a loaded machine)."""
    total = 0.0
    for group in (g for g in groups if _owned(g["name"], first)):
        interval = units.parse_duration(group["interval"]) if group.get("interval") else EVALUATION
        for rule in group["rules"]:
            query = urllib.parse.urlencode({"query": rule["expr"], "stats": "all"})
            try:
                body = json.loads(_get(f"{base}/api/v1/query?{query}", timeout=120))
            except OSError as err:
                log(f"samples read not measured: {err}")
                return None
            stats = body.get("data", {}).get("stats", {}).get("samples", {})
            total += stats.get("totalQueryableSamples", 0) * 60 / interval
    return total


def _scaled(value: float | None, factor: int) -> float | None:
    return None if value is None else value * factor


def measure(run: Run, data: Path, scrape_port: int, scratch: Path, measure_s: float,
            first: str | None) -> dict[str, Any]:
    """Start Prometheus with `run.groups` on `data`, measure, stop it; the figures."""
    rules = scratch / "rules.yml"
    rules.write_text(output.dump_yaml({"groups": run.groups}))
    config = scratch / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": f"{SCRAPE}s", "evaluation_interval": f"{EVALUATION}s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "bench", "honor_labels": True,
                            "static_configs": [{"targets": [f"127.0.0.1:{scrape_port}"]}]}],
    }))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
         "--storage.tsdb.retention.time=90d", "--storage.tsdb.min-block-duration=2h",
         "--storage.tsdb.max-block-duration=2h", f"--web.listen-address=127.0.0.1:{port}",
         "--enable-feature=promql-per-step-stats", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(scratch / "prometheus.log", "ab"))  # noqa: SIM115
    try:
        deadline = time.time() + 300
        while True:
            try:
                if _get(f"{base}/-/ready", timeout=5):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"Prometheus did not start: see {scratch / 'prometheus.log'}")
            time.sleep(0.5)
        default = [g["name"] for g in run.groups if not g.get("interval")
                   or units.parse_duration(g["interval"]) <= EVALUATION]
        warm = time.time() + 2 * EVALUATION + 10
        while time.time() < warm:
            durations = _by_group(_metrics(base), "prometheus_rule_group_last_duration_seconds")
            if all(durations.get(name, 0) > 0 for name in default):
                break
            time.sleep(2)
        start = _metrics(base)
        started = time.time()
        estimates: list[float] = []
        slowest = (0.0, "", 0.0, 0.0)
        while time.time() - started < measure_s:
            time.sleep(5)
            m = _metrics(base)
            durations = _by_group(m, "prometheus_rule_group_last_duration_seconds")
            intervals = _by_group(m, "prometheus_rule_group_interval_seconds")
            pools: dict[float, list[float]] = {}
            for name, interval in intervals.items():
                pools.setdefault(interval, []).append(durations.get(name, 0.0))
            estimate = 0.0
            for interval, values in pools.items():
                ran = [v for v in values if v > 0]
                if ran:
                    estimate += sum(ran) / len(ran) * len(values) * 60 / interval
            estimates.append(estimate)
            for name, value in durations.items():
                share = value / intervals[name]
                if share > slowest[0]:
                    slowest = (share, name, value, intervals[name])
        end = _metrics(base)
        elapsed = time.time() - started
        samples = _by_group(end, "prometheus_rule_group_last_evaluation_samples")
        missed = (sum(_by_group(end, "prometheus_rule_group_iterations_missed_total").values())
                  - sum(_by_group(start, "prometheus_rule_group_iterations_missed_total").values()))
        status = Path(f"/proc/{process.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        result = {
            "eval_s_per_min": sum(estimates) / len(estimates) if estimates else 0.0,
            "measured_s_per_min": (_single(end, "prometheus_rule_group_duration_seconds_sum")
                                   - _single(start, "prometheus_rule_group_duration_seconds_sum"))
                                  / elapsed * 60,
            "slowest_group": slowest[1], "slowest_s": slowest[2], "slowest_share": slowest[0],
            "slowest_interval": slowest[3],
            "peak_rss_mib": hwm / 1024,
            "cpu_cores": (_single(end, "process_cpu_seconds_total")
                          - _single(start, "process_cpu_seconds_total")) / elapsed,
            "series_written": sum(samples.values()),
            "groups": len(run.groups), "missed": missed, "window_s": elapsed,
            "samples_read_per_min": _scaled(_samples_read(base, run.groups, first) if first
                                            else None, run.per_slo),
            "per_service": {},
        }
        for name, value in _by_group(end, "prometheus_rule_group_last_duration_seconds").items():
            for token in re.split(r"[.\-]", name):
                result["per_service"][token] = (result["per_service"].get(token, 0.0)
                                                + value * 60 / intervals[name])
        return result
    finally:
        process.send_signal(signals.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the whole benchmark ---------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    slo_counts: tuple[int, ...]
    cardinalities: tuple[int, ...]
    signals: tuple[int, ...]
    predictive: tuple[int, ...]
    measure_small: float
    measure_large: float


FULL = Plan((10, 100, 1000), (1, 100, 1000), (10000,), (1000,), 45, 90)
QUICK = Plan((10,), (1,), (1000,), (100,), 30, 30)


def _table(runs: list[Run]) -> str:
    head = ("| rule set | size | eval s/min (groups) | eval s/min (measured) | slowest group "
            "(share of interval) | peak RSS MiB | CPU cores | samples read/min | series written |"
            " groups | missed |\n|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
    rows = []
    for run in runs:
        r = run.result
        read = r["samples_read_per_min"]
        rows.append(
            f"| {run.rule_set} | {run.size} | {r['eval_s_per_min']:.3f} | "
            f"{r['measured_s_per_min']:.3f} | `{r['slowest_group']}` {r['slowest_s'] * 1000:.1f} ms "
            f"of {r['slowest_interval']:g} s ({r['slowest_share'] * 100:.2f} %) | "
            f"{r['peak_rss_mib']:.0f} | {r['cpu_cores']:.2f} | "
            f"{'n/a' if read is None else f'{read / 1e6:.2f} M'} | {r['series_written']:.0f} | "
            f"{r['groups']} | {r['missed']:.0f} |")
    return head + "\n".join(rows) + "\n"


def _cardinality_rows(runs: list[Run], cardinalities: tuple[int, ...]) -> str:
    """Per-SLO group figures of the cardinality runs (the SLOs were loaded together)."""
    lines = ["| rule set | series behind the SLO | its groups' eval s/min |", "|---|---:|---:|"]
    for run in runs:
        for c in cardinalities:
            lines.append(f"| {run.rule_set} | {c} | {run.result['per_service'].get(f'c{c:04d}', 0):.4f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md's block")
    parser.add_argument("--keep", type=Path, help="keep the scratch directory here")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            print(f"rules_bench: {tool} is not installed (Debian package prometheus)", file=sys.stderr)
            return 2
    began = time.time()
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="rules-bench-", dir=args.keep))
    data = scratch / "data"
    data.mkdir()
    try:
        count_axis = [service(f"s{i:04d}", SERIES_PER_SLO) for i in range(max(plan.slo_counts))]
        card_axis = [service(f"c{c:04d}", c) for c in plan.cardinalities]
        services = count_axis + card_axis
        counters = [c for s in services for c in s.counters]
        last = int(time.time()) // 300 * 300
        origin = last - HISTORY
        for sub in ("plain", "predictive"):
            (scratch / sub).mkdir()
        predictive = {n: predictive_rules(scratch, n) for n in plan.predictive}
        recorded = (vigil_recorded(services, SELECTORS) + sloth_recorded(services)
                    + [r for p in predictive.values() for r in p.recorded])
        log(f"backfilling {len(counters)} raw and {len(recorded)} recorded series over 30 days")
        samples = backfill(data, scratch, origin, last, counters, recorded, log)
        data_seconds = time.time() - began
        log(f"backfilled {samples / 1e6:.1f} M samples in {data_seconds:.0f} s")
        live = LiveCounters(counters, origin)
        predictive_runs: list[Run] = []
        for n, p in predictive.items():  # first: the backfilled offsets are near
            live.extra = p.counters
            for name, groups in (("vigil signals", p.plain),
                                 ("vigil signals + forecast + anomaly", p.predictive)):
                run = Run(name, f"{n} signals", groups)
                log(f"{run.rule_set}, {run.size}: {len(run.groups)} groups")
                run.result = measure(run, data, live.port, scratch, plan.measure_large, None)
                log(_table([run]).splitlines()[-1])
                predictive_runs.append(run)
        live.extra = []
        runs: list[Run] = []
        card = "/".join(map(str, plan.cardinalities))
        for n in plan.slo_counts:
            # the cardinality SLOs ride along with the fewest SLOs (one run less each)
            extra = card_axis if n == min(plan.slo_counts) else []
            for name, build in RULE_SETS.items():
                runs.append(Run(name, f"{n} SLOs" + (f" + {card} series" if extra else ""),
                                build(scratch, count_axis[:n] + extra), n))
        card_runs = [r for r in runs if "series" in r.size]
        signal_runs = []
        for n in plan.signals:
            groups, extra = threshold_rules(scratch, n)
            signal_runs.append((Run("vigil thresholds", f"{n} signals", groups), extra))
        for run in runs:
            large = run.per_slo >= 1000
            log(f"{run.rule_set}, {run.size}: {len(run.groups)} groups")
            run.result = measure(run, data, live.port, scratch,
                                 plan.measure_large if large else plan.measure_small,
                                 count_axis[0].name)
            log(_table([run]).splitlines()[-1])  # each row as soon as it is measured
        for run, extra in signal_runs:
            live.extra = extra
            log(f"{run.rule_set}, {run.size}: {len(run.groups)} groups")
            run.result = measure(run, data, live.port, scratch, plan.measure_large, None)
            log(_table([run]).splitlines()[-1])
        live.close()
        total = time.time() - began
        load_after = os.getloadavg()
        all_runs = runs + [r for r, _ in signal_runs] + predictive_runs
        text = _report(plan, all_runs, card_runs, samples, data_seconds, total,
                       load_before, load_after, len(counters), len(recorded), args.quick)
        print(text)
        if args.record:
            _record(text)
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _report(plan: Plan, runs: list[Run], card_runs: list[Run], samples: int, data_s: float,
            total_s: float, before: tuple[float, ...], after: tuple[float, ...], raw: int,
            recorded: int, quick: bool) -> str:
    goals = _goals(runs, max(plan.slo_counts))
    return (
        f"Command: `.venv/bin/python bench/rules_bench.py{' --quick' if quick else ''}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
        f"load average {before[0]:.1f} before, {after[0]:.1f} after; data generation "
        f"{data_s:.0f} s, whole run {total_s / 60:.1f} min).\n\n"
        f"Data: {raw} raw series and {recorded} recorded series, {samples / 1e6:.1f} M samples "
        f"over 30 days: raw every {SCRAPE} s for the last {FINE // 86400} days and every "
        f"{COARSE // 60} min before; series recorded every evaluation every {EVALUATION} s for "
        f"the last {FINE // 86400} days and every {COARSE // 60} min before. Evaluation interval "
        f"{EVALUATION} s, scrape interval {SCRAPE} s; {plan.measure_small:g} s measured per run "
        f"up to 100 SLOs, {plan.measure_large:g} s at 1,000 and for the other runs.\n\n"
        + _table(runs) + "\n" + (_cardinality_rows(card_runs, plan.cardinalities) + "\n"
                                  if card_runs else "") + goals + _predictive_line(runs))


def _predictive_line(runs: list[Run]) -> str:
    """What forecasts and anomaly bands add to the signals' own groups, per signal."""
    lines = []
    for plain in (r for r in runs if r.rule_set == "vigil signals"):
        both = next((r for r in runs if r.rule_set.startswith("vigil signals +")
                     and r.size == plain.size), None)
        if both is None:
            continue
        n = int(plain.size.split()[0])
        a, b = plain.result["eval_s_per_min"], both.result["eval_s_per_min"]
        lines.append(f"Forecasts and anomalies at {plain.size}: the signals' groups cost "
                     f"{a * 1000 / n:.2f} ms per signal a minute with thresholds only and "
                     f"{b * 1000 / n:.2f} ms with a forecast and an anomaly band as well "
                     f"({b / a:.2f}×), writing {plain.result['series_written']:.0f} and "
                     f"{both.result['series_written']:.0f} recorded series a round; the "
                     f"slowest group took {both.result['slowest_share'] * 100:.2f} % of its "
                     "interval.\n")
    return "".join(lines)


def _goals(runs: list[Run], n: int) -> str:
    at = {r.rule_set: r.result for r in runs if r.size == f"{n} SLOs"}
    if {"vigil", "sloth", "pyrra"} - set(at):
        return ""
    v, s, p = (at[k]["eval_s_per_min"] for k in ("vigil", "sloth", "pyrra"))
    vigil_slowest = max(r.result["slowest_share"] for r in runs if r.rule_set == "vigil")
    return (f"At {n:,} SLOs Vigil's rules cost {v / s:.3f} of the Sloth-shaped rules' evaluation "
            f"time (goal ≤ 0.2: {'met' if v / s <= 0.2 else 'missed'}) and {v / p:.3f} of the "
            f"Pyrra-shaped rules' (goal ≤ 0.5: {'met' if v / p <= 0.5 else 'missed'}); the "
            f"slowest Vigil SLO group took {vigil_slowest * 100:.2f} % of its interval (goal ≤ 10 %: "
            f"{'met' if vigil_slowest <= 0.1 else 'missed'}).\n")


def _record(text: str) -> None:
    body = RESULTS.read_text()
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in body:
        head, rest = body.split(BEGIN, 1)
        body = head + block + rest.split(END, 1)[1]
    else:
        body = body.rstrip("\n") + "\n\n# Rules benchmark\n\n" + block + "\n"
    RESULTS.write_text(body)


if __name__ == "__main__":
    sys.exit(main())
