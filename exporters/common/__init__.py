"""The framework every Vigil exporter is built on; one small module per job.

- :mod:`exporters.common.config`: YAML → ``ConfigNode``; ``ConfigError`` names
  file and key path (``host.yml: tcp_targets[2].address: expected "host:port"``).
- :mod:`exporters.common.secrets`: ``{env: NAME}``/``{file: PATH}``/``NAME_FILE``
  secrets and ``redact()`` for connection strings in logs.
- :mod:`exporters.common.tasks`: ``PeriodicTask`` runs expensive sources in the
  background on their own interval and timeout; scrapes read the last result.
- :mod:`exporters.common.selfmetrics`: ``<prefix>_collector_success``,
  ``<prefix>_collector_duration_seconds``, ``<prefix>_build_info``.
- :mod:`exporters.common.exporter`: ``Exporter(prefix, sources, tasks)`` and
  ``Source``: a private registry where a failing source is a metric, never a 500.
- :mod:`exporters.common.webconfig`: node_exporter's ``web-config.yml`` (TLS,
  bcrypt basic auth).
- :mod:`exporters.common.exposition`: the text and OpenMetrics rendering of a
  scrape, a fast path for plain families and prometheus_client otherwise.
- :mod:`exporters.common.server`: ``MetricsServer`` (``/metrics``, ``/healthz``)
  with its connection bound and deadlines, and ``serve_until_signal``.
- :mod:`exporters.common.ratelog`: ``RateLimitedLog``, one log line per kind
  of client-triggered problem per minute.

An exporter package ``exporters.<name>`` exposes ``build(config: ConfigNode) ->
Exporter`` and has one entry in ``exporters.cli.EXPORTERS``.
"""
