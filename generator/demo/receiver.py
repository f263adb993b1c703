"""The demo's webhook receiver: where every Alertmanager notification ends up.

In the demo spec (``slo/examples/demo.yaml``) every person and team is reached by a
webhook to this receiver, with a URL path naming them (``/security_team``). Each
alert in each notification becomes one :class:`Notification`: which Alertmanager
receiver sent it (``payload["receiver"]``, e.g. ``signal-failed_logins-warning``),
who it reached (the path), firing or resolved, and the alert's routing labels.

Hand-written on ``http.server`` because it is a dozen lines and the standard
library's threaded server is enough for Alertmanager's few requests a second.
Bodies are bounded (:data:`MAX_BODY_BYTES`) and so is the history
(:data:`MAX_NOTIFICATIONS`): a run of hours cannot grow without limit.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from generator.demo.server import BackgroundServer

MAX_BODY_BYTES = 1 << 20
MAX_NOTIFICATIONS = 10_000


@dataclass(frozen=True)
class Notification:
    """One alert as delivered to one recipient."""

    receiver: str  # the Alertmanager receiver, e.g. "severity-critical"
    recipient: str  # who it reached: the webhook path without "/", e.g. "on_call_engineer"
    status: str  # "firing" or "resolved" (the alert's own status)
    alertname: str
    severity: str
    team: str
    priority: str
    labels: dict[str, str]
    received_at: float  # time.time() when it arrived


class WebhookReceiver(BackgroundServer):
    """A threaded HTTP server on ``host:port`` recording Alertmanager webhooks.

    ``port`` 0 picks a free one; :attr:`port` tells which once started. The socket is
    bound in :meth:`start`, not before; :meth:`stop` is safe to call at any time.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._records: deque[Notification] = deque(maxlen=MAX_NOTIFICATIONS)
        super().__init__(port)
        self._host = host

    def _make(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length <= 0 or length > MAX_BODY_BYTES:
                    self.send_response(413 if length > 0 else 400)
                    self.end_headers()
                    return
                try:
                    payload = json.loads(self.rfile.read(length))
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.record(self.path, payload)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # quiet: the summary shows them
                pass

        return ThreadingHTTPServer((self._host, self.port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, path: str, payload: Any) -> None:
        """Turn one webhook body into notifications (ignoring what is not one)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
            return
        now = time.time()
        recipient = path.split("?", 1)[0].strip("/")
        records = []
        for alert in payload["alerts"]:
            if not isinstance(alert, dict):
                continue
            labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
            records.append(Notification(
                receiver=str(payload.get("receiver", "")), recipient=recipient,
                status=str(alert.get("status") or payload.get("status", "")),
                alertname=labels.get("alertname", ""), severity=labels.get("severity", ""),
                team=labels.get("team", ""), priority=labels.get("priority", ""),
                labels=labels, received_at=now,
            ))
        with self._lock:
            self._records.extend(records)

    @property
    def notifications(self) -> list[Notification]:
        """Everything received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._records)

    def matching(self, **labels: str) -> list[Notification]:
        """Notifications whose fields or alert labels equal every ``labels`` item.

        ``matching(alertname="FailedLogins", status="firing")``; field names
        (receiver, recipient, status, ...) win over alert labels of the same name.
        """
        result = []
        for note in self.notifications:
            fields = {**note.labels, **{k: str(v) for k, v in vars(note).items()
                                         if isinstance(v, str)}}
            if all(fields.get(key) == value for key, value in labels.items()):
                result.append(note)
        return result
