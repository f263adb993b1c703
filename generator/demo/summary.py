"""The demo's live terminal summary, drawn with ``rich``.

:func:`collect` asks the running stack what a person would want to see (Prometheus'
targets and alerts, the SLOs' remaining error budget, the webhook receiver's last
notifications) into a :class:`Snapshot`; :func:`render` draws one. Keeping the two
apart lets the final report of an unattended run reuse the same numbers, and a
Prometheus that does not answer for a moment shows as such instead of crashing the
screen.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from generator.demo.receiver import Notification

SEVERITY_STYLES = {"critical": "bold red", "high": "dark_orange", "warning": "yellow",
                   "info": "blue"}
LAST_NOTIFICATIONS = 8


@dataclass
class Snapshot:
    """What the stack looks like now."""

    elapsed: float
    remaining: float | None
    startup_seconds: float | None
    targets: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    budgets: dict[str, float] = field(default_factory=dict)  # slo → remaining ratio
    notifications: list[Notification] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def targets_up(self) -> int:
        return sum(1 for t in self.targets if t["health"] == "up")

    def alert_counts(self) -> dict[str, Counter[str]]:
        """``{"firing": Counter(severity), "pending": ...}`` (escalations excluded)."""
        counts: dict[str, Counter[str]] = {"firing": Counter(), "pending": Counter()}
        for alert in self.alerts:
            if alert["labels"].get("alertname") == "AlertEscalated":
                continue
            counts.setdefault(alert["state"], Counter())[alert["labels"].get("severity", "?")] += 1
        return counts

    def firing_names(self) -> list[str]:
        return sorted({a["labels"]["alertname"] for a in self.alerts if a["state"] == "firing"})


def collect(stack: Any, workload: Any, started: float, duration: float | None) -> Snapshot:
    """Read the stack's state; ``started`` is a ``time.monotonic()`` stamp."""
    elapsed = time.monotonic() - started
    snap = Snapshot(elapsed=elapsed,
                    remaining=None if duration is None else max(0.0, duration - elapsed),
                    startup_seconds=stack.startup_seconds,
                    notifications=stack.receiver.notifications,
                    events=list(workload.events) if workload is not None else [],
                    urls=stack.urls)
    try:
        snap.targets = stack.targets()
        snap.alerts = stack.alerts()
        for row in stack.query("vigil_slo:error_budget_remaining:ratio"):
            snap.budgets[row["metric"].get("slo", "?")] = float(row["value"][1])
    except (requests.RequestException, KeyError, ValueError) as exc:
        snap.error = f"Prometheus did not answer: {exc}"
    return snap


def _severity(name: str) -> Text:
    return Text(name, style=SEVERITY_STYLES.get(name, ""))


def _clock(stamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp))


def grouped(notes: list[Notification]) -> list[tuple[float, str, str, str, str, list[str]]]:
    """Notifications by (alert, status, receiver): latest time, severity, who was reached.

    One Alertmanager notification reaches several people (one webhook each); a person
    wants one line per notification with everyone it reached.
    """
    groups: dict[tuple[str, str, str], tuple[float, str, set[str]]] = {}
    for note in notes:
        key = (_title(note), note.status, note.receiver)
        last, severity, reached = groups.get(key, (0.0, note.severity, set()))
        groups[key] = (max(last, note.received_at), severity, reached | {note.recipient})
    rows = [(last, alert, status, severity, receiver, sorted(reached))
            for (alert, status, receiver), (last, severity, reached) in groups.items()]
    return sorted(rows)


def _title(note: Notification) -> str:
    """The alert's name; an escalation names what escalated and to which level."""
    escalated = note.labels.get("escalated_alertname")
    if escalated:
        return f"{escalated} escalated to level {note.labels.get('escalation_level', '?')}"
    return note.alertname


def _budget(ratio: float) -> Text:
    if ratio <= 0:
        return Text(f"exhausted ({ratio:.0%})", style="bold red")
    return Text(f"{ratio:.1%}", style="green" if ratio > 0.5 else "yellow")


def render(snap: Snapshot) -> Group:
    """The whole screen: status line, targets, alerts, budgets, notifications, URLs."""
    head = Text()
    head.append("Vigil demo", style="bold")
    head.append(f"  running {snap.elapsed:4.0f}s")
    if snap.remaining is not None:
        head.append(f", ends in {snap.remaining:3.0f}s")
    if snap.startup_seconds is not None:
        head.append(f"  ·  all targets up {snap.startup_seconds:.1f}s after start")
    head.append("  ·  Ctrl-C stops everything", style="dim")

    targets = Text(f"Targets up: {snap.targets_up}/{len(snap.targets)}  ", style="bold")
    for target in sorted(snap.targets, key=lambda t: t["job"]):
        style = "green" if target["health"] == "up" else "bold red"
        targets.append(f"{target['job']} ", style="")
        targets.append(f"{target['health']}  ", style=style)

    counts = snap.alert_counts()
    alerts = Table(title="Alerts by severity", title_justify="left", box=box.SIMPLE_HEAD)
    alerts.add_column("state")
    for severity in SEVERITY_STYLES:
        alerts.add_column(_severity(severity), justify="right")
    for state in ("firing", "pending"):
        alerts.add_row(state, *(str(counts[state][s]) for s in SEVERITY_STYLES))
    firing = Text("Firing now: ", style="bold")
    firing.append(", ".join(snap.firing_names()) or "nothing")

    budgets = Text("SLO error budget remaining:  ", style="bold")
    for slo, ratio in sorted(snap.budgets.items()):
        budgets.append(f"{slo} ")
        budgets.append_text(_budget(ratio))
        budgets.append("   ")

    rows = grouped(snap.notifications)
    notes = Table(title=f"Notifications received: {len(snap.notifications)} "
                  f"(latest {min(len(rows), LAST_NOTIFICATIONS)} shown)",
                  title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("time", "status", "alert", "severity", "receiver", "reached"):
        notes.add_column(column)
    for last, alert, status, severity, receiver, reached in rows[-LAST_NOTIFICATIONS:]:
        notes.add_row(_clock(last), status, alert, _severity(severity), receiver,
                      ", ".join(reached))

    events = Text("\n".join(f"{_clock(stamp)} {text}" for stamp, text in snap.events[-4:]))

    urls = Table.grid(padding=(0, 2))
    items = list(snap.urls.items())
    for index in range(0, len(items), 2):  # two a row: the screen stays short
        pair = items[index:index + 2]
        urls.add_row(*(cell for item in pair for cell in item))

    parts: list[Any] = [head, targets]
    if snap.error:
        parts.append(Text(snap.error, style="bold red"))
    parts += [alerts, firing, budgets, notes,
              Panel(events or Text("(none yet)"), title="Workload", title_align="left"),
              Panel(urls, title="URLs", title_align="left")]
    return Group(*parts)


def final_report(snap: Snapshot) -> str:
    """Plain text for the end of an unattended run: what fired, what was received."""
    lines = [f"vigil demo: ran {snap.elapsed:.0f}s; all targets up "
             f"{snap.startup_seconds:.1f}s after start" if snap.startup_seconds is not None
             else f"vigil demo: ran {snap.elapsed:.0f}s"]
    lines.append(f"targets up: {snap.targets_up}/{len(snap.targets)}")
    lines.append("firing at the end: " + (", ".join(snap.firing_names()) or "none"))
    fired = sorted({(n.alertname, n.severity) for n in snap.notifications if n.status == "firing"})
    lines.append("fired (notified): " + (", ".join(f"{a} ({s})" for a, s in fired) or "none"))
    lines.append(f"notifications received: {len(snap.notifications)}")
    for _, alert, status, severity, receiver, reached in grouped(snap.notifications):
        lines.append(f"  {alert} ({severity}) {status} via {receiver} reached {', '.join(reached)}")
    for slo, ratio in sorted(snap.budgets.items()):
        lines.append(f"error budget remaining: {slo} {_budget(ratio).plain}")
    return "\n".join(lines)
