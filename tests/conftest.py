"""Suite-wide settings.

Property tests explore new random examples on a developer's machine, but in CI
(`CI=true`) they replay a fixed sequence: a run that lands must not fail on an example
nobody has seen, and a run that failed can be reproduced.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
