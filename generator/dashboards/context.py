"""What every dashboard builder needs from the spec: matchers, queries, ids and the grid.

Every query a dashboard draws is a template with `$sel` (and `$window` for ranges),
filled by `generator.promql.render`, the same function the alert rules use. On a
dashboard `$sel` becomes the template variables: `job`/`instance` for exporter
metrics, and one variable per spec selector label (`environment`) for everything,
including the recorded SLO series and `ALERTS`, which carry the selector labels but
no job or instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grafanalib.core import GridPos, Target

from generator import promql
from generator.dashboards.layout import Grid, PanelIds
from generator.model import Spec

DASHBOARD_WINDOW = promql.DASHBOARD_WINDOW
OK_COLOUR = "green"


@dataclass
class Context:
    """One dashboard being built: its spec, its grid and its panel numbering."""

    spec: Spec
    name: str
    ids: PanelIds
    grid: Grid = field(default_factory=Grid)

    @property
    def selector_labels(self) -> tuple[str, ...]:
        return tuple(sorted(self.spec.selectors))

    def matchers(self, exporter: str | None) -> str:
        """`job=~"$job",instance=~"$instance",environment=~"$environment"` (no job without exporter)."""
        return promql.dashboard_matchers(exporter, self.selector_labels)

    def query(self, template: str, exporter: str | None, window: str = DASHBOARD_WINDOW) -> str:
        return promql.render(template, self.matchers(exporter), window)

    def place(self, width: int, height: int) -> GridPos:
        return self.grid.place(width, height)

    @property
    def worst_colour(self) -> str:
        """Colour for "target missed" on panels that are not a signal: the most severe severity's."""
        severities = list(self.spec.severities.values())
        return severities[0].colour if severities else "red"


def target(expr: str, ref_id: str = "A", legend: str = "", instant: bool = False,
           table: bool = False) -> Target:
    return Target(expr=expr, refId=ref_id, legendFormat=legend, instant=instant,
                  format="table" if table else "time_series")


_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_REF_IDS = (*_LETTERS, *(a + b for a in _LETTERS for b in _LETTERS))


def ref_ids() -> tuple[str, ...]:
    """A, B, ... Z, AA, AB ...: enough for one target per SLO window or team.

    Built once: every signal panel takes its names from here.
    """
    return _REF_IDS
