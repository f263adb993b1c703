"""An exhausted error budget is drawn red (the most severe colour), never a warning's yellow."""

from __future__ import annotations

from typing import Any

from tests.dashboards.conftest import panels_of


def colour_at(steps: list[dict[str, Any]], value: float) -> str:
    """Grafana's reading of threshold steps: the last step whose value `value` reaches."""
    colour = steps[0]["color"]
    for step in steps[1:]:
        if value >= step["value"]:
            colour = step["color"]
    return colour


def _steps(panel: dict[str, Any]) -> list[dict[str, Any]]:
    return panel["fieldConfig"]["defaults"]["thresholds"]["steps"]


def _panels(built: dict[str, dict[str, Any]], dashboard: str, suffix: str) -> list[dict[str, Any]]:
    found = [p for p in panels_of(built[dashboard]) if p["title"].endswith(suffix)]
    assert found, f"no panel ending in {suffix!r} on {dashboard}"
    return found


def test_budget_remaining_below_zero_is_red(spec, built):
    red = next(iter(spec.severities.values())).colour
    assert red == "red"
    for panel in _panels(built, "overview", "Error budget remaining"):
        steps = _steps(panel)
        assert colour_at(steps, -0.01) == red
        assert colour_at(steps, -5.0) == red
        assert colour_at(steps, 0.0) == "green"
        assert colour_at(steps, 0.5) == "green"


def test_budget_consumed_past_all_of_it_is_red(spec, built):
    red = next(iter(spec.severities.values())).colour
    for panel in _panels(built, "slo", "budget consumed (30d)"):
        steps = _steps(panel)
        assert colour_at(steps, 1.0) == red
        assert colour_at(steps, 3.0) == red
        assert colour_at(steps, 0.99) == "green"


def test_sli_below_its_objective_is_red(spec, built):
    red = next(iter(spec.severities.values())).colour
    panels = _panels(built, "slo", "SLI over 30d")
    for slo, panel in zip(spec.slos.values(), panels, strict=True):
        steps = _steps(panel)
        assert colour_at(steps, slo.objective - 0.0001) == red
        assert colour_at(steps, slo.objective) == "green"
