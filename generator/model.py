"""The typed spec: what every generator reads, after validation.

Generators never see YAML. They see these frozen objects, in base units, with
references already resolved, so that no generator has to re-check anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import catalogue, promql
from generator.catalogue import SignalDefinition
from generator.latency import LatencySli
from generator.thresholds import Threshold


@dataclass(frozen=True)
class Secret:
    """A reference to a secret; the value never enters Vigil."""

    env: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class EscalationStep:
    level: int  # 2 for the first step: level 1 is the severity's own recipients
    after: float  # seconds since the alert started firing
    notify: tuple[str, ...]


@dataclass(frozen=True)
class Severity:
    name: str
    priority: str
    channels: tuple[str, ...]
    recipients: tuple[str, ...]
    response: float | None
    resolution: float | None
    colour: str
    escalation: tuple[EscalationStep, ...]

    @property
    def rank(self) -> int:
        """0 for P0: lower is more severe."""
        return int(self.priority[1:])


@dataclass(frozen=True)
class Receiver:
    name: str
    integrations: dict[str, dict[str, object]]  # channel → its settings (secrets as Secret)


@dataclass(frozen=True)
class EmailSettings:
    smarthost: str
    sender: str
    username: str | None
    password: Secret | None
    require_tls: bool


@dataclass(frozen=True)
class MaintenanceWindow:
    name: str
    weekdays: tuple[str, ...]  # empty: every day
    ordinal: str | None  # "first".."last" for monthly windows
    start: str
    end: str
    severities: tuple[str, ...]


@dataclass(frozen=True)
class Signal:
    definition: SignalDefinition
    thresholds: tuple[Threshold, ...]
    for_: float
    team: str
    recipients: tuple[str, ...]
    baseline_weeks: int
    enabled: bool
    panel_id: int  # stable id of the signal's panel on its dashboard
    absent_for: float = 600.0  # seconds without its metrics before the absent-data alert
    optional: bool = False  # no absent-data alert: the metrics may legitimately be missing

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def title(self) -> str:
        return self.definition.title


@dataclass(frozen=True)
class BurnWindow:
    long: float
    short: float
    budget: float
    severity: str
    factor: float
    for_: float | None


@dataclass(frozen=True)
class Slo:
    name: str
    title: str
    description: str
    objective: float
    period: float
    error_expr: str | None
    good_expr: str | None
    total_expr: str
    exporter: str | None
    windows: tuple[BurnWindow, ...]
    min_rate: float  # events per second below which no SLO alert fires
    team: str
    dashboard: str
    # `min_rate` as written: `1/m` is 1 event per 60 s. The guard compares
    # rate × min_rate_per with the stated count, so the stated value itself passes.
    min_rate_per: float = 1.0
    latency: LatencySli | None = None  # set when the SLI is `latency:`; exprs derive from it
    absent_for: float = 600.0  # seconds without SLI data before the absent-data alert


@dataclass(frozen=True)
class Probes:
    """What blackbox_exporter probes for the spec (`probes:`): its URLs and module."""

    urls: tuple[str, ...]
    module: str
    ca_file: str | None  # trusted instead of the system's CAs, in a module Vigil writes
    stock_module: bool  # one of blackbox_exporter's stock modules: no module file written


@dataclass(frozen=True)
class Heartbeat:
    """Where the always-firing Watchdog is delivered: an outside service pages when it stops."""

    url: str | None  # None: the Watchdog still fires, but nothing outside hears it
    token: Secret | None
    repeat_interval: float


@dataclass(frozen=True)
class Monitoring:
    """Alerts about the monitoring itself (generator/rules/monitoring.py)."""

    heartbeat: Heartbeat
    severity: str  # of every monitoring alert but target down
    target_down_severity: str
    target_down_for: float
    for_: float  # of the other monitoring alerts
    team: str
    info_severity: str | None  # kept out of notifications by the InfoInhibitor; None: off
    jobs: dict[str, str]  # "prometheus" / "alertmanager" → their scrape job
    targets: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Report:
    """An operations report (`vigil report`): who reads it, over what period, mailed to whom."""

    name: str
    audience: str
    period: float  # seconds
    recipients: tuple[str, ...]  # receivers with an `email` address


@dataclass(frozen=True)
class Kubernetes:
    """Where and how the prometheus-operator resources go (generator/kubernetes/)."""

    namespace: str
    labels: dict[str, str]  # on every resource, for the operator's selectors
    secret: str  # the Secret the AlertmanagerConfig's secretKeyRefs name
    scrape: str  # "service_monitor" or "static"


@dataclass(frozen=True)
class Capacity:
    """The capacity plan's lines (the capacity dashboard and its recorded projections)."""

    scale_up: float = 0.8  # utilisation at which a resource must grow
    scale_down: float = 0.3  # peak utilisation below which a host is a candidate to shrink
    reserve: float = 0.2  # headroom always kept free
    projections: tuple[float, ...] = (30 * 86400.0, 90 * 86400.0, 180 * 86400.0)
    trend: float = 30 * 86400.0  # history the trend is fitted on


@dataclass(frozen=True)
class Spec:
    source: Path
    name: str
    grafana_url: str
    runbook_url: str
    selectors: dict[str, str]
    jobs: dict[str, str]
    targets: dict[str, tuple[str, ...]]
    alertmanagers: tuple[str, ...]
    duplicate_suppression: float
    severities: dict[str, Severity]  # most severe first
    receivers: dict[str, Receiver]
    email: EmailSettings | None
    teams: dict[str, tuple[str, ...]]
    timezone: str
    maintenance: tuple[MaintenanceWindow, ...]
    signals: dict[str, Signal]
    slos: dict[str, Slo]
    monitoring: Monitoring
    reliability: dict[str, float] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    # severities whose incidents count as failures in MTTR/MTBF, and the alerting window
    failure_severities: tuple[str, ...] = ()
    reliability_window: float = 30 * 86400.0
    capacity: Capacity = field(default_factory=Capacity)

    def reliability_windows(self) -> tuple[float, ...]:
        """Windows MTTR and MTBF are recorded over: the alerting one and each report's."""
        return tuple(sorted({self.reliability_window, *(r.period for r in self.reports.values())}))
    absent_grace: float = 300.0  # seconds a new target has before its series count as absent
    # In a deployment of several specs (generator/deployment.py), the name of the spec
    # whose dashboards this one's alerts link to, with this spec's selector values as
    # the dashboards' variables; None: its own dashboards.
    dashboards_of: str | None = None
    kubernetes: Kubernetes | None = None  # None: no Kubernetes resources are generated

    # exporter role → "vigil" or the standard exporter read instead (catalogue.STANDARD_EXPORTERS)
    exporters: dict[str, str] = field(default_factory=dict)
    probes: Probes | None = None  # with `exporters.http: blackbox_exporter`

    def source_of(self, exporter: str) -> str:
        """Whose metrics the role's job serves: `vigil` or a standard exporter's name."""
        return self.exporters.get(exporter, catalogue.VIGIL)

    def used_exporters(self) -> tuple[str, ...]:
        """The roles this spec reads, in catalogue order: only their jobs, dashboards and
        health alerts are generated. The incident recorder always is: every receiver
        notifies it."""
        used = {s.definition.exporter for s in self.signals.values()}
        used |= {s.exporter for s in self.slos.values()}
        return tuple(e for e in catalogue.EXPORTERS if e in used or e == "incidents")

    def matchers(self, exporter: str | None) -> str:
        """Label matchers scoping a query to this spec (and the exporter's job)."""
        pairs = []
        if exporter is not None:
            pairs.append(("job", self.jobs[exporter]))
        pairs.extend(sorted(self.selectors.items()))
        return promql.matchers(pairs)
