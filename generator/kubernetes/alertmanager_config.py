"""The Alertmanager routing as an AlertmanagerConfig (monitoring.coreos.com/v1alpha1).

Translated from the rendered alertmanager.yml, so routes, receivers, grouping, timing
and inhibition are the plain file's. What the resource cannot say the same way is
listed by `limitations` (written at the top of the file and printed by `vigil
generate`), checked against the CRD schema of prometheus-operator 0.93:

- the operator adds a `namespace="<namespace>"` matcher to this config's top route
  and to its inhibit rules, so only alerts carrying that label reach it;
- there is no `global` section: the SMTP settings are copied into every e-mail
  receiver instead;
- time intervals have no `location`: they are UTC, so maintenance windows are moved
  into UTC (utc_windows.py) when the spec's zone has one fixed offset, and left out
  (their routes are not muted) when it has daylight saving;
- the operator prefixes every receiver, route and time-interval name with
  `<namespace>/<name>/`;
- secrets are `secretKeyRef`s into one Secret (the spec's `kubernetes.secret`):
  a `*_file` path of the plain file becomes the key named by the path's base name,
  i.e. the spec's `{env: NAME}` in lower case, or the `{file: PATH}` file's name.
  No secret value is ever read or written.
"""

from __future__ import annotations

import posixpath
import re
import textwrap
from typing import Any

from generator import alertmanager, inputs
from generator.kubernetes import resources, utc_windows
from generator.model import Spec

API_VERSION = "monitoring.coreos.com/v1alpha1"
KIND = "AlertmanagerConfig"
PLAIN_FILE = alertmanager.CONFIG_FILE
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
ROUTE_KEYS = {"receiver": "receiver", "group_by": "groupBy", "group_wait": "groupWait",
              "group_interval": "groupInterval", "repeat_interval": "repeatInterval",
              "continue": "continue"}


def limitations(spec: Spec, plain: dict[str, Any]) -> list[str]:
    """What the AlertmanagerConfig does not do the way the plain alertmanager.yml does."""
    kube = resources.settings(spec)
    notes = [f"the operator matches only alerts labelled namespace=\"{kube.namespace}\" to this "
             "AlertmanagerConfig (its top route and inhibit rules); label the alerts so (e.g. the "
             "Prometheus resource's enforcedNamespaceLabel) or set the Alertmanager's "
             "alertmanagerConfigMatcherStrategy to None",
             "no global section: the SMTP settings are copied into each e-mail receiver",
             "receiver, route and time-interval names are prefixed with "
             f"{kube.namespace}/<name>/ by the operator",
             f"secrets are keys of the Secret {kube.secret!r}; create it with: "
             + secret_command(spec, plain)]
    if spec.maintenance and utc_windows.fixed_offset(spec.timezone) is None:
        notes.append(f"maintenance windows are left out: {spec.timezone} has daylight saving, "
                     "and an AlertmanagerConfig's time intervals have no location (UTC only); "
                     "the plain alertmanager.yml mutes them")
    elif spec.maintenance:
        notes.append(f"maintenance windows are written in UTC (time intervals have no location): "
                     f"{spec.timezone} is always UTC{_offset_text(spec.timezone)}, so they mute "
                     "the same moments as in the plain alertmanager.yml")
    return notes


def _offset_text(timezone: str) -> str:
    minutes = utc_windows.fixed_offset(timezone) or 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else ""


def matcher(text: str) -> dict[str, str]:
    """`name="value"` (as generator.alertmanager.matcher writes it) as the CRD's object."""
    found = _MATCHER.match(text)
    if found is None:
        raise resources.KubernetesError(f"{PLAIN_FILE}: matcher {text!r} has no "
                                        "AlertmanagerConfig form")
    value = re.sub(r"\\.", lambda m: _UNESCAPE.get(m.group(0), m.group(0)[1]), found.group(3))
    return {"name": found.group(1), "value": value, "matchType": found.group(2)}


def _secret_ref(spec: Spec, path: str) -> dict[str, str]:
    return {"name": resources.settings(spec).secret, "key": posixpath.basename(path)}


def secret_keys(plain: dict[str, Any]) -> list[str]:
    """The Secret's keys the plain file's `*_file` paths name."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    found.add(posixpath.basename(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(plain)
    return sorted(found)


def secret_command(spec: Spec, plain: dict[str, Any]) -> str:
    keys = secret_keys(plain)
    return (f"kubectl -n {resources.settings(spec).namespace} create secret generic "
            f"{resources.settings(spec).secret} "
            + " ".join(f"--from-file={key}=FILE" for key in keys))


def _http_config(spec: Spec, config: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    authorization = config.get("authorization")
    if authorization:
        result["authorization"] = {"credentials": _secret_ref(spec, authorization["credentials_file"])}
    return result


def _receiver(spec: Spec, plain: dict[str, Any], receiver: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": receiver["name"]}
    for config in receiver.get("pagerduty_configs", []):
        body.setdefault("pagerdutyConfigs", []).append({
            "routingKey": _secret_ref(spec, config["routing_key_file"]),
            "sendResolved": config.get("send_resolved", True)})
    for config in receiver.get("slack_configs", []):
        slack = {"apiURL": _secret_ref(spec, config["api_url_file"]),
                 "sendResolved": config.get("send_resolved", True)}
        slack.update({k: config[k] for k in ("channel", "title", "text") if k in config})
        body.setdefault("slackConfigs", []).append(slack)
    glob = plain.get("global") or {}
    for config in receiver.get("email_configs", []):
        email: dict[str, Any] = {"to": config["to"], "sendResolved": config.get("send_resolved", True)}
        for plain_key, key in (("smtp_smarthost", "smarthost"), ("smtp_from", "from"),
                               ("smtp_require_tls", "requireTLS"),
                               ("smtp_auth_username", "authUsername")):
            if plain_key in glob:
                email[key] = glob[plain_key]
        if "smtp_auth_password_file" in glob:
            email["authPassword"] = _secret_ref(spec, glob["smtp_auth_password_file"])
        body.setdefault("emailConfigs", []).append(email)
    for config in receiver.get("webhook_configs", []):
        hook: dict[str, Any] = {"url": config["url"], "sendResolved": config.get("send_resolved", True)}
        if "max_alerts" in config:
            hook["maxAlerts"] = config["max_alerts"]
        http = _http_config(spec, config.get("http_config") or {})
        if http:
            hook["httpConfig"] = http
        body.setdefault("webhookConfigs", []).append(hook)
    known = {"name", "pagerduty_configs", "slack_configs", "email_configs", "webhook_configs"}
    unknown = sorted(set(receiver) - known)
    if unknown:
        raise resources.KubernetesError(f"{PLAIN_FILE}: receiver {receiver['name']!r}: "
                                        f"{unknown[0]} has no AlertmanagerConfig form here")
    return body


def _route(route: dict[str, Any], mutes_kept: bool) -> dict[str, Any]:
    body: dict[str, Any] = {ROUTE_KEYS[k]: v for k, v in route.items() if k in ROUTE_KEYS}
    if route.get("matchers"):
        body["matchers"] = [matcher(m) for m in route["matchers"]]
    if mutes_kept and route.get("mute_time_intervals"):
        body["muteTimeIntervals"] = route["mute_time_intervals"]
    if route.get("routes"):
        body["routes"] = [_route(child, mutes_kept) for child in route["routes"]]
    return body


def _time_intervals(plain: dict[str, Any], offset: int) -> list[dict[str, Any]]:
    result = []
    for named in plain.get("time_intervals") or []:
        intervals = []
        for interval in utc_windows.utc_intervals(named["time_intervals"], offset):
            body: dict[str, Any] = {}
            if "times" in interval:
                body["times"] = [{"startTime": t["start_time"], "endTime": t["end_time"]}
                                 for t in interval["times"]]
            if "weekdays" in interval:
                body["weekdays"] = interval["weekdays"]
            if "days_of_month" in interval:
                body["daysOfMonth"] = [dict(zip(("start", "end"), map(int, d.split(":")), strict=True))
                                       for d in interval["days_of_month"]]
            intervals.append(body)
        result.append({"name": named["name"], "timeIntervals": intervals})
    return result


def config(spec: Spec, plain: dict[str, Any]) -> dict[str, Any]:
    offset = utc_windows.fixed_offset(spec.timezone)
    mutes_kept = offset is not None
    body: dict[str, Any] = {
        "route": _route(plain["route"], mutes_kept),
        "receivers": [_receiver(spec, plain, r) for r in plain["receivers"]],
        "inhibitRules": [{"sourceMatch": [matcher(m) for m in rule["source_matchers"]],
                          "targetMatch": [matcher(m) for m in rule["target_matchers"]],
                          "equal": rule.get("equal", [])}
                         for rule in plain.get("inhibit_rules") or []],
    }
    if offset is not None and plain.get("time_intervals"):
        body["muteTimeIntervals"] = _time_intervals(plain, offset)
    return resources.resource(spec, API_VERSION, KIND, resources.name(spec.name, "routing"),
                              {"spec": body})


def plain_config(files: dict[str, str]) -> dict[str, Any]:
    return inputs.load_yaml(files[PLAIN_FILE])


def outputs(spec: Spec, files: dict[str, str]) -> dict[str, str]:
    plain = plain_config(files)
    bullets = [textwrap.fill(line, 96, initial_indent="- ", subsequent_indent="  ",
                             break_on_hyphens=False, break_long_words=False)
               for line in limitations(spec, plain)]
    comment = (f"The routing of {PLAIN_FILE}, as far as an AlertmanagerConfig can say it.\n"
               "What it cannot say the same way:\n" + "\n".join(bullets))
    return {f"{resources.OUT_DIR}/alertmanagerconfig.yaml": resources.render(
        spec, config(spec, plain), comment)}
