"""`deploy/alertmanager/alertmanager.yml` from the spec's severities, receivers and windows.

The routing tree, top to bottom (first match wins):
0. the Watchdog → the heartbeat receiver, re-sent every `monitoring.heartbeat.
   repeat_interval`, never muted and never inhibited (an outside service pages when
   it stops arriving, at most a fifth late); the InfoInhibitor → a receiver with no integrations;
1. escalations (`AlertEscalated`, by severity and level) → that level's receivers;
2. signals with their own `recipients` (e.g. revenue → finance and management);
3. teams declared with recipients (`team` label);
4. severities → the severity's recipients, on the severity's channels.
Every leaf carries the maintenance windows that mute its severity, because
Alertmanager does not inherit `mute_time_intervals` into child routes.

Timings come from the duplicate-suppression interval: a group is not notified again
within it (`group_interval`), and a still-firing alert is repeated at the pace of its
severity's first escalation step (never faster than the suppression interval).

Every receiver but the heartbeat's and the InfoInhibitor's also notifies the
incident recorder (`vigil incidents`, the spec's
`incidents` target), with `send_resolved: true`: added to each receiver rather than
as one catch-all route with `continue`, the recorder learns which receiver (and so
which route and escalation level) each notification went to, and every route keeps
its grouping, timing and mute windows. `max_alerts` is the recorder's own bound on
alerts per notification, so Alertmanager never sends more than it accepts.

Several specs on one Alertmanager (`combined`): each spec's tree, as above, becomes
one route under the root that matches the spec's selector labels (which every alert
of its rules carries), with its receivers and maintenance windows renamed
`<spec name>.<name>` and its inhibition rules pinned to its labels, so one spec's
alerts reach only its own receivers and never inhibit another's.

Secrets never appear: an `{env: NAME}` reference becomes a `*_file` path under
/run/secrets/ (docker-compose.yml turns the variable into that file), a `{file: ...}`
reference is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exporters.incidents.payload import MAX_ALERTS, WEBHOOK_PATH
from generator import output, templating, units
from generator.model import Receiver, Secret, Severity, Spec
from generator.rules import monitoring
from generator.rules.escalation import ALERT_NAME

SECRETS_DIR = "/run/secrets"
GROUP_BY = ["alertname", "signal", "slo", "instance", "escalation_level"]


def matcher(name: str, value: str, op: str = "=") -> str:
    """An Alertmanager matcher, `name="value"`, with the value quoted the way both of
    Alertmanager's matcher parsers (the classic one and the UTF-8 one of 0.27+) read it:
    backslash, double quote and newline escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}{op}"{escaped}"'


def secret_path(secret: Secret) -> str:
    if secret.file:
        return secret.file
    return f"{SECRETS_DIR}/{(secret.env or '').lower()}"


def secret_envs(spec: Spec) -> list[str]:
    """Environment variables the deployment must provide, for docker-compose secrets."""
    names = set()
    for receiver in spec.receivers.values():
        for settings in receiver.integrations.values():
            names.update(v.env for v in settings.values() if isinstance(v, Secret) and v.env)
    if spec.email and spec.email.password and spec.email.password.env:
        names.add(spec.email.password.env)
    token = spec.monitoring.heartbeat.token
    if token is not None and token.env:
        names.add(token.env)
    return sorted(names)


def _integration(channel: str, settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if channel == "pagerduty":
        return "pagerduty_configs", {"routing_key_file": secret_path(settings["routing_key"]),
                                     "send_resolved": True}
    if channel == "slack":
        config: dict[str, Any] = {"api_url_file": secret_path(settings["webhook_url"]),
                                  "send_resolved": True}
        if "channel" in settings:
            config["channel"] = templating.literal(settings["channel"])
        config["title"] = '{{ .CommonLabels.severity | toUpper }}: {{ .CommonAnnotations.summary }}'
        config["text"] = "{{ range .Alerts }}{{ .Annotations.description }}\n{{ end }}"
        return "slack_configs", config
    if channel == "email":
        return "email_configs", {"to": templating.literal(settings["to"]), "send_resolved": True}
    # sms, phone and generic webhooks are gateways reached by URL; Alertmanager 0.25 (the
    # oldest we support) has no `url_file`, so the URL is plain and the secret is a token.
    config = {"url": settings["url"], "send_resolved": True}
    if "token" in settings:
        config["http_config"] = {"authorization": {"credentials_file": secret_path(settings["token"])}}
    return "webhook_configs", config


def _receiver(name: str, recipients: tuple[str, ...], channels: tuple[str, ...] | None,
              receivers: dict[str, Receiver]) -> dict[str, Any]:
    """One Alertmanager receiver reaching `recipients` on `channels` (all of theirs if None)."""
    body: dict[str, Any] = {"name": name}
    seen: set[str] = set()
    for recipient in recipients:
        for channel, settings in receivers[recipient].integrations.items():
            if channels is not None and channel not in channels:
                continue
            key, config = _integration(channel, settings)
            fingerprint = f"{key}:{sorted(config.items())}"
            if fingerprint in seen:  # two people behind one gateway get one notification
                continue
            seen.add(fingerprint)
            body.setdefault(key, []).append(config)
    return body


def _mutes(spec: Spec, severity: str) -> list[str]:
    return [f"maintenance-{w.name}" for w in spec.maintenance if severity in w.severities]


def _leaf(matchers: list[str], receiver: str, spec: Spec, severity: Severity) -> dict[str, Any]:
    route: dict[str, Any] = {"matchers": matchers, "receiver": receiver}
    repeat = max(severity.escalation[0].after if severity.escalation else 4 * 3600.0,
                 spec.duplicate_suppression)
    route["repeat_interval"] = units.format_duration(repeat)
    mutes = _mutes(spec, severity.name)
    if mutes:
        route["mute_time_intervals"] = mutes
    return route


def _time_intervals(spec: Spec) -> list[dict[str, Any]]:
    result = []
    for window in spec.maintenance:
        interval: dict[str, Any] = {"times": [{"start_time": window.start, "end_time": window.end}]}
        if window.weekdays:
            interval["weekdays"] = list(window.weekdays)
        if window.ordinal:
            interval["days_of_month"] = (["-7:-1"] if window.ordinal == "last" else
                                         [f"{7 * n + 1}:{7 * n + 7}" for n, o in
                                          enumerate(("first", "second", "third", "fourth"))
                                          if o == window.ordinal])
        interval["location"] = spec.timezone
        result.append({"name": f"maintenance-{window.name}", "time_intervals": [interval]})
    return result


HEARTBEAT_RECEIVER = "heartbeat"
INFO_INHIBITOR_RECEIVER = "info-inhibitor"
HEARTBEAT_TICKS = 5  # group_interval ticks per heartbeat repeat_interval


def _monitoring_routes(spec: Spec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(receivers, routes) for the Watchdog and the InfoInhibitor, placed before all others.

    The Watchdog's route repeats it at the heartbeat's pace (group_interval equal to the
    repeat, so Alertmanager looks again that often) and has no mute_time_intervals: a
    heartbeat that pauses in a maintenance window would page the heartbeat service.
    """
    heartbeat = spec.monitoring.heartbeat
    receiver: dict[str, Any] = {"name": HEARTBEAT_RECEIVER}
    if heartbeat.url is not None:
        settings: dict[str, Any] = {"url": heartbeat.url}
        if heartbeat.token is not None:
            settings["token"] = heartbeat.token
        key, hook = _integration("webhook", settings)
        hook["send_resolved"] = False  # the Watchdog never resolves; silence is the signal
        receiver[key] = [hook]
    # Alertmanager re-sends only at a group_interval tick once repeat_interval has passed
    # since the last send, so a tick equal to the repeat doubles it; a fifth of it makes
    # the posts arrive at most a fifth late.
    tick = max(round(heartbeat.repeat_interval / HEARTBEAT_TICKS, 3), 1.0)
    receivers = [receiver]
    routes: list[dict[str, Any]] = [{
        "matchers": [matcher("alertname", monitoring.WATCHDOG)],
        "receiver": HEARTBEAT_RECEIVER,
        "group_by": ["alertname"],
        "group_wait": "0s",
        "group_interval": units.format_duration(tick),
        "repeat_interval": units.format_duration(heartbeat.repeat_interval),
    }]
    if monitoring.info_inhibitor_severities(spec) is not None:
        receivers.append({"name": INFO_INHIBITOR_RECEIVER})
        routes.append({"matchers": [matcher("alertname", monitoring.INFO_INHIBITOR)],
                       "receiver": INFO_INHIBITOR_RECEIVER})
    return receivers, routes


def config(spec: Spec) -> dict[str, Any]:
    receivers, routes = _monitoring_routes(spec)
    severities = list(spec.severities.values())

    for severity in severities:
        for step in severity.escalation:
            name = f"escalation-{severity.name}-level{step.level}"
            receivers.append(_receiver(name, step.notify, None, spec.receivers))
            routes.append(_leaf([matcher("alertname", ALERT_NAME), matcher("severity", severity.name),
                                 matcher("escalation_level", str(step.level))], name, spec, severity))

    def by_severity(label: str, value: str, recipients: tuple[str, ...], prefix: str) -> None:
        for severity in severities:
            name = f"{prefix}-{severity.name}"
            receiver = _receiver(name, recipients, severity.channels, spec.receivers)
            if len(receiver) == 1:  # none of them on this severity's channels: use all theirs
                receiver = _receiver(name, recipients, None, spec.receivers)
            receivers.append(receiver)
            routes.append(_leaf([matcher(label, value), matcher("severity", severity.name)],
                                name, spec, severity))

    for signal in spec.signals.values():
        if signal.recipients and signal.enabled:
            by_severity("signal", signal.name, signal.recipients, f"signal-{signal.name}")
    for team, recipients in spec.teams.items():
        by_severity("team", team, recipients, f"team-{team}")
    for severity in severities:
        name = f"severity-{severity.name}"
        receivers.append(_receiver(name, severity.recipients, severity.channels, spec.receivers))
        routes.append(_leaf([matcher("severity", severity.name)], name, spec, severity))

    receivers.append({"name": "unrouted"})
    _notify_recorder(spec, receivers)
    body: dict[str, Any] = {}
    if spec.email is not None:
        glob: dict[str, Any] = {"smtp_smarthost": spec.email.smarthost,
                                "smtp_from": templating.literal(spec.email.sender),
                                "smtp_require_tls": spec.email.require_tls}
        if spec.email.username:
            glob["smtp_auth_username"] = spec.email.username
        if spec.email.password:
            glob["smtp_auth_password_file"] = secret_path(spec.email.password)
        body["global"] = glob
    suppression = spec.duplicate_suppression
    body["route"] = {
        "receiver": "unrouted",
        "group_by": GROUP_BY,
        "group_wait": units.format_duration(max(min(suppression / 10, 30.0), 1.0)),
        "group_interval": units.format_duration(suppression),
        "repeat_interval": units.format_duration(max(4 * 3600.0, suppression)),
        "routes": routes,
    }
    body["inhibit_rules"] = _inhibit_rules(spec)
    intervals = _time_intervals(spec)
    if intervals:
        body["time_intervals"] = intervals
    body["receivers"] = receivers
    return body


def incidents_webhook(spec: Spec) -> dict[str, Any]:
    return {"url": f"http://{spec.targets['incidents'][0]}{WEBHOOK_PATH}",
            "send_resolved": True, "max_alerts": MAX_ALERTS}


def _notify_recorder(spec: Spec, receivers: list[dict[str, Any]]) -> None:
    """Every receiver (every route's) also notifies the incident recorder.

    Except the Watchdog's and the InfoInhibitor's: both always fire by design, and
    as incidents they would be one that never ends and distort MTTR and MTBF.
    """
    for receiver in receivers:
        if receiver["name"] in (HEARTBEAT_RECEIVER, INFO_INHIBITOR_RECEIVER):
            continue
        receiver.setdefault("webhook_configs", []).append(incidents_webhook(spec))


def _inhibit_rules(spec: Spec) -> list[dict[str, Any]]:
    """A more severe alert silences the milder ones for the same thing.

    "The same thing" is the signal (or SLO) and the labels the alert is raised per; the
    source and target are pinned to that signal so unrelated alerts never inhibit.
    The InfoInhibitor silences the info severity in its deployment (selector labels);
    it fires only while nothing more severe does there. No rule targets the Watchdog.
    """
    rules = []
    found = monitoring.info_inhibitor_severities(spec)
    if found is not None:
        rules.append({
            "source_matchers": [matcher("alertname", monitoring.INFO_INHIBITOR)],
            "target_matchers": [matcher("severity", found[0])],
            "equal": sorted(spec.selectors),
        })
    order = list(spec.severities)
    for signal in spec.signals.values():
        severities = [t.severity for t in signal.thresholds]
        if len(set(severities)) < 2:
            continue
        ranked = sorted(set(severities), key=order.index)
        rules.append({
            "source_matchers": [matcher("signal", signal.name), matcher("severity", ranked[0])],
            "target_matchers": [matcher("signal", signal.name),
                                matcher("severity", "|".join(ranked[1:]), "=~")],
            "equal": sorted({"signal", *signal.definition.by, *spec.selectors}),
        })
    for slo in spec.slos.values():
        ranked = sorted({w.severity for w in slo.windows}, key=order.index)
        if len(ranked) < 2:
            continue
        rules.append({
            "source_matchers": [matcher("slo", slo.name), matcher("severity", ranked[0])],
            "target_matchers": [matcher("slo", slo.name),
                                matcher("severity", "|".join(ranked[1:]), "=~")],
            "equal": sorted({"slo", *spec.selectors}),
        })
    return rules


class ConfigConflict(ValueError):
    """Two specs need Alertmanager settings that one configuration cannot hold."""


def _renamed(route: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """`route` and its children with receivers and time intervals renamed by `names`."""
    result = dict(route)
    if "receiver" in result:
        result["receiver"] = names[result["receiver"]]
    for key in ("mute_time_intervals", "active_time_intervals"):
        if key in result:
            result[key] = [names[n] for n in result[key]]
    if "routes" in result:
        result["routes"] = [_renamed(child, names) for child in result["routes"]]
    return result


def scoped(spec: Spec) -> dict[str, Any]:
    """The spec's configuration with everything named after it and routed by its labels."""
    body = config(spec)
    names = {r["name"]: f"{spec.name}.{r['name']}" for r in body["receivers"]}
    names.update({i["name"]: f"{spec.name}.{i['name']}" for i in body.get("time_intervals", [])})
    labels = [matcher(k, v) for k, v in sorted(spec.selectors.items())]
    route = {"matchers": labels, **_renamed(body["route"], names)}
    inhibit = [{**rule, "source_matchers": [*rule["source_matchers"], *labels],
                "target_matchers": [*rule["target_matchers"], *labels]}
               for rule in body["inhibit_rules"]]
    return {
        "global": body.get("global"),
        "route": route,
        "inhibit_rules": inhibit,
        "time_intervals": [{**i, "name": names[i["name"]]} for i in body.get("time_intervals", [])],
        "receivers": [{**r, "name": names[r["name"]]} for r in body["receivers"]],
    }


def combined(specs: Sequence[Spec]) -> dict[str, Any]:
    """One Alertmanager configuration routing every spec's alerts (module docstring).

    The SMTP settings are global in Alertmanager: specs that send e-mail must agree
    on them, or ConfigConflict names both files.
    """
    parts = [(spec, scoped(spec)) for spec in specs]
    smtp = [(spec, part["global"]) for spec, part in parts if part["global"] is not None]
    for spec, settings in smtp[1:]:
        if settings != smtp[0][1]:
            raise ConfigConflict(f"email: {smtp[0][0].source} and {spec.source} use different "
                                 "SMTP settings, which Alertmanager holds once for all receivers")
    root = parts[0][1]["route"]
    body: dict[str, Any] = {}
    if smtp:
        body["global"] = smtp[0][1]
    body["route"] = {"receiver": "unrouted",
                     **{k: root[k] for k in ("group_by", "group_wait", "group_interval",
                                             "repeat_interval")},
                     "routes": [part["route"] for _, part in parts]}
    body["inhibit_rules"] = [rule for _, part in parts for rule in part["inhibit_rules"]]
    intervals = [i for _, part in parts for i in part["time_intervals"]]
    if intervals:
        body["time_intervals"] = intervals
    body["receivers"] = [{"name": "unrouted"}] + [r for _, part in parts for r in part["receivers"]]
    return body


CONFIG_FILE = "deploy/alertmanager/alertmanager.yml"


def combined_outputs(specs: Sequence[Spec]) -> dict[str, str]:
    return {CONFIG_FILE: output.header([s.source for s in specs])
            + output.dump_yaml(combined(specs))}


def outputs(spec: Spec) -> dict[str, str]:
    return {CONFIG_FILE: output.header(spec.source)
            + output.dump_yaml(config(spec))}
