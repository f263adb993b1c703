"""Bounded ``route`` label for access-log requests.

Why bounded: raw paths (``/orders/81723``) would create one series per
order. A path becomes the name of the first configured route it matches
(exact path, prefix, or regex); when ``path_segments`` is set, unmatched paths
are reduced to their first N segments (``/api/orders``) until ``max_routes``
distinct values exist; everything else is ``other``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

OTHER = "other"


@dataclass(frozen=True)
class Route:
    name: str
    exact: str | None = None
    prefix: str | None = None
    pattern: re.Pattern[str] | None = None

    def matches(self, path: str) -> bool:
        if self.exact is not None:
            return path == self.exact
        if self.prefix is not None:
            return path.startswith(self.prefix)
        assert self.pattern is not None
        return self.pattern.search(path) is not None


class RouteMapper:
    def __init__(self, routes: list[Route], path_segments: int = 0, max_routes: int = 100) -> None:
        self.routes = routes
        self.path_segments = path_segments
        self.max_routes = max_routes
        self._learned: set[str] = set()
        self._lock = threading.Lock()

    def route(self, target: str) -> str:
        path = target.split("?", 1)[0].split("#", 1)[0] or "/"
        for route in self.routes:
            if route.matches(path):
                return route.name
        if self.path_segments <= 0 or not path.startswith("/"):
            return OTHER
        segments = [s for s in path.split("/") if s][: self.path_segments]
        name = "/" + "/".join(segments)
        with self._lock:
            if name in self._learned:
                return name
            if len(self._learned) + len(self.routes) >= self.max_routes:
                return OTHER
            self._learned.add(name)
        return name
