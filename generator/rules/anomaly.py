"""Anomaly alerts: `anomaly 3σ` fires when a signal leaves the band of its own history.

The method (after the recording rules of GitLab's "Prometheus anomaly detection" and
Grafana's promql-anomaly-detection): the recorded signal is summarised once per
evaluation as its mean and standard deviation over the last hour
(`vigil:<signal>:avg_1h`, `vigil:<signal>:stddev_1h`). The band for now is built from
those summaries at the same moment of each of the last N seasons, each centred on that
moment (`offset season - 30m`): its mean is the mean of the N hourly means, its
standard deviation the pooled one of all N hours (law of total variance: the mean of
the hourly variances plus the variance of the hourly means), so both the noise within
an hour and the difference between weeks widen it. Each evaluation reads 2N recorded
samples per series, whatever the history: the cost does not grow with it.

The alert fires on the signal's bad side (above the band for an error rate, below for
a conversion rate) when the value is more than `sigma` deviations from the band's mean
and also more than MIN_RELATIVE of that mean away from it, so a history so regular
that its deviation is nearly zero does not turn every small change into an alarm. It
stays silent while any of the N seasons is missing (too little history), when the
value or the band's mean is zero (nothing to compare with), and for less than
ANOMALY_MIN_FOR, so a single odd minute is not a level shift.
"""

from __future__ import annotations

from collections.abc import Callable

from generator import units
from generator.thresholds import ABOVE, Threshold

ALERT_SUFFIX = "Anomaly"
WINDOW = 3600.0  # the summaries' window: the "same time" of past seasons is this hour
MIN_RELATIVE = 0.1  # a value within 10 % of the usual level is never an anomaly
ANOMALY_MIN_FOR = 900.0


def avg_name(signal: str) -> str:
    return f"vigil:{signal}:avg_{units.format_duration(WINDOW)}"


def stddev_name(signal: str) -> str:
    return f"vigil:{signal}:stddev_{units.format_duration(WINDOW)}"


def band_names(signal: str, threshold: Threshold) -> tuple[str, str]:
    """(mean, standard deviation) of the band for this threshold's seasons."""
    seasons = f"{threshold.seasons}x{units.format_duration(threshold.season or 0.0)}"
    return f"vigil:{signal}:band_mean_{seasons}", f"vigil:{signal}:band_stddev_{seasons}"


def anomaly_for(signal_for: float) -> float:
    return max(signal_for, ANOMALY_MIN_FOR)


def _seasons(threshold: Threshold, term: Callable[[str], str]) -> str:
    """`term(offset)` for each past season, labelled by season so they can be averaged."""
    season = threshold.season or 0.0
    parts = []
    for k in range(1, (threshold.seasons or 0) + 1):
        offset = units.format_duration(k * season - WINDOW / 2)
        parts.append(f'label_replace({term(offset)}, "season", "{k}", "", "")')
    return " or ".join(parts)


def recording_rules(signal: str, series: str, selector: str,
                    thresholds: list[Threshold]) -> list[tuple[str, str]]:
    """(record, expr) pairs: the hourly summaries once, a band per distinct history."""
    if not thresholds:
        return []
    window = units.format_duration(WINDOW)
    avg, stddev = f"{avg_name(signal)}{selector}", f"{stddev_name(signal)}{selector}"
    rules = [(avg_name(signal), f"avg_over_time({series}[{window}])"),
             (stddev_name(signal), f"stddev_over_time({series}[{window}])")]
    seen = set()
    for threshold in thresholds:
        mean_name, sd_name = band_names(signal, threshold)
        if mean_name in seen:
            continue
        seen.add(mean_name)
        means = _seasons(threshold, lambda offset: f"{avg} offset {offset}")
        squares = _seasons(threshold, lambda offset: (
            f"({stddev} offset {offset}) ^ 2 + ({avg} offset {offset}) ^ 2"))
        rules.append((mean_name, f"avg without (season) ({means}) and count without (season) "
                                 f"({means}) == {threshold.seasons}"))
        rules.append((sd_name, f"sqrt(clamp_min(avg without (season) ({squares}) - "
                               f"{mean_name}{selector} ^ 2, 0))"))
    return rules


def alert_expr(signal: str, series: str, selector: str, threshold: Threshold) -> str:
    mean_name, sd_name = band_names(signal, threshold)
    mean, sd = f"{mean_name}{selector}", f"{sd_name}{selector}"
    sigma = units.format_number(threshold.sigma or 0.0)
    if threshold.side == ABOVE:
        factor = units.format_number(1 + MIN_RELATIVE)
        return (f"{series} > {mean} + {sigma} * {sd} and {series} > {factor} * {mean} "
                f"and {series} > 0 and {mean} > 0")
    factor = units.format_number(1 - MIN_RELATIVE)
    return (f"{series} < {mean} - {sigma} * {sd} and {series} < {factor} * {mean} "
            f"and {series} > 0")


def describe(title: str, threshold: Threshold, value: str, on: str,
             text: Callable[[str], str]) -> tuple[str, str]:
    word = "above" if threshold.side == ABOVE else "below"
    sigma = units.format_number(threshold.sigma or 0.0)
    season = units.format_duration(threshold.season or 0.0)
    summary = f"{title} anomalous{on}"
    description = (f"{title} is {value}, more than {sigma}σ {word} its usual level at this "
                   f"time (the same hour of the last {threshold.seasons} seasons of {season}).")
    return summary, description
