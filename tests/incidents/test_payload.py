"""The webhook body: bounds, malformed input, escalations folded into their incident."""

from __future__ import annotations

import json

import pytest

from exporters.incidents import payload
from exporters.incidents.fingerprint import fingerprint
from tests.incidents.helpers import LABELS, alert, body

NOW = 1_700_000_000.0


def test_a_firing_and_a_resolved_alert() -> None:
    parsed = payload.parse(body(alert(LABELS, NOW - 60), alert(LABELS, NOW - 600, NOW - 10)), NOW)
    firing, resolved = parsed.events
    assert (firing.status, firing.starts_at, firing.ends_at) == ("firing", NOW - 60, None)
    assert (resolved.status, resolved.ends_at) == ("resolved", NOW - 10)
    assert firing.fingerprint == fingerprint(LABELS) and firing.receiver == "severity-critical"
    assert firing.summary == "something is wrong" and firing.received_at == NOW
    assert not parsed.rejected


def test_an_escalation_is_the_incident_of_the_alert_it_escalates() -> None:
    escalated = {**LABELS, "alertname": "AlertEscalated", "escalated_alertname": "ErrorRate",
                 "escalation_level": "3"}
    event, = payload.parse(body(alert(escalated, NOW), receiver="escalation-critical-level3"),
                           NOW).events
    assert event.fingerprint == fingerprint(LABELS)
    assert dict(event.labels) == LABELS and event.escalation_level == 3


@pytest.mark.parametrize(("raw", "reason"), [
    ({**alert(LABELS, NOW), "status": "pending"}, "malformed"),
    ({**alert(LABELS, NOW), "startsAt": "yesterday"}, "malformed"),
    ({**alert(LABELS, NOW), "labels": {"severity": "critical"}}, "malformed"),  # no alertname
    ({**alert(LABELS, NOW), "labels": {**LABELS, "bad-name": "x"}}, "malformed"),
    ({**alert(LABELS, NOW), "labels": {**LABELS, "n": 5}}, "malformed"),
    (alert(LABELS, NOW, NOW - 100), "malformed"),  # resolved before it started
    (alert({**LABELS, "big": "x" * (payload.MAX_VALUE_LENGTH + 1)}, NOW), "label_too_long"),
    (alert({**LABELS, "n" * (payload.MAX_NAME_LENGTH + 1): "x"}, NOW), "label_too_long"),
    (alert({**LABELS, **{f"l{i}": "x" for i in range(payload.MAX_LABELS)}}, NOW),
     "too_many_labels"),
    ("not an alert", "malformed"),
])
def test_a_bad_alert_is_refused_alone(raw: object, reason: str) -> None:
    parsed = payload.parse(body(raw, alert(LABELS, NOW)), NOW)  # type: ignore[arg-type]
    assert len(parsed.events) == 1
    assert dict(parsed.rejected) == {reason: 1}


def test_alerts_beyond_the_bound_are_counted_not_stored() -> None:
    many = [alert({**LABELS, "instance": f"i{n}"}, NOW) for n in range(payload.MAX_ALERTS + 7)]
    parsed = payload.parse(body(*many), NOW)
    assert len(parsed.events) == payload.MAX_ALERTS
    assert dict(parsed.rejected) == {"too_many_alerts": 7}


@pytest.mark.parametrize("raw", [
    b"", b"{", b"[]", b'{"alerts": 5}', b"[" * 100_000 + b"]" * 100_000,
    json.dumps({"alerts": [], "receiver": "r" * 300}).encode(),
    b"x" * (payload.MAX_BODY_BYTES + 1),
])
def test_a_body_that_is_not_a_payload_is_an_error(raw: bytes) -> None:
    with pytest.raises(payload.PayloadError):
        payload.parse(raw, NOW)


def test_the_watchdog_and_unknown_severities_are_not_incidents() -> None:
    severities = {"critical": object()}
    watchdog, unknown, real = payload.parse(body(
        alert({"alertname": "Watchdog", "severity": "critical"}, NOW),
        alert({**LABELS, "severity": "none"}, NOW), alert(LABELS, NOW)), NOW).events
    assert payload.ignored(watchdog, severities) == "watchdog"
    assert payload.ignored(unknown, severities) == "unknown_severity"
    assert payload.ignored(real, severities) == ""
