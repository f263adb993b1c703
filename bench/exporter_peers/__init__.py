"""Harness for `bench/exporters_bench.py`: each Vigil exporter against its Go peer.

The modules are split by job: `procs` starts, stops and accounts for processes
through /proc, `scrape` times HTTP scrapes, `pgcluster` runs a throwaway
PostgreSQL, `peers` installs and describes the Debian peers, `pairs` writes the
configuration of both sides of each comparison, and `report` renders the
table and bench/RESULTS.md.
"""
