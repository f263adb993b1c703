"""Webhook payloads as Alertmanager (version 4) writes them, for the recorder's tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from exporters.incidents.fingerprint import fingerprint

ZERO = "0001-01-01T00:00:00Z"


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def alert(labels: dict[str, str], starts: float, ends: float | None = None,
          summary: str = "something is wrong") -> dict[str, Any]:
    return {"status": "resolved" if ends is not None else "firing", "labels": labels,
            "annotations": {"summary": summary}, "startsAt": rfc3339(starts),
            "endsAt": rfc3339(ends) if ends is not None else ZERO,
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint(labels)}


def body(*alerts: dict[str, Any], receiver: str = "severity-critical") -> bytes:
    return json.dumps({"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0,
                       "status": "firing", "receiver": receiver, "groupLabels": {},
                       "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager", "alerts": list(alerts)}).encode()


LABELS = {"alertname": "ErrorRate", "severity": "critical", "priority": "P0",
          "team": "operations", "signal": "error_rate", "instance": "shop-1"}
