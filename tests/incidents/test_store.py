"""The incident store on a real PostgreSQL: lifecycle, flaps, acknowledgements, metrics."""

from __future__ import annotations

import time
from typing import Any

import pytest

from exporters.incidents import payload, schema
from exporters.incidents.metrics import store_families
from exporters.incidents.store import AckError, Store, check_ack
from tests.incidents.conftest import POLICY, Database
from tests.incidents.helpers import LABELS, alert, body


@pytest.fixture
def store(database: Database) -> Any:
    conn = database.connect()
    schema.migrate(conn)
    yield Store(conn, POLICY)
    conn.close()


def send(store: Store, *alerts: dict[str, Any], receiver: str = "severity-critical",
         now: float | None = None) -> None:
    parsed = payload.parse(body(*alerts, receiver=receiver), now or time.time())
    store.apply_all(parsed.events)


def test_fire_then_resolve_is_one_incident_with_its_duration(store: Store) -> None:
    start = time.time() - 3600
    send(store, alert(LABELS, start))
    send(store, alert(LABELS, start), receiver="team-operations-critical")  # a repeat
    send(store, alert(LABELS, start, start + 1234.5))
    incident, = store.incidents()
    assert (incident["resolved_at"] - incident["started_at"]).total_seconds() == 1234.5
    assert incident["notifications"] == 3 and incident["flaps"] == 0
    assert incident["receivers"] == ["severity-critical", "team-operations-critical"]
    assert (incident["severity"], incident["priority"], incident["team"], incident["signal"]) == \
        ("critical", "P0", "operations", "error_rate")
    assert incident["response_target_seconds"] == 900 and incident["resolution_target_seconds"] == 3600


def test_a_flap_within_the_suppression_interval_continues_the_incident(store: Store) -> None:
    start = time.time() - 200
    send(store, alert(LABELS, start, start + 60))
    send(store, alert(LABELS, start + 120))  # fires again 60 s after resolving
    send(store, alert(LABELS, start + 120, start + 180))
    incident, = store.incidents()
    assert incident["flaps"] == 1
    assert (incident["resolved_at"] - incident["started_at"]).total_seconds() == 180


def test_firing_again_after_the_interval_is_a_new_incident(store: Store) -> None:
    start = time.time() - 2000
    send(store, alert(LABELS, start, start + 60))
    send(store, alert(LABELS, start + 60 + POLICY.suppression + 1))
    newer, older = store.incidents()
    assert older["resolved_at"] is not None and newer["resolved_at"] is None
    assert newer["flaps"] == older["flaps"] == 0


def test_a_settled_incident_is_not_reopened_by_a_late_flap(store: Store) -> None:
    """A flap delivered after the interval (the store was down) must not move counters back."""
    start = time.time() - 3 * POLICY.settle
    send(store, alert(LABELS, start, start + 10))
    send(store, alert(LABELS, start + 20))  # a flap by its times, but long settled
    assert [i["resolved_at"] is None for i in store.incidents()] == [True, False]


def test_late_copies_and_lone_resolutions(store: Store) -> None:
    start = time.time() - 5000
    send(store, alert(LABELS, start, start + 100))  # never seen firing: the whole incident
    send(store, alert(LABELS, start))  # a late copy of its firing notification
    incident, = store.incidents()
    assert (incident["resolved_at"] - incident["started_at"]).total_seconds() == 100


def test_escalations_raise_the_level_of_the_same_incident(store: Store) -> None:
    start = time.time() - 3000
    escalated = {**LABELS, "alertname": "AlertEscalated", "escalated_alertname": "ErrorRate",
                 "escalation_level": "2"}
    send(store, alert(LABELS, start))
    send(store, alert(escalated, start + 900), receiver="escalation-critical-level2")
    send(store, alert(escalated, start + 900, start + 1000), receiver="escalation-critical-level2")
    incident, = store.incidents()
    assert incident["escalation_level"] == 2 and incident["resolved_at"] is None
    assert incident["receivers"] == ["severity-critical", "escalation-critical-level2"]


def test_labels_cannot_inject_sql(store: Store, database: Database) -> None:
    evil = {"alertname": "x'); DROP TABLE vigil_incidents.incidents; --", "severity": "critical",
            "team": "a' OR '1'='1", "signal": "\\'; DELETE FROM vigil_incidents.incidents; --"}
    send(store, alert(LABELS, time.time() - 10), alert(evil, time.time() - 5))
    rows = database.rows()
    assert len(rows) == 2
    assert rows[1]["alertname"] == evil["alertname"] and rows[1]["team"] == evil["team"]
    assert rows[1]["labels"] == evil


def test_acknowledgement_records_who_and_when_once(store: Store) -> None:
    start = time.time() - 600
    send(store, alert(LABELS, start))
    incident = store.incidents()[0]["id"]
    first = store.acknowledge(incident, "alice", start + 120)
    again = store.acknowledge(incident, "mallory", start + 500)
    assert first["acknowledged_by"] == again["acknowledged_by"] == "alice"
    assert (again["acknowledged_at"] - again["started_at"]).total_seconds() == 120
    with pytest.raises(AckError, match="no incident"):
        store.acknowledge(incident + 1000, "alice", start)


@pytest.mark.parametrize(("incident", "by"), [
    ("12; DROP TABLE x", "alice"), ("-1", "alice"), ("", "alice"), (True, "alice"),
    ("1" * 40, "alice"), ("3", ""), ("3", "a" * 200), ("3", "bob\x00"), ("3", None),
])
def test_bad_acknowledgements_are_refused(incident: Any, by: Any) -> None:
    with pytest.raises(AckError):
        check_ack(incident, by)


def test_migrations_are_versioned_and_a_newer_schema_is_refused(database: Database) -> None:
    with database.connect() as conn:
        assert schema.migrate(conn) == 0
        assert schema.migrate(conn) == schema.LATEST  # a second run changes nothing
        conn.execute(f"INSERT INTO {schema.SCHEMA}.schema_version (version) VALUES (%s)",
                     (schema.LATEST + 1,))
        with pytest.raises(schema.SchemaError, match="newer"):
            schema.migrate(conn)


def _samples(families: list[Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_metrics_are_read_from_the_store(store: Store) -> None:
    now = time.time()
    send(store, alert(LABELS, now - 7200, now - 7200 + 1800))  # 30 min, settled, on time
    send(store, alert({**LABELS, "instance": "b"}, now - 9000, now - 9000 + 5400))  # 90 min: late
    send(store, alert({**LABELS, "instance": "c"}, now - 100, now - 50))  # not settled yet
    send(store, alert({**LABELS, "instance": "d", "severity": "warning", "team": "db"}, now - 60))
    store.acknowledge(store.incidents()[0]["id"], "alice", now - 30)
    got = _samples(store_families(store.conn, POLICY.settle))
    crit = (("priority", "P0"), ("severity", "critical"))
    assert got[("vigil_incidents_opened_total", (*crit, ("team", "operations")))] == 3
    assert got[("vigil_incidents_open", (("priority", "P2"), ("severity", "warning"),
                                         ("team", "db")))] == 1
    assert got[("vigil_incidents_time_to_resolve_seconds_count", crit)] == 2
    assert got[("vigil_incidents_time_to_resolve_seconds_sum", crit)] == 1800 + 5400
    assert got[("vigil_incidents_time_to_resolve_seconds_bucket", (("le", "3600.0"), *crit))] == 1
    assert got[("vigil_incidents_resolution_target_breaches_total", crit)] == 1
    # neither was acknowledged (nor resolved) within the 15-minute response target
    assert got[("vigil_incidents_response_target_breaches_total", crit)] == 2
    assert got[("vigil_incidents_time_to_acknowledge_seconds_count",
                (("priority", "P2"), ("severity", "warning")))] == 1
    assert got[("vigil_incidents_last_opened_timestamp_seconds", (("severity", "critical"),))] \
        == pytest.approx(now - 100, abs=0.01)
    assert got[("vigil_incidents_store_created_timestamp_seconds", ())] <= time.time()


def test_the_last_incidents_are_listed_one_by_one_newest_first(store: Store) -> None:
    from exporters.incidents.store import RECENT

    now = time.time()
    for n in range(RECENT + 2):  # the two oldest fall off the list
        start = now - 10_000 + n * 100
        send(store, alert({**LABELS, "instance": f"i{n}"}, start, None if n % 2 else start + 60))
    newest = store.incidents()[0]
    store.acknowledge(newest["id"], "alice", now)
    got = _samples(store_families(store.conn, POLICY.settle))
    started = {dict(labels)["id"]: (dict(labels), value) for (name, labels), value in got.items()
               if name == "vigil_incidents_recent_started_timestamp_seconds"}
    lasted = {dict(labels)["id"]: value for (name, labels), value in got.items()
              if name == "vigil_incidents_recent_duration_seconds"}
    ids = [str(row["id"]) for row in store.incidents()[:RECENT]]
    assert set(started) == set(lasted) == set(ids)
    labels, began = started[str(newest["id"])]
    assert began == pytest.approx(newest["started_at"].timestamp(), abs=0.01)
    assert (labels["alertname"], labels["severity"], labels["priority"], labels["state"]) == \
        (newest["alertname"], "critical", "P0", "acknowledged")
    resolved = next(r for r in store.incidents()[:RECENT] if r["resolved_at"] is not None)
    assert lasted[str(resolved["id"])] == pytest.approx(60, abs=0.01)
    assert started[str(resolved["id"])][0]["state"] == "resolved"
