"""Reading `slo/spec.yaml` into the typed model, reporting every problem at once.

Two passes: generator/spec_schema.py checks the shape and converts units; the
functions here check what needs several values at once (a warning stricter than its
critical, a receiver that does not exist) while building the model. Problems from
both are collected, so one run tells the engineer everything that is wrong.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from dataclasses import replace
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from generator import catalogue, gc_pause, inputs, latency, locate, promql, thresholds, units
from generator.latency import LatencySli
from generator.model import (
    BurnWindow,
    Capacity,
    EmailSettings,
    EscalationStep,
    Heartbeat,
    Kubernetes,
    MaintenanceWindow,
    Monitoring,
    Probes,
    Receiver,
    Report,
    Secret,
    Severity,
    Signal,
    Slo,
    Spec,
)
from generator.schema_dsl import INVALID, Problem, join
from generator.spec_schema import EXAMPLE_URLS, SIGNAL, SPEC

DEFAULTS: dict[str, Any] = {
    "name": "vigil",
    **EXAMPLE_URLS,  # valid, so the default; `vigil generate` warns while they are used
    "duplicate_suppression": 300.0,
    "jobs": {e: f"vigil-{e}" for e in catalogue.EXPORTERS},
}
DEFAULT_PORTS = {"host": 9731, "http": 9732, "postgres": 9733, "sql": 9734, "incidents": 9735}
# A standard exporter's usual job name and port, as its own documentation has them.
STANDARD_JOBS = {"node_exporter": "node", "postgres_exporter": "postgres",
                 "blackbox_exporter": "blackbox"}
STANDARD_PORTS = {"node_exporter": 9100, "postgres_exporter": 9187, "blackbox_exporter": 9115}
# blackbox_exporter's stock modules (its example blackbox.yml): no module file is written.
BLACKBOX_STOCK_MODULES = frozenset({"http_2xx", "http_post_2xx", "tcp_connect", "pop3s_banner",
                                    "grpc", "grpc_plain", "ssh_banner", "irc_banner",
                                    "icmp", "icmp_ttl5"})
DEFAULT_BLACKBOX_MODULE = "http_2xx"
# The metric prefix of each role's Vigil exporter: an expression reading it has no data
# once the role reads a standard exporter.
VIGIL_PREFIXES = {"host": "vigil_host_", "http": "vigil_http_", "postgres": "vigil_pg_"}
DEFAULT_ABSENT_FOR = 600.0  # 10m: longer than any exporter's restart or slowest first query
DEFAULT_ABSENT_GRACE = 300.0  # 5m for a new target to produce its series
SEVERITY_COLOURS = {"P0": "red", "P1": "orange", "P2": "yellow", "P3": "blue"}

# The SRE workbook's four windows for a 30-day period, as share of budget consumed.
DEFAULT_BURN_WINDOWS = (
    (3600.0, 300.0, 0.02, "page"),
    (21600.0, 1800.0, 0.05, "page"),
    (86400.0, 7200.0, 0.10, "ticket"),
    (259200.0, 21600.0, 0.10, "ticket"),
)


class SpecError(Exception):
    """A spec that cannot be used, with every problem found in it."""

    def __init__(self, source: Path, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """`file:line: path: message` per problem; the line where the file has the key."""
        try:
            found = locate.lines(inputs.read_text(Path(self.source)))
        except inputs.InputError:
            found = {}
        located = [(locate.line_of(found, p.path) if p.path else None, p) for p in self.problems]
        rendered = []
        for line, problem in sorted(located, key=lambda item: item[0] or 0):
            where = f"{self.source}:{line}" if line else f"{self.source}"
            rendered.append(f"{where}: {problem.path}: {problem.message}" if problem.path
                            else f"{where}: {problem.message}")
        return "\n".join(rendered)


def load_spec(path: Path) -> Spec:
    """Load, merge `extends`, validate and build. Raises SpecError listing every problem."""
    with gc_pause.paused():  # see generator/gc_pause.py
        return _load_spec(path)


def _load_spec(path: Path) -> Spec:
    raw = _read_with_extends(Path(path), seen=())
    problems: list[Problem] = []
    data = SPEC.check(raw, "", problems)
    if data is INVALID:
        raise SpecError(path, problems)
    spec = _Builder(Path(path), data, problems).build()
    if problems:
        raise SpecError(path, problems)
    from generator import reserved_labels  # renders rules: only for a spec that builds

    for label, message in reserved_labels.selector_problems(spec).items():
        problems.append(Problem(join("selectors", label), message))
    if problems:
        raise SpecError(path, problems)
    return spec


def _read_yaml(path: Path) -> Any:
    try:
        text = inputs.read_text(path)
    except inputs.InputError as err:
        raise SpecError(path, [Problem("", str(err))]) from None
    try:
        return inputs.load_yaml(text)
    except inputs.InputError as err:
        raise SpecError(path, [Problem("", f"refused: {err}")]) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(err, "problem", None) or str(err)
        raise SpecError(path, [Problem("", f"{where}not valid YAML: {reason}")]) from None


def _read_with_extends(path: Path, seen: tuple[Path, ...]) -> Any:
    """A spec with `extends: base.yaml` is the base, deep-merged with its own keys.

    This is how several services or environments share one plan without copying it:
    each overrides only what differs (name, selectors, a threshold). Mappings merge,
    anything else replaces, and `null` removes a key inherited from the base.
    """
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw
    base_name = raw["extends"]
    if not isinstance(base_name, str):
        raise SpecError(path, [Problem("extends", "expected the path of another spec")])
    base_path = (path.parent / base_name).resolve()
    if base_path in seen or base_path == path.resolve():
        raise SpecError(path, [Problem("extends", f"{base_name} extends itself in a cycle")])
    try:
        base = _read_with_extends(base_path, (*seen, path.resolve()))
    except SpecError as err:
        if err.source != base_path or [p.path for p in err.problems] != [""]:
            raise
        # The base could not be read or parsed at all: point at the `extends` line.
        raise SpecError(path, [Problem("extends", f"{base_name}: {err.problems[0].message}")]) \
            from None
    if not isinstance(base, dict):
        raise SpecError(base_path, [Problem("", "expected a mapping at the top level")])
    own = {k: v for k, v in raw.items() if k != "extends"}
    merged = _deep_merge(base, own)
    merged.pop("$schema", None)
    return merged


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


class _Builder:
    """Builds the model from checked data, adding a Problem for each broken reference."""

    def __init__(self, source: Path, data: dict[str, Any], problems: list[Problem]):
        self.source = source
        self.data = data
        self.problems = problems
        self.exporters: dict[str, str] = {}  # role → its source, set first in build()

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def get(self, key: str) -> Any:
        value = self.data.get(key, DEFAULTS.get(key))
        return DEFAULTS.get(key) if value is INVALID else value

    def build(self) -> Spec:
        if self.data.get("version") not in (1, INVALID, None):
            self.problem("version", f"expected 1, got {self.data['version']!r}")
        receivers = self._receivers()
        email = self._email(receivers)
        severities = self._severities(receivers)
        teams = self._teams(receivers)
        timezone, windows = self._maintenance(severities)
        self.exporters = self._exporters()
        signals = self._signals(severities, receivers, teams)
        slos = self._slos(severities)
        default_jobs = {e: STANDARD_JOBS.get(self.exporters.get(e, ""), job)
                        for e, job in DEFAULTS["jobs"].items()}
        jobs = {**default_jobs, **_valid(self.data.get("jobs") or {})}
        for exporter, job in jobs.items():
            others = [e for e, j in jobs.items() if j == job and e != exporter]
            if others and exporter in _valid(self.data.get("jobs") or {}):
                self.problem(join("jobs", exporter), f"job {job!r} is also the {others[0]} "
                             "exporter's; Prometheus needs a distinct name per scrape job")
        targets_in = _valid(self.data.get("targets") or {})
        targets = {
            e: tuple(_valid_list(targets_in.get(e))) or (
                f"localhost:{STANDARD_PORTS.get(self.exporters.get(e, ''), DEFAULT_PORTS[e])}",)
            for e in catalogue.EXPORTERS
        }
        probes = self._probes(signals, targets)
        alertmanagers = tuple(_valid_list(self.data.get("alertmanager"))) or ("localhost:9093",)
        monitoring = self._monitoring(severities, jobs, alertmanagers)
        return Spec(
            source=self.source,
            name=self.get("name"),
            grafana_url=self.get("grafana_url").rstrip("/"),
            runbook_url=self.get("runbook_url").rstrip("/"),
            selectors=_valid(self.data.get("selectors") or {}),
            jobs=jobs,
            targets=targets,
            alertmanagers=alertmanagers,
            duplicate_suppression=self.get("duplicate_suppression"),
            severities=severities,
            receivers=receivers,
            email=email,
            teams=teams,
            timezone=timezone,
            maintenance=windows,
            signals=signals,
            slos=slos,
            reliability={k: v for k, v in _valid(self.data.get("reliability") or {}).items()
                         if k not in RELIABILITY_OPTIONS},
            reports=self._reports(receivers),
            failure_severities=self._failure_severities(severities),
            reliability_window=_valid(self.data.get("reliability") or {}).get(
                "window", 30 * 86400.0),
            monitoring=monitoring,
            capacity=self._capacity(),
            absent_grace=_valid(self.data.get("defaults") or {}).get("absent_grace",
                                                                     DEFAULT_ABSENT_GRACE),
            exporters=self.exporters,
            probes=probes,
            kubernetes=self._kubernetes(),
        )

    # Standard exporters ---------------------------------------------------------------
    def _exporters(self) -> dict[str, str]:
        """Role → `vigil` or the standard exporter chosen for it (invalid ones already reported)."""
        chosen = _valid(self.data.get("exporters") or {})
        return {role: chosen.get(role, catalogue.VIGIL) for role in catalogue.STANDARD_EXPORTERS}

    def _probes(self, signals: dict[str, Signal], targets: dict[str, tuple[str, ...]]) -> Probes | None:
        """blackbox_exporter's probes: required when it serves the http signals, refused otherwise."""
        body = _valid(self.data.get("probes") or {})
        blackbox = self.exporters["http"] == catalogue.STANDARD_EXPORTERS["http"]
        if not blackbox:
            if body:
                self.problem("probes", "only read with `exporters.http: blackbox_exporter`; "
                             "Vigil's http exporter takes its probes from its own configuration")
            return None
        uses_http = any(s.definition.exporter == "http" for s in signals.values())
        raw = self.data.get("probes")
        if "urls" not in body:
            given = isinstance(raw, dict) and "urls" in raw  # but invalid: already reported
            if uses_http and raw is not INVALID and not given:
                self.problem("exporters.http", "blackbox_exporter needs the URLs it probes: "
                             "set `probes.urls`")
            return None
        urls = _valid_list(body["urls"])
        if len(targets["http"]) > 1:
            self.problem("targets.http", "expected one blackbox_exporter address: Prometheus "
                         "sends every probe of `probes.urls` to it")
        module = body.get("module") or DEFAULT_BLACKBOX_MODULE
        stock = module in BLACKBOX_STOCK_MODULES
        if body.get("ca_file") and stock:
            self.problem("probes.ca_file", f"{module} is a stock module of blackbox_exporter, "
                         "which Vigil does not rewrite; name a module of your own in "
                         "`probes.module` (e.g. vigil_http_2xx) and Vigil writes it with this CA")
        served = signals.get("served_certificate_expiry")
        if served is not None and served.thresholds and served.enabled and not served.optional:
            for index, url in enumerate(body["urls"]):
                if url is not INVALID and url.startswith("http://"):
                    self.problem(join("probes.urls", index),
                                 f"{url} serves no certificate, so served_certificate_expiry "
                                 "would report its data absent; probe https URLs or set "
                                 "`optional: true` on that signal")
        return Probes(urls=tuple(urls), module=module, ca_file=body.get("ca_file"),
                      stock_module=stock)

    def _check_source(self, path: str, expr: str) -> None:
        """A custom expression on Vigil's metrics of a role that reads a standard exporter:
        nothing scrapes them, so it would never have data."""
        for role, prefix in VIGIL_PREFIXES.items():
            source = self.exporters.get(role, catalogue.VIGIL)
            metric = re.search(rf"\b{prefix}[a-zA-Z0-9_:]*", expr)
            if source != catalogue.VIGIL and metric is not None:
                self.problem(path, f"reads {metric.group(0)}, a metric of Vigil's {role} "
                             f"exporter, but `exporters.{role}` is {source}: read {source}'s "
                             "metrics instead")
                return

    def _kubernetes(self) -> Kubernetes | None:
        body = self.data.get("kubernetes")
        if body in (None, INVALID) or _valid(body).get("namespace") in (None, INVALID):
            return None
        body = _valid(body)
        return Kubernetes(namespace=body["namespace"],
                          labels=dict(sorted(_valid(body.get("labels") or {}).items())),
                          secret=body.get("secret") or f"{self.get('name')}-alertmanager",
                          scrape=body.get("scrape") or "service_monitor")

    def _capacity(self) -> Capacity:
        body = _valid(self.data.get("capacity") or {})
        default = Capacity()
        found = {k: v for k, v in body.items() if v is not INVALID}
        if "projections" in found:
            projections = [p for p in found["projections"] if p is not INVALID]
            found["projections"] = tuple(sorted(set(projections))) or default.projections
        capacity = replace(default, **found)
        if capacity.scale_down >= capacity.scale_up:
            self.problem(join("capacity", "scale_down"),
                         f"{units.format_percent(capacity.scale_down)} is not below scale_up "
                         f"{units.format_percent(capacity.scale_up)}; expected a lower line")
        if capacity.scale_up + capacity.reserve > 1 + 1e-9:
            self.problem(join("capacity", "reserve"),
                         f"{units.format_percent(capacity.reserve)} of reserve above scale_up "
                         f"{units.format_percent(capacity.scale_up)} is more than 100%; expected "
                         "scale_up plus reserve of at most 100%")
        return capacity

    # Monitoring the monitoring ------------------------------------------------------
    def _monitoring(self, severities: dict[str, Severity], jobs: dict[str, str],
                    alertmanagers: tuple[str, ...]) -> Monitoring:
        body = _valid(self.data.get("monitoring") or {})
        ordered = list(severities) or ["critical"]

        def severity(path: str, given: Any, preferred: str, fallback: str) -> str:
            if given in (None, INVALID):
                return preferred if preferred in severities else fallback
            if given in self._declared_severities() and given not in severities:
                return fallback  # that severity is broken and already reported
            if given not in severities:
                self.problem(path, f"unknown severity {given!r}; expected one of: "
                             f"{', '.join(severities)}")
                return fallback
            return str(given)

        down = _valid(body.get("target_down") or {})
        heartbeat = _valid(body.get("heartbeat") or {})
        token = heartbeat.get("token")
        inhibitor = body.get("info_inhibitor")
        if inhibitor in (None, INVALID):
            info: str | None = "info" if "info" in severities else None
        elif inhibitor == "none":
            info = None
        else:
            info = severity("monitoring.info_inhibitor", inhibitor, "", ordered[-1])
            if info not in severities:
                info = None
            elif info == ordered[0]:
                self.problem("monitoring.info_inhibitor", f"{info!r} is the most severe "
                             "severity: nothing could ever let its alerts through")
        own_jobs, own_targets = {}, {}
        for what, default_job, default_targets in (("prometheus", "prometheus", ("localhost:9090",)),
                                                   ("alertmanager", "alertmanager", alertmanagers)):
            section = _valid(body.get(what) or {})
            own_jobs[what] = section.get("job") or default_job
            own_targets[what] = tuple(_valid_list(section.get("targets"))) or default_targets
            if own_jobs[what] in jobs.values():
                self.problem(join(join("monitoring", what), "job"),
                             f"job {own_jobs[what]!r} is also an exporter's; Prometheus needs a "
                             "distinct name per scrape job")
        defaults = _valid(self.data.get("defaults") or {})
        return Monitoring(
            heartbeat=Heartbeat(url=heartbeat.get("url"),
                                token=_secret(token) if isinstance(token, dict) else None,
                                repeat_interval=heartbeat.get("repeat_interval") or 60.0),
            severity=severity("monitoring.severity", body.get("severity"), "warning", ordered[-1]),
            target_down_severity=severity("monitoring.target_down.severity", down.get("severity"),
                                          "critical", ordered[0]),
            target_down_for=down.get("for", defaults.get("for", 300.0)),
            for_=body.get("for", 600.0),
            team=body.get("team") or defaults.get("team") or "operations",
            info_severity=info,
            jobs=own_jobs,
            targets=own_targets,
        )

    def _reports(self, receivers: dict[str, Receiver]) -> dict[str, Report]:
        result = {}
        for name, body in _valid(self.data.get("reports") or {}).items():
            body = _valid(body)
            if "period" not in body:
                continue
            path = join("reports", name)
            recipients = _valid_list(body.get("recipients"))
            self._check_receivers(join(path, "recipients"), recipients, receivers)
            for index, recipient in enumerate(recipients):
                receiver = receivers.get(recipient)
                if receiver is not None and "email" not in receiver.integrations:
                    self.problem(join(join(path, "recipients"), index),
                                 f"receiver {recipient!r} has no `email`; a report is mailed")
            if recipients and self.data.get("email") in (None, INVALID):
                self.problem(join(path, "recipients"),
                             "mailing a report needs the top-level `email` section")
            result[name] = Report(name, body.get("audience") or name.capitalize(),
                                  body["period"], tuple(recipients))
        return result

    def _failure_severities(self, severities: dict[str, Severity]) -> tuple[str, ...]:
        chosen = _valid_list(_valid(self.data.get("reliability") or {}).get("severities"))
        for index, name in enumerate(chosen):
            if name not in severities:
                self.problem(join(join("reliability", "severities"), index),
                             f"unknown severity {name!r}; expected one of: {', '.join(severities)}")
        if chosen:
            return tuple(n for n in chosen if n in severities)
        return tuple(n for n, s in severities.items() if s.rank <= 1)

    # Receivers and routing --------------------------------------------------------
    def _receivers(self) -> dict[str, Receiver]:
        result = {}
        for name, body in _valid(self.data.get("receivers") or {}).items():
            integrations = {
                channel: {k: _secret(v) if isinstance(v, dict) else v
                          for k, v in _valid(settings).items()}
                for channel, settings in _valid(body).items()
            }
            if not integrations:
                self.problem(join("receivers", name), "expected at least one channel")
            result[name] = Receiver(name, integrations)
        return result

    def _email(self, receivers: dict[str, Receiver]) -> EmailSettings | None:
        body = self.data.get("email")
        if body in (None, INVALID):
            for receiver in receivers.values():
                if "email" in receiver.integrations:
                    self.problem(join(join("receivers", receiver.name), "email"),
                                 "e-mail needs the top-level `email` section (smarthost, from)")
                    break
            return None
        password = body.get("password")
        return EmailSettings(
            smarthost=body.get("smarthost", ""), sender=body.get("from", ""),
            username=body.get("username"),
            password=_secret(password) if isinstance(password, dict) else None,
            require_tls=body.get("require_tls", True),
        )

    def _check_receivers(self, path: str, names: list[str], receivers: dict[str, Receiver]) -> None:
        for index, name in enumerate(names):
            if name is not INVALID and name not in receivers:
                known = ", ".join(sorted(receivers)) or "none declared"
                self.problem(join(path, index),
                             f"unknown receiver {name!r}; expected one of: {known}")

    def _severities(self, receivers: dict[str, Receiver]) -> dict[str, Severity]:
        result = []
        for name, body in _valid(self.data.get("severities") or {}).items():
            path = join("severities", name)
            body = _valid(body)
            if "priority" not in body:
                continue
            recipients = _valid_list(body.get("recipients"))
            channels = tuple(_valid_list(body.get("channels")))
            self._check_receivers(join(path, "recipients"), recipients, receivers)
            self._check_recipients_reachable(path, recipients, channels, receivers)
            steps = []
            previous = 0.0
            for index, step in enumerate(_valid_list(body.get("escalation"))):
                step = _valid(step)
                step_path = join(join(path, "escalation"), index)
                notify = _valid_list(step.get("notify"))
                self._check_receivers(join(step_path, "notify"), notify, receivers)
                after = step.get("after")
                if after is None or after is INVALID:
                    continue
                if after <= previous:
                    self.problem(join(step_path, "after"),
                                 "expected a later time than the previous escalation level")
                previous = after
                steps.append(EscalationStep(index + 2, after, tuple(notify)))
            result.append(Severity(
                name=name, priority=body["priority"], channels=channels,
                recipients=tuple(recipients), response=_opt(body.get("response")),
                resolution=_opt(body.get("resolution")),
                colour=_opt(body.get("colour")) or SEVERITY_COLOURS[body["priority"]],
                escalation=tuple(steps),
            ))
        if not result and "severities" in self.data:
            self.problem("severities", "expected at least one severity")
        result.sort(key=lambda s: (s.rank, s.name))
        return {s.name: s for s in result}

    def _check_recipients_reachable(self, path: str, recipients: list[str],
                                    channels: tuple[str, ...],
                                    receivers: dict[str, Receiver]) -> None:
        """A recipient with none of the severity's channels would silently get nothing."""
        notifying = [c for c in channels if c != "dashboard"]
        if not notifying:
            return
        for index, name in enumerate(recipients):
            receiver = receivers.get(name)
            if receiver and not set(receiver.integrations) & set(notifying):
                self.problem(join(join(path, "recipients"), index),
                             f"receiver {name!r} has none of this severity's channels "
                             f"({', '.join(notifying)})")

    def _teams(self, receivers: dict[str, Receiver]) -> dict[str, tuple[str, ...]]:
        result = {}
        for name, body in _valid(self.data.get("teams") or {}).items():
            recipients = _valid_list(_valid(body).get("recipients"))
            self._check_receivers(join(join("teams", name), "recipients"), recipients, receivers)
            result[name] = tuple(recipients)
        return result

    def _maintenance(self, severities: dict[str, Severity]) -> tuple[str, tuple[MaintenanceWindow, ...]]:
        body = _valid(self.data.get("maintenance") or {})
        timezone = body.get("timezone") or "UTC"
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.problem("maintenance.timezone",
                         f'expected an IANA time zone such as "Asia/Bangkok", got {timezone!r}')
        windows = []
        for name, window in _valid(body.get("windows") or {}).items():
            window = _valid(window)
            path = join("maintenance.windows", name)
            if not {"days", "start", "end"} <= window.keys():
                continue
            if window["end"] <= window["start"]:
                self.problem(join(path, "end"), f"expected a time after start "
                             f"({window['start']}); split a window that crosses midnight in two")
            muted = _valid_list(window.get("severities")) or list(severities)
            for index, severity in enumerate(muted):
                if severity not in severities:
                    self.problem(join(join(path, "severities"), index),
                                 f"unknown severity {severity!r}; expected one of: "
                                 f"{', '.join(severities)}")
            weekdays, ordinal = _parse_days(window["days"])
            windows.append(MaintenanceWindow(name, weekdays, ordinal, window["start"],
                                             window["end"], tuple(muted)))
        return timezone, tuple(windows)

    def _declared_severities(self) -> set[str]:
        declared = self.data.get("severities")
        return set(declared) if isinstance(declared, dict) else set()

    # Signals ------------------------------------------------------------------------
    def _signals(self, severities: dict[str, Severity], receivers: dict[str, Receiver],
                 teams: dict[str, tuple[str, ...]]) -> dict[str, Signal]:
        defaults = _valid(self.data.get("defaults") or {})
        default_for = defaults.get("for", 300.0)
        default_team = defaults.get("team") or "operations"
        default_absent = defaults.get("absent_for", DEFAULT_ABSENT_FOR)
        result: dict[str, Signal] = {}
        panel_ids: dict[str, int] = {}
        for name, body in _valid(self.data.get("signals") or {}).items():
            path = join("signals", name)
            body = _valid(body)
            definition = self._definition(name, body, path)
            if definition is None:
                continue
            parsed = []
            for key, raw in body.items():
                if key in SPEC_SIGNAL_FIELDS:
                    continue
                if key in self._declared_severities() and key not in severities:
                    continue  # that severity is broken and already reported
                if key not in severities:
                    self.problem(join(path, key), "unknown key; expected a severity ("
                                 f"{', '.join(severities)}) or one of: "
                                 f"{', '.join(sorted(SPEC_SIGNAL_FIELDS))}")
                    continue
                try:
                    signed = "expr" in body and definition.unit in thresholds.SIGNED_UNITS
                    parsed.append(thresholds.parse_threshold(
                        raw, definition.unit, definition.direction, key, signed))
                except units.UnitError as err:
                    self.problem(join(path, key), str(err))
            parsed.sort(key=lambda t: severities[t.severity].rank)
            self._check_threshold_order(path, parsed, severities)
            recipients = _valid_list(body.get("recipients"))
            self._check_receivers(join(path, "recipients"), recipients, receivers)
            team = body.get("team") or default_team
            optional = body.get("optional", False)
            if "expr" in body and parsed and body.get("enabled", True) and not optional:
                self._check_watchable(join(path, "expr"), definition.expr)
            panel_ids[definition.dashboard] = panel_ids.get(definition.dashboard, 0) + 1
            result[name] = Signal(
                definition=definition, thresholds=tuple(parsed),
                for_=body.get("for", default_for), team=team,
                recipients=tuple(recipients), baseline_weeks=body.get("baseline_weeks") or 4,
                enabled=body.get("enabled", True), panel_id=panel_ids[definition.dashboard],
                absent_for=body.get("absent_for", default_absent), optional=optional,
            )
        return result

    def _definition(self, name: str, body: dict[str, Any], path: str) -> catalogue.SignalDefinition | None:
        builtin = catalogue.BUILTIN.get(name)
        overrides = {k: body[k] for k in ("title", "description", "runbook") if k in body}
        currency = self._currency(name, body, path)
        if currency:
            overrides["currency"] = currency
        if "expr" not in body:
            if builtin is None:
                known = ", ".join(catalogue.BUILTIN)
                self.problem(path, f"unknown signal; expected a catalogue signal ({known}) "
                             "or a custom signal with `expr` and `unit`")
                return None
            for key in ("unit", "by", "direction", "exporter", "dashboard"):
                if key in body:
                    self.problem(join(path, key), "only a custom signal (with `expr`) sets this")
            source = self.exporters.get(builtin.exporter or "", catalogue.VIGIL)
            resolved = catalogue.for_source(builtin, source)
            if resolved is None:
                self.problem(path, f"{source} (exporters.{builtin.exporter}) has no metric for "
                             f"signal {name}: {catalogue.STANDARD_HINTS[source]}; or set "
                             f"`exporters.{builtin.exporter}: vigil`, or remove the signal "
                             f"(`{name}: null` in a spec that extends another)")
                return None
            return replace(resolved, **overrides)
        if "unit" not in body:
            self.problem(join(path, "unit"), "a custom signal needs a unit")
            return None
        expr = body["expr"]
        self._check_promql(join(path, "expr"), expr)
        self._check_source(join(path, "expr"), expr)
        if body["unit"] == "events" and "$window" not in expr:
            self.problem(join(path, "expr"), "an events signal needs `$window` in "
                         "increase(...[$window]) so `5/h` can set the range")
        return catalogue.SignalDefinition(
            name=name, title=overrides.get("title", name.replace("_", " ").capitalize()),
            unit=body["unit"], expr=expr, dashboard=body.get("dashboard", "application"),
            description=overrides.get("description", f"Custom signal {name}."),
            runbook=overrides.get("runbook", "No runbook written for this signal yet."),
            exporter=body.get("exporter"), by=tuple(_valid_list(body.get("by"))),
            direction="<" if body.get("direction") == "below" else ">", source=None,
            currency=overrides.get("currency", catalogue.DEFAULT_CURRENCY),
        )

    def _currency(self, name: str, body: dict[str, Any], path: str) -> str | None:
        """The currency of a money signal: its own, else the spec's (default USD)."""
        builtin = catalogue.BUILTIN.get(name)
        unit = body.get("unit") if "expr" in body else builtin.unit if builtin else None
        if "currency" in body and unit not in (None, INVALID, "currency"):
            self.problem(join(path, "currency"), "only a signal in `currency` has a currency")
        if unit != "currency":
            return None
        own = body.get("currency")
        spec_wide = self.data.get("currency")
        return next((c for c in (own, spec_wide) if c not in (None, INVALID)), None)

    def _check_promql(self, path: str, template: str) -> None:
        """A typo in a custom expression must fail here, not in Prometheus at 3 a.m."""
        expr = promql.render(template, 'job="vigil"', "5m")
        try:
            promql_parser.parse(expr)
        except ValueError as err:
            self.problem(path, f"expected a PromQL expression: {err}")

    def _check_watchable(self, path: str, template: str) -> None:
        """A threshold on an expression that reads no metric by name has no absent-data
        alert: if it stops returning data, nothing would say so."""
        try:
            clauses = promql.presence_clauses(promql.render(template, "", "5m"))
        except ValueError:
            return  # not PromQL: already reported by _check_promql
        if not clauses:
            self.problem(path, "reads no metric by name, so no absent-data alert can watch "
                         "it; select a metric by name (e.g. `my_metric{$sel}`) or set "
                         "`optional: true`")

    def _check_threshold_order(self, path: str, parsed: list[thresholds.Threshold],
                               severities: dict[str, Severity]) -> None:
        """A warning that fires later than the critical is a typo or a wrong plan."""
        for stricter, milder in itertools.pairwise(parsed):
            if stricter.kind != milder.kind:
                continue
            if not thresholds.strictness_order(milder, stricter):
                self.problem(join(path, milder.severity),
                             f"{milder.text} would fire after the {stricter.severity} "
                             f"threshold {stricter.text}; expected {milder.severity} to be "
                             f"less strict than {stricter.severity}")

    # SLOs ---------------------------------------------------------------------------
    def _slos(self, severities: dict[str, Severity]) -> dict[str, Slo]:
        result = {}
        ordered = list(severities) or ["critical"]
        page = "critical" if "critical" in severities else ordered[0]
        ticket = "warning" if "warning" in severities else ordered[-1]
        default_absent = _valid(self.data.get("defaults") or {}).get("absent_for",
                                                                     DEFAULT_ABSENT_FOR)
        for name, body in _valid(self.data.get("slos") or {}).items():
            body = _valid(body)
            path = join("slos", name)
            sli = _valid(body.get("sli") or {})
            objective = body.get("objective")
            latency_sli = self._latency_sli(join(path, "sli"), sli)
            if latency_sli is not None:
                sli = {**sli, "good": latency_sli.good_expr, "total": latency_sli.total_expr,
                       "exporter": sli.get("exporter", latency_sli.default_exporter)}
            elif "latency" not in sli and ("error" in sli or "good" in sli) and "total" not in sli:
                self.problem(join(join(path, "sli"), "total"),
                             "required key is missing (with `error` or `good`)")
            if objective in (None, INVALID) or "total" not in sli:
                continue
            for key in ("error", "good", "total"):
                if key in sli:
                    self._check_promql(join(join(path, "sli"), key), sli[key])
                if key in sli and (latency_sli is None or key == "good"):
                    self._check_source(join(join(path, "sli"), "latency" if latency_sli else key),
                                       sli[key])
                if key in sli and latency_sli is None and \
                        (message := latency.raw_bucket_problem(sli[key])) is not None:
                    self.problem(join(join(path, "sli"), key), message)
                if key in sli and "$window" not in sli[key]:
                    self.problem(join(join(path, "sli"), key),
                                 "expected a `$window` placeholder in the range, e.g. "
                                 "rate(http_requests_total[$window])")
            period = body.get("period") or 30 * 86400.0
            windows = []
            raw_windows = body.get("windows")
            if raw_windows in (None, INVALID):
                raw_windows = [
                    {"long": lw, "short": sw, "budget": b,
                     "severity": page if action == "page" else ticket}
                    for lw, sw, b, action in DEFAULT_BURN_WINDOWS
                ]
            for index, window in enumerate(raw_windows):
                window = _valid(window)
                window_path = join(join(path, "windows"), index)
                if not {"long", "short", "budget", "severity"} <= window.keys():
                    continue
                if window["severity"] not in severities:
                    self.problem(join(window_path, "severity"),
                                 f"unknown severity {window['severity']!r}; expected one of: "
                                 f"{', '.join(severities)}")
                if window["short"] >= window["long"]:
                    self.problem(join(window_path, "short"), "expected a shorter window than long")
                if window["long"] > period:
                    self.problem(join(window_path, "long"),
                                 "expected a window no longer than the SLO period")
                factor = window["budget"] * period / window["long"]
                if factor * (1 - objective) > 1:
                    self.problem(join(window_path, "budget"),
                                 f"burn factor {factor:g} needs an error ratio above 100%; "
                                 "expected a smaller budget share or a longer window")
                windows.append(BurnWindow(
                    window["long"], window["short"], window["budget"], window["severity"],
                    round(factor, 6), window.get("for") or body.get("for"),
                ))
            min_rate = body.get("min_rate")
            result[name] = Slo(
                name=name, title=body.get("title") or name.replace("_", " ").capitalize(),
                description=body.get("description") or "",
                objective=objective, period=period,
                error_expr=sli.get("error"), good_expr=sli.get("good"), total_expr=sli["total"],
                exporter=sli.get("exporter"), windows=tuple(windows),
                min_rate=min_rate.per_second if min_rate not in (None, INVALID) else 0.0,
                min_rate_per=min_rate.per_seconds if min_rate not in (None, INVALID) else 1.0,
                team=body.get("team") or "operations",
                dashboard=body.get("dashboard") or "application",
                latency=latency_sli,
                absent_for=body.get("absent_for", default_absent),
            )
        return result

    def _latency_sli(self, path: str, sli: dict[str, Any]) -> LatencySli | None:
        """`sli.latency` as a LatencySli, or None (absent, or a problem already reported)."""
        body = sli.get("latency")
        if body is None or body is INVALID:
            return None
        body = _valid(body)
        where = join(path, "latency")
        if "total" in sli:
            self.problem(join(path, "total"), "not used with `latency`: the histogram's "
                         "`_count` is the total; leave it out")
        metric = body.get("metric") or latency.HTTP_HISTOGRAM
        buckets = body.get("buckets")
        if buckets is None:
            if metric != latency.HTTP_HISTOGRAM:
                self.problem(join(where, "buckets"), f"required for {metric}: list the bounds "
                             "it is exported with, so the threshold can be checked against them")
                return None
            buckets = list(latency.DEFAULT_BUCKETS)
        threshold = body.get("threshold")
        if threshold in (None, INVALID) or buckets is INVALID or INVALID in buckets:
            return None
        if (order := latency.buckets_problem(tuple(buckets))) is not None:
            self.problem(join(join(where, "buckets"), order[0]), order[1])
            return None
        result = LatencySli(threshold=threshold, metric=metric,
                            selector=body.get("selector") or "", buckets=tuple(buckets))
        if (message := latency.threshold_problem(result)) is not None:
            self.problem(join(where, "threshold"), message)
            return None
        if result.selector:
            self._check_promql(join(where, "selector"), result.good_expr)
        return result


SPEC_SIGNAL_FIELDS = frozenset(SIGNAL.fields)
RELIABILITY_OPTIONS = frozenset({"window", "severities"})  # settings, not targets


def _parse_days(days: str) -> tuple[tuple[str, ...], str | None]:
    words = days.replace(",", " ").split()
    if words[0] in {"every", "daily"}:
        return (), None
    ordinal = words[0] if words[0] in {"first", "second", "third", "fourth", "last"} else None
    weekdays = tuple(w for w in words if w != ordinal)
    return weekdays, ordinal


def _secret(body: dict[str, Any]) -> Secret:
    return Secret(env=body.get("env"), file=body.get("file"))


def _valid(value: Any) -> dict[str, Any]:
    if value is INVALID or not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if v is not INVALID}


def _valid_list(value: Any) -> list[Any]:
    if value is INVALID or not isinstance(value, list):
        return []
    return [v for v in value if v is not INVALID]


def _opt(value: Any) -> Any:
    return None if value is INVALID else value


