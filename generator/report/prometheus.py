"""Prometheus's HTTP query API, as the report needs it: a value, a series, or no data.

A Prometheus that is missing, unreachable or answers with an error is a
:class:`ReportError` with one line saying which URL and what happened, so
`vigil report` can print it instead of a traceback. An empty answer is not an
error: it is `None` ("no data"), never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests


class ReportError(RuntimeError):
    """The report cannot be made; the message says why in one line."""


@dataclass(frozen=True)
class Prometheus:
    url: str
    timeout: float = 30.0

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = requests.get(f"{self.url.rstrip('/')}{path}", params=params,
                                    timeout=self.timeout)
        except requests.RequestException as exc:
            raise ReportError(f"cannot reach Prometheus at {self.url}: "
                              f"{type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise ReportError(f"{self.url} did not answer as Prometheus does "
                              f"(HTTP {response.status_code})") from None
        if body.get("status") != "success":
            raise ReportError(f"Prometheus at {self.url} refused a query: "
                              f"{str(body.get('error', response.status_code))[:200]}")
        return body["data"]

    def check(self) -> None:
        """Fail early and clearly when Prometheus is not there."""
        self._get("/api/v1/query", {"query": "1"})

    def vector(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        result = []
        for item in data.get("result", []) if data.get("resultType") == "vector" else []:
            value = float(item["value"][1])
            if math.isfinite(value):
                result.append((item["metric"], value))
        return result

    def value(self, expr: str, at: float) -> float | None:
        """The single value of `expr` at `at`, or None when there is no data."""
        found = self.vector(expr, at)
        return found[0][1] if found else None

    def series(self, expr: str, start: float, end: float, points: int = 200
               ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        step = max(15.0, (end - start) / points)
        data = self._get("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}",
                                                 "end": f"{end:.3f}", "step": f"{step:.3f}"})
        return [(item["metric"], [(float(t), float(v)) for t, v in item["values"]
                                  if math.isfinite(float(v))])
                for item in data.get("result", [])]
