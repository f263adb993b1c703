"""Alertmanager's webhook body (version 4) into bounded, checked :class:`AlertEvent`s.

Everything in the body comes from outside: labels are whatever a rule (or anyone who
can post to Alertmanager) put there. So every size is bounded before it is stored:
the body (by the HTTP route), the alerts per payload, the labels per alert and each
name and value. An alert that breaks a bound is refused on its own and counted by
reason; the rest of the payload is still recorded. A body that is not the webhook
format at all is a 400, which Alertmanager does not retry.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from exporters.incidents.fingerprint import fingerprint, original_labels

WEBHOOK_PATH = "/api/v1/alerts"  # where Alertmanager posts (generator/alertmanager.py)
MAX_BODY_BYTES = 1 << 20
MAX_ALERTS = 500  # also the generated webhook's `max_alerts`, so Alertmanager never sends more
MAX_LABELS = 64
MAX_NAME_LENGTH = 128
MAX_VALUE_LENGTH = 1024
MAX_TEXT_LENGTH = 2048  # summary kept from the annotations
MAX_RECEIVER_LENGTH = 256

_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ZERO_TIME = "0001-01-01T00:00:00Z"


class PayloadError(ValueError):
    """The body is not an Alertmanager webhook payload."""


@dataclass(frozen=True)
class AlertEvent:
    """One alert of one notification, as the store applies it."""

    fingerprint: str  # of the incident's alert (an escalation's original)
    status: str  # "firing" or "resolved"
    starts_at: float  # Unix seconds
    ends_at: float | None  # when resolved
    labels: Mapping[str, str]  # the incident's alert labels
    summary: str
    receiver: str
    escalation_level: int  # 1 unless the alert is an escalation
    received_at: float  # when the notification arrived (Unix seconds)

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "status": self.status,
                "starts_at": self.starts_at, "ends_at": self.ends_at,
                "labels": dict(self.labels), "summary": self.summary,
                "receiver": self.receiver, "escalation_level": self.escalation_level,
                "received_at": self.received_at}


@dataclass
class Parsed:
    events: list[AlertEvent] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> alerts refused


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or len(value) > 64 or value.startswith("0001-"):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    seconds = moment.timestamp()
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _labels(raw: Any) -> tuple[dict[str, str] | None, str]:
    if not isinstance(raw, dict):
        return None, "malformed"
    if len(raw) > MAX_LABELS:
        return None, "too_many_labels"
    labels = {}
    for name, value in raw.items():
        if not isinstance(value, str) or not _LABEL_NAME.match(name):
            return None, "malformed"
        if len(name) > MAX_NAME_LENGTH or len(value) > MAX_VALUE_LENGTH:
            return None, "label_too_long"
        labels[name] = value
    return labels, ""


def _alert(raw: Any, receiver: str, now: float) -> tuple[AlertEvent | None, str]:
    if not isinstance(raw, dict):
        return None, "malformed"
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        return None, "malformed"
    labels, why = _labels(raw.get("labels"))
    if labels is None:
        return None, why
    if "alertname" not in labels:
        return None, "malformed"
    starts = _time(raw.get("startsAt"))
    if starts is None:
        return None, "malformed"
    ends = _time(raw.get("endsAt")) if status == "resolved" else None
    if status == "resolved" and (ends is None or ends < starts):
        return None, "malformed"
    annotations = raw.get("annotations")
    summary = annotations.get("summary", "") if isinstance(annotations, dict) else ""
    summary = summary[:MAX_TEXT_LENGTH] if isinstance(summary, str) else ""
    original, level = original_labels(labels)
    return AlertEvent(fingerprint(original), status, starts, ends, original, summary,
                      receiver, level, now), ""


def parse(body: bytes, now: float) -> Parsed:
    """The events of one webhook body; raises :class:`PayloadError` for a body that is not one."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadError(f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise PayloadError("expected an Alertmanager webhook payload with an `alerts` list")
    receiver = data.get("receiver", "")
    if not isinstance(receiver, str) or len(receiver) > MAX_RECEIVER_LENGTH:
        raise PayloadError("`receiver` must be a string of at most "
                           f"{MAX_RECEIVER_LENGTH} characters")
    result = Parsed()
    alerts = data["alerts"]
    if len(alerts) > MAX_ALERTS:
        result.rejected["too_many_alerts"] += len(alerts) - MAX_ALERTS
        alerts = alerts[:MAX_ALERTS]
    for raw in alerts:
        event, why = _alert(raw, receiver, now)
        if event is None:
            result.rejected[why] += 1
        else:
            result.events.append(event)
    return result


def ignored(event: AlertEvent, severities: Mapping[str, object]) -> str:
    """Why an event is not an incident ("" if it is one)."""
    if event.labels.get("alertname") == "Watchdog":
        return "watchdog"  # the dead man's switch always fires: it is not an incident
    if event.labels.get("severity") not in severities:
        return "unknown_severity"
    return ""


__all__ = ["MAX_ALERTS", "MAX_BODY_BYTES", "WEBHOOK_PATH", "AlertEvent", "Parsed", "PayloadError", "ignored",
           "parse"]
