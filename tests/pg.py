"""Throwaway PostgreSQL clusters for tests: see :mod:`generator.demo.pg`.

The clusters are the demo's own (``vigil demo`` starts one the same way), so
the code lives with the demo and the suites keep importing ``tests.pg``.
"""

from generator.demo.pg import (
    BASE_SETTINGS,
    DEFAULT_PASSWORD,
    SERVER_USER,
    PgCluster,
    PgError,
    available,
    find_bin_dir,
    free_port,
    running_cluster,
)

__all__ = [
    "BASE_SETTINGS",
    "DEFAULT_PASSWORD",
    "SERVER_USER",
    "PgCluster",
    "PgError",
    "available",
    "find_bin_dir",
    "free_port",
    "running_cluster",
]
