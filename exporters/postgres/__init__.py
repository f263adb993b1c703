"""The ``postgres`` exporter: server health from PostgreSQL's statistics views.

``vigil exporter postgres --config FILE`` serves ``vigil_pg_*`` on
127.0.0.1:9733 by default. See :mod:`.exporter` for the wiring, :mod:`.queries`
for what is read, and :mod:`.session` for the connection discipline shared
with the ``sql`` exporter (read-only, statement_timeout, reconnect with backoff).
"""

from exporters.postgres.exporter import build

__all__ = ["build"]
