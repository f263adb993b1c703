"""The incident recorder (`vigil incidents`): Alertmanager's notifications become incidents.

Prometheus's `ALERTS` series forgets an alert once it resolves, so nothing in a plain
Prometheus measures how long incidents lasted or how often they happen. The recorder
is a webhook receiver on every generated Alertmanager route; it keeps one incident
per alert fingerprint, from first firing to resolved, in PostgreSQL, and exports the
counts and durations from which the generated rules record MTTR and MTBF.

One module per job:

- :mod:`.payload`: the webhook body, bounded and checked, into :class:`AlertEvent`;
- :mod:`.fingerprint`: Alertmanager's fingerprint of a label set (escalations are
  folded into the incident of the alert they escalate);
- :mod:`.schema`: the versioned schema and its migrations;
- :mod:`.store`: incidents in PostgreSQL (apply an event, acknowledge, list, totals);
- :mod:`.queue`: the bounded in-memory queue between HTTP and the database;
- :mod:`.metrics`: the exported metric families;
- :mod:`.service`: the HTTP routes on the exporters' server;
- :mod:`.cli`: `vigil incidents serve | ack | list`.
"""
