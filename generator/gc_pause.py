"""Cyclic garbage collection paused while a spec is loaded and rendered.

Why: generation builds millions of small dicts, lists and strings that all stay alive
until the files are written, and almost none of them is in a reference cycle. Python's
collector still walks them again and again as they pile up (every full collection
visits every live object), which cost about a fifth of the CPU time of a 10,000-signal
spec (bench/generator_bench.py). Reference counting still frees everything acyclic at
once; the collector runs when the pause ends, so a cycle is only freed late, not lost.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block; nesting is harmless."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
