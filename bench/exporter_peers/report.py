"""Results of a run: the verdict per target, the console table, bench/RESULTS.md.

RESULTS.md keeps hand-written analysis around a generated block delimited by
markers, so re-running the benchmark refreshes the figures without erasing
the explanation of them.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .scrape import LatencySeries

MIB = 1024 * 1024
MEMORY_TARGET_RATIO = 1.5
BEGIN = "<!-- BEGIN GENERATED: bench/exporters_bench.py -->"
END = "<!-- END GENERATED -->"


@dataclass
class SideResult:
    """Figures for one exporter process over the measured scrapes."""

    role: str
    label: str
    latency: LatencySeries
    cpu_seconds: float
    samples_per_scrape: int
    rss_bytes: int
    hwm_bytes: int
    anon_bytes: int
    file_bytes: int

    @property
    def scrapes(self) -> int:
        return len(self.latency.values)

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu_seconds / self.scrapes * 1000 if self.scrapes else math.nan


@dataclass
class PairResult:
    name: str
    same_source: str
    peer: SideResult | None = None
    vigil: SideResult | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    def verdicts(self) -> list[str]:
        """Plain-language pass/miss lines for the two targets of the issue."""
        if self.skipped:
            return [f"skipped: {self.skipped}"]
        if self.vigil is None:
            return ["no comparison: the Vigil side was not measured"]
        if self.peer is None:
            return ["no comparison: the peer was not measured"]
        v, p = self.vigil, self.peer
        lines = []
        lat_ratio = v.latency.median / p.latency.median
        lat_delta_ms = (v.latency.median - p.latency.median) * 1000
        met = v.latency.median <= p.latency.median
        lines.append(
            f"median latency {'MET' if met else 'MISSED'}: vigil {ms(v.latency.median)} ms vs "
            f"peer {ms(p.latency.median)} ms ({lat_ratio:.2f}x"
            + ("" if met else f", {lat_delta_ms:+.2f} ms over") + ")"
        )
        mem_ratio = v.hwm_bytes / p.hwm_bytes
        met = mem_ratio <= MEMORY_TARGET_RATIO
        excess = v.hwm_bytes - MEMORY_TARGET_RATIO * p.hwm_bytes
        lines.append(
            f"memory (peak RSS) {'MET' if met else 'MISSED'}: vigil {mib(v.hwm_bytes)} MiB vs "
            f"peer {mib(p.hwm_bytes)} MiB = {mem_ratio:.2f}x (target <= {MEMORY_TARGET_RATIO}x"
            + ("" if met else f", {excess / MIB:.1f} MiB over the target") + ")"
        )
        return lines


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def mib(nbytes: float) -> str:
    return f"{nbytes / MIB:.1f}"


COLUMNS = ("pair", "exporter", "scrapes", "samples", "median ms", "p99 ms",
           "CPU s/1k scrapes", "RSS MiB", "peak RSS MiB", "anon MiB", "file MiB")


def _rows(results: list[PairResult]) -> list[tuple[str, ...]]:
    rows = []
    for pair in results:
        for side in (pair.vigil, pair.peer):
            if side is None:
                continue
            rows.append((
                pair.name, side.label, str(side.scrapes), str(side.samples_per_scrape),
                ms(side.latency.median), ms(side.latency.p99), f"{side.cpu_per_1000:.3f}",
                mib(side.rss_bytes), mib(side.hwm_bytes), mib(side.anon_bytes),
                mib(side.file_bytes),
            ))
    return rows


def text_table(results: list[PairResult]) -> str:
    rows = [COLUMNS, *_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for pair in results:
        for verdict in pair.verdicts():
            lines.append(f"{pair.name}: {verdict}")
        for note in pair.notes:
            lines.append(f"{pair.name}: note: {note}")
    return "\n".join(lines)


def markdown_table(results: list[PairResult]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    return "\n".join(lines)


def _run(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (result.stdout or result.stderr).strip() or "?"


def load_text(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def machine_facts(vigil: Path, repo: Path) -> dict[str, str]:
    """What a reader needs to judge the figures: hardware, interpreter, commit."""
    cpu_model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    vigil_python = vigil.parent / "python"
    commit = _run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(repo), "status", "--porcelain", "--", "exporters"])
    return {
        "nproc": str(os.cpu_count()),
        "CPU": cpu_model,
        "memory": mem_total,
        "kernel": platform.release(),
        "load average at the end (1/5/15 min)": load_text(os.getloadavg()),
        "Python (Vigil exporters)": _run([str(vigil_python), "-VV"]).replace("\n", " "),
        "git commit": commit + (" (exporters/ has uncommitted changes)"
                                if dirty not in ("?", "") else ""),
    }


def markdown_block(results: list[PairResult], command: str, date: str,
                   facts: dict[str, str], peer_versions: dict[str, str],
                   settings: dict[str, str]) -> str:
    lines = [BEGIN, "", f"Command: `{command}`", "", f"Date: {date}", "", "Machine:", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines += ["", "Peers (Debian packages):", ""]
    lines += [f"- {pkg}: {version}" for pkg, version in peer_versions.items()]
    lines += ["", "Settings:", ""]
    lines += [f"- {key}: {value}" for key, value in settings.items()]
    lines += ["", markdown_table(results), "", "Targets and notes:", ""]
    for pair in results:
        lines.append(f"- {pair.name}: same source: {pair.same_source}")
        for verdict in pair.verdicts():
            lines.append(f"- {pair.name}: {verdict}")
        for note in pair.notes:
            lines.append(f"- {pair.name}: note: {note}")
    lines += ["", END]
    return "\n".join(lines)


def write_results(path: Path, block: str) -> None:
    """Replace the generated block in `path` (or create the file around it)."""
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            path.write_text(head + block + tail)
            return
        path.write_text(text.rstrip("\n") + "\n\n" + block + "\n")
        return
    path.write_text("# Exporter benchmark results\n\n" + block + "\n")
