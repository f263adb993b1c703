"""The recorder's HTTP side: routes on the exporters' server, and its metrics.

- ``POST /api/v1/alerts``: Alertmanager's webhook. The body is bounded by the
  server (``MAX_BODY_BYTES``, 413 beyond), parsed and bounded by :mod:`.payload`
  (400 for a body that is not a webhook payload, which Alertmanager does not retry),
  and queued; 200 once queued, 503 with ``Retry-After`` only when the queue is full.
- ``POST /api/v1/ack``: ``{"incident": ID}`` acknowledges an incident as the
  authenticated user (the name comes from the credentials, never from the body, so
  nobody acknowledges in someone else's name). It needs ``basic_auth_users`` in the
  web config: without them it answers 403, so an open recorder cannot be used to
  acknowledge anything. 202 once queued.
- ``/metrics``, ``/healthz``: as every exporter.

Both POST routes are behind the web config's basic auth (when it has users), like
``/metrics``; the generated Alertmanager configuration passes the credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from exporters.common.exporter import Exporter, Source
from exporters.common.server import Request, Response, Route
from exporters.common.tasks import PeriodicTask
from exporters.common.webconfig import WebConfig
from exporters.incidents import payload
from exporters.incidents.metrics import PREFIX, Intake, queue_families, store_collector
from exporters.incidents.policy import Policy
from exporters.incidents.queue import Writer
from exporters.incidents.store import Ack, AckError, check_ack

ALERTS_PATH = payload.WEBHOOK_PATH
ACK_PATH = "/api/v1/ack"
MAX_ACK_BODY_BYTES = 4096
_JSON = "application/json"


def _json(code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(code, (json.dumps(body) + "\n").encode(), _JSON, headers or {})


def _user(header: str | None) -> str | None:
    """The user name of a Basic Authorization header the server already verified."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


@dataclass
class Recorder:
    """Everything `vigil incidents serve` runs; built by :func:`build`."""

    policy: Policy
    writer: Writer
    exporter: Exporter
    intake: Intake
    web_config: WebConfig

    @property
    def routes(self) -> dict[str, Route]:
        post = frozenset({"POST"})
        return {ALERTS_PATH: Route(self.receive, post, payload.MAX_BODY_BYTES),
                ACK_PATH: Route(self.ack, post, MAX_ACK_BODY_BYTES)}

    def start(self) -> None:
        self.writer.start()
        self.exporter.start()

    def stop(self) -> None:
        self.exporter.stop()
        self.writer.stop()

    def receive(self, request: Request) -> Response:
        try:
            parsed = payload.parse(request.body, time.time())
        except payload.PayloadError as exc:
            self.intake.add(0, Counter({"malformed_payload": 1}), Counter())
            return _json(400, {"error": str(exc)})
        ignored: Counter[str] = Counter()
        events = []
        for event in parsed.events:
            why = payload.ignored(event, self.policy.severities)
            if why:
                ignored[why] += 1
            else:
                events.append(event)
        if events and not self.writer.offer(events):
            return _json(503, {"error": "queue full; the incident store is behind"},
                         {"Retry-After": "30"})
        self.intake.add(len(parsed.events), parsed.rejected, ignored)
        return _json(200, {"queued": len(events), "ignored": sum(ignored.values()),
                           "rejected": sum(parsed.rejected.values())})

    def ack(self, request: Request) -> Response:
        if self.web_config.auth is None:
            return _json(403, {"error": "acknowledging over HTTP needs basic_auth_users in "
                                        "the web config (--web.config.file)"})
        who = _user(request.headers.get("authorization"))
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise AckError("expected a JSON object")
            incident, by = check_ack(body.get("incident"), who)
        except (ValueError, RecursionError) as exc:
            return _json(400, {"error": str(exc)[:200]})
        if not self.writer.offer([Ack(incident, by, time.time())]):
            return _json(503, {"error": "queue full"}, {"Retry-After": "30"})
        return _json(202, {"queued": True, "incident": incident, "by": by})


def build(policy: Policy, connect: Callable[[], psycopg.Connection[Any]], web_config: WebConfig,
          *, capacity: int = 10_000, interval: float = 15.0, spool: Any = None,
          dsn_for_logs: str = "") -> Recorder:
    writer = Writer(connect, policy, capacity=capacity, spool=spool, dsn_for_logs=dsn_for_logs)
    intake = Intake()
    task = PeriodicTask("store", store_collector(connect, policy.settle), interval=interval,
                        timeout=min(10.0, interval), keep_stale=True)
    exporter = Exporter(PREFIX, sources=[Source("queue", lambda: queue_families(writer, intake),
                                                self_metrics=False)], tasks=[task])
    return Recorder(policy, writer, exporter, intake, web_config)
