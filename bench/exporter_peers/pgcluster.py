"""The throwaway PostgreSQL cluster of the database pairs, from tests/pg.py.

The benchmark reuses the test suite's cluster helper rather than a second
initdb/pg_ctl wrapper: it already runs the server as the `postgres` user when
we are root, on 127.0.0.1 and a free port, with its socket in its own
directory. It is loaded from its file path because `tests/` is not an
installed package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_HELPER = REPO_ROOT / "tests" / "pg.py"


def load_pg_helper() -> ModuleType:
    """Import tests/pg.py as the module `vigil_bench_pg`."""
    name = "vigil_bench_pg"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PG_HELPER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the PostgreSQL helper {PG_HELPER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the helper's, so the logic lives in one place)."""
    return int(load_pg_helper().free_port())
