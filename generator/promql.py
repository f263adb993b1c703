"""Filling the catalogue's PromQL templates.

One function, used by the rules and the dashboards alike, so the query an alert
evaluates and the query a panel draws differ only in their selectors and range.
"""

from __future__ import annotations

RULE_WINDOW = "5m"
DASHBOARD_WINDOW = "$__rate_interval"


def render(template: str, matchers: str, window: str = RULE_WINDOW) -> str:
    """Replace `$sel` with label matchers and `$window` with a range.

    `$sel` sits last inside braces (`x{mode="idle",$sel}`); with no matchers the
    comma it leaves behind is dropped so the output reads as a person would write it.
    """
    text = template.replace("$window", window)
    if matchers:
        return text.replace("$sel", matchers)
    return text.replace(",$sel}", "}").replace("{$sel}", "").replace("$sel", "")


def dashboard_matchers(exporter: str | None, extra_labels: tuple[str, ...] = ()) -> str:
    """Matchers a dashboard uses: its template variables instead of the spec's values."""
    pairs = []
    if exporter is not None:
        pairs += ['job=~"$job"', 'instance=~"$instance"']
    pairs += [f'{label}=~"${label}"' for label in extra_labels]
    return ",".join(pairs)
