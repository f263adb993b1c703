"""Sloth- and Pyrra-shaped rules for one SLO, written from the peers' documented formulas.

Why hand-written: the benchmark and the alert-pace test compare what Prometheus pays for
each rule *shape*, so the peers' generators are not needed (nor vendored), only the
expressions their documentation and generated examples show, for a ratio SLI over a
30-day period:

- Sloth (sloth.dev, "SLI recording rules"): one raw `rate` ratio per window,
  `sum(rate(errors[W])) / sum(rate(total[W]))` for 5m, 30m, 1h, 2h, 6h, 1d and 3d; the
  period's ratio as the average of the 5m ratios,
  `sum_over_time(ratio_rate5m[30d]) / count_over_time(ratio_rate5m[30d])`; its metadata
  recordings; a page and a ticket alert, each the OR of two window pairs (SRE workbook).
- Pyrra (pyrra.dev, slo/rules.go): the period's `increase` of the raw counters in a group
  of its own (interval 2m30s for a 30-day window), and one raw `rate` ratio per
  burn-rate window, the workbook's 28-day windows scaled to the period, with alerts on
  each short/long pair (factors 14, 7, 2, 1; their `for` is left out, it costs nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator import units

DAY = 86400.0
PERIOD = "30d"
SLOTH_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, ((long, short, factor), ...)): each alert fires on either pair.
SLOTH_ALERTS = (
    ("page", (("1h", "5m", 14.4), ("6h", "30m", 6.0))),
    ("ticket", (("1d", "2h", 3.0), ("3d", "6h", 1.0))),
)
# Pyrra's windows for 28 days: (long, short, factor, severity), in seconds.
PYRRA_WINDOWS_28D = ((3600, 300, 14, "critical"), (21600, 1800, 7, "critical"),
                     (86400, 7200, 2, "warning"), (345600, 21600, 1, "warning"))
PYRRA_INCREASE_INTERVAL = "2m30s"


@dataclass(frozen=True)
class PeerSlo:
    """One SLO as the peers see it: raw selectors for errors and total, an objective."""

    name: str
    errors: str  # a vector selector, e.g. requests_total{service="a",status_class="5xx"}
    total: str
    objective: float


def _minutes(seconds: float) -> str:
    """A duration rounded to whole minutes, as Pyrra rounds its scaled windows."""
    return units.format_duration(round(seconds / 60) * 60)


def sloth_groups(slo: PeerSlo) -> list[dict[str, Any]]:
    """Sloth's three groups for one SLO: SLI recordings, metadata recordings, alerts."""
    ids = {"sloth_id": f"bench-{slo.name}", "sloth_service": "bench", "sloth_slo": slo.name}
    sel = ",".join(f'{k}="{v}"' for k, v in ids.items())
    budget = round(1 - slo.objective, 12)
    sli = [{"record": f"slo:sli_error:ratio_rate{w}",
            "expr": f"(sum(rate({slo.errors}[{w}])))\n/\n(sum(rate({slo.total}[{w}])))",
            "labels": {**ids, "sloth_window": w}} for w in SLOTH_WINDOWS]
    sli.append({"record": f"slo:sli_error:ratio_rate{PERIOD}",
                "expr": (f"sum_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[{PERIOD}])\n"
                         f"/ ignoring (sloth_window)\n"
                         f"count_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[{PERIOD}])"),
                "labels": {**ids, "sloth_window": PERIOD}})
    on = "on (sloth_id, sloth_slo, sloth_service) group_left"
    meta = [
        {"record": "slo:objective:ratio", "expr": f"vector({slo.objective})", "labels": ids},
        {"record": "slo:error_budget:ratio", "expr": f"vector(1-{slo.objective})", "labels": ids},
        {"record": "slo:time_period:days", "expr": "vector(30)", "labels": ids},
        {"record": "slo:current_burn_rate:ratio",
         "expr": f"slo:sli_error:ratio_rate5m{{{sel}}}\n/ {on}\nslo:error_budget:ratio{{{sel}}}",
         "labels": ids},
        {"record": "slo:period_burn_rate:ratio",
         "expr": (f"slo:sli_error:ratio_rate{PERIOD}{{{sel}}}\n/ {on}\n"
                  f"slo:error_budget:ratio{{{sel}}}"), "labels": ids},
        {"record": "slo:period_error_budget_remaining:ratio",
         "expr": f"1 - slo:period_burn_rate:ratio{{{sel}}}", "labels": ids},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": ids},
    ]

    def over(window: str, factor: float) -> str:
        return (f"max(slo:sli_error:ratio_rate{window}{{{sel}}} > ({factor} * {budget}))"
                " without (sloth_window)")

    alerts = [{"alert": f"BenchSloth{severity.title()}",
               "expr": " or ".join(f"({over(long, f)} and {over(short, f)})"
                                   for long, short, f in pairs),
               "labels": {"sloth_severity": severity, "slo": slo.name}}
              for severity, pairs in SLOTH_ALERTS]
    return [{"name": f"sloth-slo-sli-recordings-bench-{slo.name}", "rules": sli},
            {"name": f"sloth-slo-meta-recordings-bench-{slo.name}", "rules": meta},
            {"name": f"sloth-slo-alerts-bench-{slo.name}", "rules": alerts}]


def pyrra_windows(period: float = 30 * DAY) -> list[tuple[str, str, int, str]]:
    """The 28-day windows scaled to `period`, rounded to minutes as Pyrra does."""
    scale = period / (28 * DAY)
    return [(_minutes(long * scale), _minutes(short * scale), factor, severity)
            for long, short, factor, severity in PYRRA_WINDOWS_28D]


def pyrra_groups(slo: PeerSlo, status_label: str = "status_class") -> list[dict[str, Any]]:
    """Pyrra's increase group (the whole period from raw counters) and burn-rate group."""
    metric = slo.total.split("{", 1)[0].removesuffix("_total")
    labels = {"slo": slo.name}
    increase = [
        {"record": f"{metric}:increase{PERIOD}",
         "expr": f"sum by ({status_label}) (increase({slo.total}[{PERIOD}]))", "labels": labels},
        {"alert": "SLOMetricAbsent", "expr": f"absent({slo.total}) == 1", "for": "2m",
         "labels": {**labels, "severity": "critical"}},
    ]
    windows = pyrra_windows()
    seen: list[str] = []
    for long, short, _, _ in windows:
        seen += [w for w in (short, long) if w not in seen]
    burn = [{"record": f"{metric}:burnrate{w}",
             "expr": f"sum(rate({slo.errors}[{w}])) / sum(rate({slo.total}[{w}]))",
             "labels": labels} for w in seen]
    target = slo.objective
    for long, short, factor, severity in windows:
        burn.append({
            "alert": "ErrorBudgetBurn",
            "expr": (f'{metric}:burnrate{short}{{slo="{slo.name}"}} > ({factor} * (1-{target}))'
                     f' and {metric}:burnrate{long}{{slo="{slo.name}"}} > ({factor} * (1-{target}))'),
            "labels": {**labels, "severity": severity, "long": long, "short": short},
        })
    return [{"name": f"{slo.name}-increase", "interval": PYRRA_INCREASE_INTERVAL, "rules": increase},
            {"name": slo.name, "interval": "30s", "rules": burn}]

