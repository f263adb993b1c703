"""`vigil demo`: the whole bundle running on one machine, on a simulated shop.

- :mod:`generator.demo.stack`    start/stop PostgreSQL, the exporters, Prometheus,
  Alertmanager and the webhook receiver on loopback, in one run directory;
- :mod:`generator.demo.workload` shop traffic, and the faults the default spec catches;
- :mod:`generator.demo.receiver` the webhook receiver recording every notification;
- :mod:`generator.demo.summary`  the live terminal summary;
- :mod:`generator.demo.run`      the `vigil demo` command;
- :mod:`generator.demo.pg`, :mod:`generator.demo.shop`, :mod:`generator.demo.certs`,
  :mod:`generator.demo.server`
  the throwaway PostgreSQL, the shop's web side, its self-signed certificate and the
  background HTTP server they share.
"""
