"""The shape of `slo/spec.yaml`, written once.

`SPEC` validates and converts a spec (generator/loader.py) and renders
`slo/spec.schema.json` (`vigil schema`), so editors and Vigil can never disagree on
what a valid spec is. Rules that need more than one value at a time (a warning
stricter than its critical, a receiver that does not exist) live in
generator/checks.py, one function each.
"""

from __future__ import annotations

from typing import Any

from generator import catalogue, latency, thresholds, units
from generator.schema_dsl import (
    Bool,
    Either,
    Free,
    ListOf,
    MapOf,
    Node,
    Num,
    Obj,
    Overlay,
    Quantity,
    Render,
    SchemaView,
    Shared,
    Str,
)

CHANNELS = ("pagerduty", "sms", "phone", "slack", "email", "webhook", "dashboard")
PRIORITIES = ("P0", "P1", "P2", "P3")
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
CLOCK = r"(?:[01]\d|2[0-3]):[0-5]\d|24:00"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = ("first", "second", "third", "fourth", "last")
_DAYS_PATTERN = (
    r"every day|daily|(?:(?:first|second|third|fourth|last) )?"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?:, ?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))*"
)


# Upper bounds of durations. Prometheus and Alertmanager refuse durations beyond about
# 292 years ("duration out of range"); tighter bounds keep every generated file usable:
# an alert's `for` and an escalation's `after` are replayed minute by minute in the
# generated promtool tests, so they stay within a day (escalations within a week);
# windows and periods within a year.
MAX_WAIT = 86400.0
MAX_ESCALATION = 7 * 86400.0
MAX_SPAN = 365 * 86400.0


# The links of the shipped spec, which are also the defaults: valid URLs, but nobody's
# runbooks or Grafana (generator/example_values.py warns while a spec still uses them).
EXAMPLE_URLS = {
    "grafana_url": "http://localhost:3000",
    "runbook_url": "https://runbooks.example.com/vigil",
}


def _duration(description: str, example: str, positive: bool = True,
              maximum: float = MAX_SPAN) -> Quantity:
    """A duration field; `example` is one right for it (a test checks it passes `accept`)."""
    def accept(seconds: float) -> str | None:
        if positive and seconds <= 0:
            return "expected a duration above zero"
        if seconds > maximum:
            return f"expected a duration of at most {units.format_duration(maximum)}"
        if abs(seconds * 1000 - round(seconds * 1000)) > 1e-6:
            return "expected a whole number of milliseconds"
        return None

    return Quantity(units.parse_duration, example, description, accept,
                    pattern=rf"\s*{units.DURATION_PATTERN}\s*")


def _percent(description: str, example: str, below_100: bool = True) -> Quantity:
    def accept(ratio: float) -> str | None:
        if below_100 and not 0 < ratio < 1:
            return "expected a percentage above 0% and below 100%"
        return None

    return Quantity(units.parse_percent, example, description, accept,
                    pattern=rf"\s*{units.PERCENT_PATTERN}\s*")


SECRET = Obj(
    {
        "env": Str("Name of an environment variable holding the secret.",
                   pattern=r"[A-Z_][A-Z0-9_]*", pattern_hint="an UPPER_CASE variable name"),
        "file": Str("Path of a file holding the secret (e.g. a Docker or Kubernetes secret).",
                    pattern=r"/.+", pattern_hint="an absolute path"),
    },
    "A secret is referenced, never written in: by environment variable or by file.",
    exactly_one_of=("env", "file"),
)

RECEIVER = Obj(
    {
        "pagerduty": Obj({"routing_key": SECRET}, "PagerDuty Events API v2.",
                         required=("routing_key",)),
        "slack": Obj({"webhook_url": SECRET,
                      "channel": Str("Channel such as #ops-alerts.", pattern=r"[#@].+",
                                     pattern_hint='a channel such as "#ops-alerts"')},
                     "Slack incoming webhook.", required=("webhook_url",)),
        "email": Obj({"to": Str("Recipient address.", pattern=r"[^@\s]+@[^@\s]+",
                                pattern_hint="an e-mail address")},
                     "E-mail through the spec's `email` smarthost.", required=("to",)),
        **{channel: Obj(
            {"url": Str("Gateway endpoint; say who is called in it (e.g. ?to=team_lead). Not "
                        "a secret: authentication goes in `token`.", pattern=r"https?://\S+",
                        pattern_hint="an http(s) URL"),
             "token": SECRET},
            f"{what} reached through an Alertmanager webhook, with a bearer token.",
            required=("url",))
          for channel, what in (("sms", "SMS gateway"), ("phone", "Phone-call gateway"),
                                ("webhook", "Any service"))},
    },
    "How one person or team is reached, per channel.",
)

# Severity names a spec may declare. A closed list, so that a threshold key (`warnign:`)
# or a severity named elsewhere can be checked in an editor, which cannot look up the
# spec's own `severities`; every alerting and paging convention's names are in it.
SEVERITY_NAMES = ("critical", "high", "major", "error", "warning", "medium", "minor", "low",
                  "notice", "info", "page", "ticket")
# Keys only a custom signal (one with `expr`) may set.
CUSTOM_ONLY = ("expr", "unit", "exporter", "dashboard", "by", "direction")

_SIGNAL_FIELDS: dict[str, Node] = {
        "title": Str("Human title; defaults to the catalogue's.", min_length=1),
        "description": Str("What the signal measures."),
        "runbook": Str("What an operator should do when it fires."),
        "expr": Str("PromQL for a custom signal. Use `$sel` inside braces for the spec's "
                    "selectors and `$window` for rate ranges."),
        "unit": Str("Unit of a custom signal.", enum=tuple(catalogue.UNIT_KINDS)),
        "currency": Str("Currency of a signal in `currency` (ISO 4217 code); default the "
                        "spec's `currency`.", enum=catalogue.CURRENCIES),
        "exporter": Str("Exporter whose job scopes a custom signal.", enum=catalogue.EXPORTERS),
        "dashboard": Str("Dashboard a custom signal is drawn on.", enum=catalogue.DASHBOARDS),
        "by": ListOf(Str(pattern=LABEL_NAME, pattern_hint="a label name"),
                     "Labels each alert is raised per (a custom signal's aggregation)."),
        "direction": Str("Which side of the threshold is bad, for a custom signal.",
                         enum=("above", "below")),
        "for": _duration("How long the threshold must be crossed before the alert fires.",
                         "5m", positive=False, maximum=MAX_WAIT),
        "team": Str("Team the alert belongs to (a key of `teams`, or a free label).",
                    min_length=1),
        "recipients": ListOf(Str(), "Receivers notified instead of the severity's recipients.",
                             min_items=1),
        "baseline_weeks": Num("Weeks averaged for `N% below average` thresholds.",
                              minimum=1, integer=True),
        "enabled": Bool("false keeps the signal on dashboards but raises no alert."),
        "absent_for": _duration("How long the signal's metrics may be missing from a target "
                                "before its absent-data alert fires; overrides "
                                "`defaults.absent_for`.", "10m", maximum=MAX_WAIT),
        "optional": Bool("true: the signal's metrics may legitimately be missing (no "
                         "absent-data alert)."),
    }
_THRESHOLD = Free("Threshold for the severity of the same name: `80%`, `100ms`, `500/s`, "
                  "`5/h`, `any`, `20% below average`, `< 4.0`; a forecast `90% within 4h` "
                  "(`over 2h` sets the trend's lookback); an anomaly `anomaly 3σ` or "
                  "`{anomaly: {sigma: 3, season: 1w, seasons: 3}}`.",
                  types=("string", "number", "object"))


def _threshold(unit: str, signed: bool = False) -> Node:
    """A threshold of `unit` (JSON Schema only: the loader reads it with the signal's unit)."""
    kind = f"{unit}-signed" if signed else unit
    return Shared(f"threshold-{kind}", Free(
        f"Threshold (unit {unit}) for the severity of the same name; "
        f"{thresholds.expected(unit)}.", forms=thresholds.json_forms(unit, signed),
        examples=(thresholds.example(unit),)))


SIGNAL = Obj(
    _SIGNAL_FIELDS,
    "A signal's thresholds are keys named after severities, e.g. `warning: 80%`.",
    extra=_THRESHOLD, extra_keys=SEVERITY_NAMES,
)

# What editors see of a signal: a catalogue one takes its unit's thresholds and none of
# the custom keys; any other name (or a catalogue one with `expr`) is custom, needs
# `expr` and `unit`, and its thresholds follow `unit`.
CUSTOM_SIGNAL = Shared("custom-signal", Obj(
    _SIGNAL_FIELDS,
    "A custom signal (not in the catalogue): `expr` and `unit` are required; thresholds "
    "are keys named after severities.",
    required=("expr", "unit"), extra=_THRESHOLD, extra_keys=SEVERITY_NAMES,
    when=tuple(("unit", unit, _threshold(unit, unit in thresholds.SIGNED_UNITS))
               for unit in catalogue.UNIT_KINDS),
))
_CATALOGUE_SIGNALS = {unit: Shared(f"catalogue-signal-{unit}", Obj(
    {k: v for k, v in _SIGNAL_FIELDS.items()
     if k not in CUSTOM_ONLY and (k != "currency" or unit == "currency")},
    f"A catalogue signal in {unit}: thresholds are keys named after severities.",
    extra=_threshold(unit), extra_keys=SEVERITY_NAMES,
)) for unit in catalogue.UNIT_KINDS}


def _catalogue_signal(definition: catalogue.SignalDefinition) -> Node:
    return Either("expr", CUSTOM_SIGNAL, _CATALOGUE_SIGNALS[definition.unit],
                  f"{definition.title}: {definition.description}")


SIGNALS = SchemaView(
    MapOf(SIGNAL, "Signals with their thresholds; names from the catalogue, or custom ones "
                  "with `expr` and `unit`."),
    MapOf(CUSTOM_SIGNAL, "Signals with their thresholds; names from the catalogue, or custom "
                         "ones with `expr` and `unit`.",
          known={name: _catalogue_signal(d) for name, d in catalogue.BUILTIN.items()}),
)

BURN_WINDOW = Obj(
    {
        "long": _duration("Long window; both windows must burn for the alert to fire.", "1h"),
        "short": _duration("Short window; makes the alert stop soon after the burn stops.",
                           "5m"),
        "budget": _percent("Share of the period's error budget this pair alerts on; the burn "
                           "factor is budget × period / long (2% over 1h of 30d → 14.4).", "2%"),
        "severity": Str("Severity of the alert (a key of `severities`).",
                        schema_enum=SEVERITY_NAMES),
        "for": _duration("Optional `for` of this alert.", "2m", maximum=MAX_WAIT),
    },
    "One multiwindow burn-rate alert.",
    required=("long", "short", "budget", "severity"),
)

LATENCY_SLI = Obj(
    {
        "threshold": _duration("Requests answered within this time are good; it must be one "
                               "of `buckets`, e.g. 300ms.", "300ms"),
        "metric": Str("Histogram the SLI reads, without `_bucket`; default the http "
                      f"exporter's {latency.HTTP_HISTOGRAM}.", pattern=r"[a-zA-Z_:][a-zA-Z0-9_:]*",
                      pattern_hint="a metric name"),
        "selector": Str("Extra label matchers, e.g. `route!=\"/healthz\"`."),
        "buckets": ListOf(_duration("A bucket's upper bound.", "250ms"),
                          "The histogram's bucket bounds as its exporter is configured (the "
                          "http exporter's `request_duration_buckets`); default the http "
                          "exporter's default buckets. Needed for any other `metric`.",
                          min_items=1, max_items=latency.MAX_BUCKETS),
    },
    "A latency SLI: good requests are those within `threshold`, counted from the "
    "histogram's bucket of that bound; total is its `_count`.",
    required=("threshold",),
)

SLO = Obj(
    {
        "title": Str("Human title.", min_length=1),
        "description": Str("What the objective promises."),
        "objective": _percent("Target share of good events, e.g. 99.9%.", "99.9%"),
        "period": _duration("Compliance period; the error budget is spent over it.", "30d"),
        "sli": Obj(
            {
                "error": Str("PromQL rate of bad events; `$window` is the range, `$sel` the "
                             "selectors."),
                "good": Str("PromQL rate of good events (instead of `error`)."),
                "total": Str("PromQL rate of all events (with `error` or `good`)."),
                "latency": LATENCY_SLI,
                "exporter": Str("Exporter whose job scopes `$sel`; with `latency` on the "
                                "default histogram, http.", enum=catalogue.EXPORTERS),
            },
            "The service level indicator as error/total, good/total or latency.",
            exactly_one_of=("error", "good", "latency"),
        ),
        "windows": ListOf(BURN_WINDOW, "Burn-rate alerts; defaults to the SRE workbook's "
                          "four (page 2%/1h+5m and 5%/6h+30m, ticket 10%/1d+2h and 10%/3d+6h).",
                          min_items=1),
        "min_rate": Quantity(units.parse_rate, "1/m",
                             "Below this rate of total events no burn-rate alert fires: "
                             "a handful of requests must not page anyone.",
                             pattern=rf"\s*{units.RATE_PATTERN}\s*"),
        "for": _duration("`for` applied to every burn-rate alert without its own.", "2m",
                         maximum=MAX_WAIT),
        "team": Str("Team label of the SLO's alerts.", min_length=1),
        "dashboard": Str("Dashboard that shows the SLI.", enum=catalogue.DASHBOARDS),
        "absent_for": _duration("How long the SLI may return no data before its alert fires; "
                                "overrides `defaults.absent_for`.", "10m", maximum=MAX_WAIT),
    },
    "A service level objective with multiwindow, multi-burn-rate alerts.",
    required=("objective", "sli"),
)

SEVERITY = Obj(
    {
        "priority": Str("Incident priority.", enum=PRIORITIES),
        "channels": ListOf(Str(enum=CHANNELS), "Channels used for this severity.", min_items=1),
        "recipients": ListOf(Str(), "Receivers notified first.", min_items=1),
        "response": _duration("Time to first response.", "15m"),
        "resolution": _duration("Time to resolution.", "4h"),
        "colour": Str("Colour of this severity's threshold lines on dashboards."),
        "escalation": ListOf(
            Obj(
                {
                    "after": _duration("Time since the alert started firing.", "30m",
                                       maximum=MAX_ESCALATION),
                    "notify": ListOf(Str(), "Receivers of this escalation level.", min_items=1),
                },
                "One level up the escalation matrix.",
                required=("after", "notify"),
            ),
            "Escalation levels, in order; `after` counts from when the alert started firing.",
        ),
    },
    "A severity: its priority, channels, targets and escalation.",
    required=("priority", "channels", "recipients"),
)

MAINTENANCE_WINDOW = Obj(
    {
        "days": Str("`every day`, a weekday list such as `saturday, sunday`, or an ordinal "
                    "weekday of the month such as `first sunday`.",
                    pattern=_DAYS_PATTERN, pattern_hint='"every day", "sunday" or "first sunday"'),
        "start": Str("Start time, HH:MM.", pattern=CLOCK, pattern_hint='a time such as "02:00"'),
        "end": Str("End time, HH:MM, after start.", pattern=CLOCK,
                   pattern_hint='a time such as "04:00"'),
        "severities": ListOf(Str(schema_enum=SEVERITY_NAMES), "Severities muted; all when "
                             "left out.", min_items=1),
    },
    "A recurring window in which alerts are muted.",
    required=("days", "start", "end"),
)

REPORT = Obj(
    {
        "audience": Str("Who reads it, e.g. Engineering leadership.", min_length=1),
        "period": _duration("The period it covers and is compared with the one before "
                            "(1d, 7d or 30d).", "7d", maximum=90 * 86400.0),
        "recipients": ListOf(Str(min_length=1), "Receivers it is mailed to (their `email`).",
                             min_items=1),
    },
    "An operations report: its audience, period and recipients.",
    required=("period", "recipients"),
)

_SELF_JOB = {what: Obj(
    {"job": Str(f"Scrape job of {what} itself.", min_length=1),
     "targets": ListOf(Str(pattern=r"\S+:\d+", pattern_hint="host:port"),
                       f"Addresses {what} serves its own /metrics on." + (
                           " Defaults to `alertmanager`." if what == "alertmanager" else
                           " Defaults to localhost:9090."))},
    f"Prometheus scrapes {what} itself, for the alerts about it.")
    for what in ("prometheus", "alertmanager")}

MONITORING = Obj(
    {
        "heartbeat": Obj(
            {
                "url": Str("Heartbeat (dead man's switch) endpoint that the always-firing "
                           "Watchdog is posted to, e.g. a Healthchecks.io or Dead Man's Snitch "
                           "URL: when the posts stop, that service pages.",
                           pattern=r"https?://\S+", pattern_hint="an http(s) URL"),
                "token": SECRET,
                "repeat_interval": _duration("How often the Watchdog is posted again; keep it "
                                             "well under the heartbeat service's grace time.",
                                             "1m", maximum=MAX_WAIT),
            },
            "The dead man's switch: the Watchdog's dedicated receiver.",
        ),
        "severity": Str("Severity of the monitoring alerts (a key of `severities`); "
                        "default warning.", schema_enum=SEVERITY_NAMES),
        "target_down": Obj(
            {"severity": Str("Severity of a scrape target down; default critical.",
                             schema_enum=SEVERITY_NAMES),
             "for": _duration("How long a target must be down.", "5m", positive=False,
                              maximum=MAX_WAIT)},
            "An exporter, Prometheus or Alertmanager that Prometheus cannot scrape.",
        ),
        "for": _duration("`for` of the other monitoring alerts.", "10m", positive=False,
                         maximum=MAX_WAIT),
        "team": Str("Team label of the monitoring alerts; default `defaults.team`.",
                    min_length=1),
        "info_inhibitor": Str("Severity whose alerts notify only while an alert of a more "
                              "severe one fires in the same deployment (kube-prometheus's "
                              "InfoInhibitor); default info when declared. `none` turns it off.",
                              schema_enum=(*SEVERITY_NAMES, "none")),
        **_SELF_JOB,
    },
    "Alerts about the monitoring itself: Watchdog, targets and scrapes, exporters' health, "
    "Prometheus and Alertmanager.",
)

MAX_PROBES = 1000  # URLs probed through one blackbox_exporter

PROBES = Obj(
    {
        "urls": ListOf(Str(pattern=r"https?://\S+", pattern_hint="an http(s) URL"),
                       "URLs blackbox_exporter probes (its `/probe?target=`); each becomes a "
                       "target whose `instance` and `target` labels are the URL.",
                       min_items=1, max_items=MAX_PROBES),
        "module": Str("blackbox_exporter module of the probes; default http_2xx, from its stock "
                      "configuration. Another name makes Vigil write that module in "
                      "deploy/blackbox/blackbox.yml.", pattern=LABEL_NAME,
                      pattern_hint="a module name"),
        "ca_file": Str("CA certificate (path on the blackbox_exporter host) that probes trust "
                       "instead of the system's; needs a module Vigil writes (not a stock one).",
                       pattern=r"/.+", pattern_hint="an absolute path"),
    },
    "What blackbox_exporter probes, with `exporters.http: blackbox_exporter`.",
    required=("urls",),
)

# Kubernetes names and labels (a DNS-1123 label; a label key with an optional prefix).
K8S_NAME = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
K8S_LABEL_KEY = r"(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
K8S_LABEL_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"

KUBERNETES = Obj(
    {
        "namespace": Str("Namespace of every generated resource (and of the exporters' "
                         "Services the ServiceMonitors select).", pattern=K8S_NAME,
                         pattern_hint="a lower-case DNS label such as monitoring"),
        "labels": MapOf(Str(pattern=K8S_LABEL_VALUE, pattern_hint="a Kubernetes label value"),
                        "Labels on every generated resource: what the Prometheus resource's "
                        "ruleSelector and serviceMonitorSelector, and the Alertmanager's "
                        "alertmanagerConfigSelector match (e.g. release: kube-prometheus-stack).",
                        key_pattern=K8S_LABEL_KEY, key_hint="a Kubernetes label key"),
        "secret": Str("Secret holding the receivers' credentials: one key per `{env: NAME}` "
                      "reference (the variable's name in lower case) or `{file: PATH}` "
                      "reference (the file's base name). Default `<name>-alertmanager`.",
                      pattern=K8S_NAME, pattern_hint="a lower-case DNS label"),
        "scrape": Str("How Prometheus finds the exporters: `service_monitor` (default; "
                      "ServiceMonitors selecting the exporters' Services in the namespace, "
                      "as deploy/kubernetes/exporters/ creates them) or `static` (a "
                      "ScrapeConfig per job with the spec's `targets`, for exporters outside "
                      "the cluster).", enum=("service_monitor", "static")),
    },
    "Also write prometheus-operator resources (PrometheusRule, ServiceMonitor or "
    "ScrapeConfig, AlertmanagerConfig) and Grafana sidecar dashboard ConfigMaps into "
    "deploy/kubernetes/operator/.",
    required=("namespace",),
)

CAPACITY = Obj(
    {
        "scale_up": _percent("Utilisation at which a resource must grow (default 80%).", "80%"),
        "scale_down": _percent("Peak utilisation below which a host is a candidate to shrink "
                               "(default 30%).", "30%"),
        "reserve": _percent("Headroom always kept free (default 20%); scale_up plus reserve "
                            "is at most 100%.", "20%"),
        "projections": ListOf(_duration("How far ahead.", "90d", maximum=MAX_SPAN),
                              "How far ahead utilisation is projected (default 30d, 90d, 180d).",
                              min_items=1, max_items=4),
        "trend": _duration("History the trend is fitted on (default 30d).", "30d",
                           maximum=45 * 86400.0),
    },
    "The capacity plan: lines and projections of the capacity dashboard.",
)

SPEC_BODY = Obj(
    {
        "$schema": Str("JSON Schema for editors."),
        "version": Num("Spec format version.", integer=True, minimum=1),
        "name": Str("Name of this deployment; prefixes rule groups and dashboard uids.",
                    pattern=r"[a-z][a-z0-9-]{0,19}", pattern_hint="a short lower-case name"),
        "extends": Str("Another spec this one overrides (path relative to this file)."),
        "grafana_url": Str("Grafana's external URL, for `dashboard_url` annotations.",
                           pattern=r"https?://\S+", pattern_hint="an http(s) URL"),
        "runbook_url": Str("Base URL of the runbooks; `#signal` is appended.",
                           pattern=r"https?://\S+", pattern_hint="an http(s) URL"),
        "currency": Str("Currency of every money signal (unit `currency`), an ISO 4217 code "
                        "Grafana has a unit for; default USD.", enum=catalogue.CURRENCIES),
        "selectors": MapOf(Str(), "Label matchers added to every query (e.g. environment).",
                           key_pattern=LABEL_NAME, key_hint="a label name"),
        "jobs": Obj({e: Str(f"Scrape job of the {e} exporter.", min_length=1) for e in catalogue.EXPORTERS},
                    "Scrape job names; each signal's queries are scoped to its exporter's job."),
        "targets": Obj({e: ListOf(Str(pattern=r"\S+:\d+", pattern_hint="host:port"),
                                  f"Addresses the {e} exporter listens on.")
                        for e in catalogue.EXPORTERS},
                       "Scrape targets written into deploy/prometheus/prometheus.yml."),
        "exporters": Obj({role: Str(f"Whose metrics the {role} signals read: `vigil` (Vigil's "
                                    f"{role} exporter, the default) or `{standard}`.",
                                    enum=(catalogue.VIGIL, standard))
                          for role, standard in catalogue.STANDARD_EXPORTERS.items()},
                         "Per exporter role, Vigil's own exporter or the standard one a stack "
                         "already runs; rules, dashboards and runbooks follow the choice."),
        "probes": PROBES,
        "alertmanager": ListOf(Str(pattern=r"\S+:\d+", pattern_hint="host:port"),
                               "Alertmanager addresses Prometheus sends alerts to."),
        "defaults": Obj({"for": _duration("Default `for` of signal alerts.", "5m", positive=False,
                                           maximum=MAX_WAIT),
                         "team": Str("Default team label.", min_length=1),
                         "absent_for": _duration("How long a signal's metrics (or an SLO's SLI) "
                                                 "may be missing before the absent-data alert "
                                                 "fires.", "10m", maximum=MAX_WAIT),
                         "absent_grace": _duration("How long a new target has to produce its "
                                                   "series before they count as absent.",
                                                   "5m", maximum=MAX_WAIT)},
                        "Defaults for every signal."),
        "duplicate_suppression": _duration("A repeated alert is not sent again within this "
                                           "interval; Alertmanager's group_interval.",
                                           "5m", maximum=MAX_WAIT),
        "severities": MapOf(SEVERITY, "Severities by name, e.g. critical, warning, info.",
                            key_hint="a severity name", key_enum=SEVERITY_NAMES),
        "receivers": MapOf(RECEIVER, "People and teams, and how each is reached."),
        "email": Obj(
            {
                "smarthost": Str("SMTP server host:port.", pattern=r"\S+:\d+",
                                 pattern_hint="host:port"),
                "from": Str("Sender address."),
                "username": Str("SMTP user."),
                "password": SECRET,
                "require_tls": Bool("Require STARTTLS."),
            },
            "SMTP settings shared by every e-mail receiver.",
            required=("smarthost", "from"),
        ),
        "teams": MapOf(Obj({"recipients": ListOf(Str(), "Receivers of the team's alerts.",
                                                 min_items=1)},
                           "A team whose alerts go to its own recipients.",
                           required=("recipients",)),
                       "Teams with their own recipients."),
        "maintenance": Obj(
            {
                "timezone": Str("IANA time zone of the windows, e.g. Asia/Bangkok for UTC+7."),
                "windows": MapOf(MAINTENANCE_WINDOW, "Maintenance windows by name."),
            },
            "Recurring maintenance windows in which alerts are muted.",
        ),
        "signals": SIGNALS,
        "slos": MapOf(SLO, "Service level objectives."),
        "monitoring": MONITORING,
        "reliability": Obj(
            {**{k: _duration(d, example, maximum=10 * MAX_SPAN) for k, d, example in (
                ("mttr", "Mean time to recovery target.", "1h"),
                ("mtbf", "Mean time between failures target.", "30d"),
                ("rpo", "Recovery point objective.", "15m"),
                ("rto", "Recovery time objective.", "4h"),
            )},
             "window": _duration("Window over which MTTR and MTBF are measured against their "
                                 "targets (default 30d); reports add their own periods.",
                                 "30d", maximum=90 * 86400.0),
             "severities": ListOf(Str(min_length=1, schema_enum=SEVERITY_NAMES),
                                  "Severities whose incidents count as "
                                  "failures in MTTR and MTBF (default: those of priority P0 "
                                  "and P1).", min_items=1)},
            "Reliability targets: shown on the overview dashboard; MTTR and MTBF are measured "
            "from the incident recorder and alert when they miss them.",
        ),
        "capacity": CAPACITY,
        "reports": MapOf(REPORT, "Operations reports `vigil report` writes and mails, by name "
                                 "(e.g. daily, weekly, monthly)."),
        "kubernetes": KUBERNETES,
    },
    "Vigil spec: thresholds, severities, routing, escalation, maintenance windows and SLOs.",
    required=("version", "severities", "signals"),
)


# A spec that `extends` another is an overlay: it may leave out anything the base has,
# even required keys, and null removes a base's key. The loader checks the merged spec
# with SPEC_BODY; editors see only the file, so they get the overlay's rules for it.
SPEC = Either("extends", Overlay(SPEC_BODY), SPEC_BODY, SPEC_BODY.description)


def json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), for editors and `vigil schema`."""
    render = Render()
    schema = SPEC.json_schema(render)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Vigil spec",
        **schema,
        "$defs": dict(sorted(render.defs.items())),
    }
