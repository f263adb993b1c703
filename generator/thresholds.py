"""Reading a threshold as its signal's unit demands.

`80%` is only a valid threshold for a ratio, `100ms` only for a duration, `5/h` only
for counted events. What a threshold *means* (above, below, any increase, below its own
baseline) is decided here once, so that alert rules, unit tests and dashboard
thresholds all agree on it.

A threshold is the last value that is still fine: `80%` fires above 80 %, `< 4.0`
below 4.0, and a count `5/h` fires on *more than* five events in an hour (the sixth),
never on the fifth. Counts are compared as the integers they are (see
generator.catalogue.counted), so that holds however scrapes and evaluations align.

`any` counts over ANY_WINDOW: an event is reported when the first scrape after it
reaches Prometheus no more than ANY_MAX_GAP after the scrape before it (an exporter or
network gap up to that long loses nothing), and the alert then stays for at least
ANY_WINDOW - ANY_MAX_GAP (five minutes).

Two forms look ahead of a fixed line (generator/rules/forecast.py, anomaly.py):
- `90% within 4h [over 2h]` (FORECAST): the signal's linear trend over the lookback
  (`over`, default max(1h, horizon / 2), at most MAX_LOOKBACK) will cross 90 % within
  the horizon. On the signal's bad side, like a plain threshold.
- `anomaly 3σ [, season 1w] [, 3 seasons]` (ANOMALY), or the mapping
  `{anomaly: {sigma: 3, season: 1w, seasons: 3}}`: the signal is more than 3 standard
  deviations beyond its usual level at the same time of the last seasons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator import units

BASELINE_PATTERN = r"(\d+(?:\.\d+)?)\s*%\s+below\s+(?:its\s+)?(?:average|baseline)"
COMPARATOR_PATTERN = r"(>=|<=|>|<)"
ANY_WORDS = ("any", "any detection", "any increase")  # read case-insensitively
_BASELINE_RE = re.compile(f"^{BASELINE_PATTERN}$")
_COMPARATOR_RE = re.compile(rf"^{COMPARATOR_PATTERN}\s*(.+)$")

ABOVE = ">"
BELOW = "<"
ANY_MAX_GAP = 600.0  # seconds between two scrapes across which an `any` event is still seen
ANY_WINDOW = ANY_MAX_GAP + 300.0  # ...and the alert then holds for at least five minutes
ANY = "any"
BELOW_BASELINE = "below_baseline"
FORECAST = "forecast"
ANOMALY = "anomaly"

# Forecast bounds. Beyond a week a straight line says little about a resource: that is
# the capacity dashboard's 30/90/180-day projection, not an alert. The lookback is
# read at every evaluation, so it is capped at a day of samples.
MIN_HORIZON = 300.0
MAX_HORIZON = 7 * 86400.0
MIN_LOOKBACK = 120.0  # eight scrapes at the generated 15 s interval: a line, not two points
MAX_LOOKBACK = 86400.0
# Anomaly bounds: a season shorter than two of the band's one-hour windows has no
# "same time" to compare with; history is read from offsets, within retention.
MIN_SEASON = 7200.0
MAX_HISTORY = 42 * 86400.0
MAX_SEASONS = 8
DEFAULT_SEASON = 7 * 86400.0
DEFAULT_SEASONS = 3

_FORECAST_RE = re.compile(r"^(.+?)\s+within\s+(\S+)(?:\s+over\s+(\S+))?$")
_ANOMALY_RE = re.compile(
    r"^anomaly\s+(\d+(?:\.\d+)?)\s*(?:σ|sigma)"
    r"(?:\s*,?\s*season\s+(\S+?))?(?:\s*,?\s*(\d+)\s+seasons)?$")

_EXAMPLES = {
    "ratio": '"80%"',
    "seconds": '"500ms", "2s" or "1h"',
    "per_second": '"500/s"',
    "events": '"5/h" or "any"',
    "count": '"1000"',
    "score": '"4.0"',
    "currency": '"10000"',
    "bytes": '"1073741824"',
}


@dataclass(frozen=True)
class Threshold:
    """One severity's threshold on one signal, in base units."""

    severity: str
    kind: str  # ABOVE, BELOW, ANY or BELOW_BASELINE
    value: float  # base units; for BELOW_BASELINE the fraction below (0.2 for 20%)
    text: str  # as written in the spec, for people
    window: float | None = None  # seconds, for counted events (`5/h` → 3600)
    side: str = ABOVE  # FORECAST and ANOMALY: which side of the line (or band) is bad
    horizon: float | None = None  # FORECAST: seconds ahead the trend is extrapolated
    lookback: float | None = None  # FORECAST: seconds of history the trend is fitted on
    sigma: float | None = None  # ANOMALY: band half-width in standard deviations
    season: float | None = None  # ANOMALY: seconds after which the signal repeats itself
    seasons: int | None = None  # ANOMALY: how many past seasons the band is built from

    @property
    def comparable(self) -> float:
        """The value on a scale shared by every threshold of a signal: counted events
        over different windows (`100/h`, `20/m`) compare as rates."""
        return self.value / self.window if self.window else self.value

    def comparator(self) -> str:
        if self.kind in (FORECAST, ANOMALY):
            return ">" if self.side == ABOVE else "<"
        return {ABOVE: ">", BELOW: "<", ANY: ">", BELOW_BASELINE: "<"}[self.kind]

    @property
    def predictive(self) -> bool:
        """A forecast or an anomaly: its own alert, rules and tests, no fixed step."""
        return self.kind in (FORECAST, ANOMALY)


def expected(unit: str) -> str:
    return f"expected a {unit.replace('_', ' ')} threshold such as {_EXAMPLES[unit]}"


# Units whose values can be below zero, for a custom signal (a balance, a score delta).
# Every other unit, and every catalogue signal, is never negative.
SIGNED_UNITS = frozenset({"score", "currency"})


def parse_threshold(raw: object, unit: str, direction: str, severity: str,
                    signed: bool = False) -> Threshold:
    """Parse `raw` for a signal of `unit` whose bad side is `direction` (`>` or `<`).

    An explicit comparator (`< 4.0`, `> 1h`) overrides the catalogue's direction.
    `signed` says the signal can go below zero (see SIGNED_UNITS); otherwise a
    threshold that makes the alert always on or never on is refused.
    Raises units.UnitError with a message that says what was expected.
    """
    if isinstance(raw, dict):
        raw = _anomaly_text(raw)
    text = str(raw).strip()
    anomaly = _ANOMALY_RE.match(text)
    if anomaly or text.lower().startswith("anomaly"):
        return _parse_anomaly(anomaly, text, unit, direction, severity)
    forecast = _FORECAST_RE.match(text)
    if forecast:
        return _parse_forecast(forecast, raw, unit, direction, severity, signed)
    if re.search(r"\bwithin\b", text):
        raise units.UnitError(f"expected a horizon after `within`, such as \"90% within 4h\", "
                              f"got {raw!r}")
    if unit == "events":
        threshold = _parse_events(text, severity, unit)
        if threshold.kind == ABOVE and threshold.value <= 0:
            raise units.UnitError(f"{text!r} would fire on every single event; write `any` for "
                                  "that, or a count above 0")
        return threshold
    baseline = _BASELINE_RE.match(text)
    if baseline:
        fraction = float(baseline.group(1)) / 100.0
        if not 0 < fraction < 1:
            raise units.UnitError("expected a percentage between 0% and 100% below the average")
        return Threshold(severity, BELOW_BASELINE, fraction, text)
    kind = ABOVE if direction == ">" else BELOW
    comparator = _COMPARATOR_RE.match(text)
    body = text
    if comparator:
        kind = ABOVE if comparator.group(1).startswith(">") else BELOW
        body = comparator.group(2).strip()
    try:
        value = _parse_value(body, unit)
    except units.UnitError:
        raise units.UnitError(f"{expected(unit)}, got {raw!r}") from None
    if unit == "ratio" and not 0 <= value <= 1:
        raise units.UnitError(f"expected a percentage between 0% and 100%, got {raw!r}")
    _check_meaningful(kind, value, unit, text, signed)
    return Threshold(severity, kind, value, text)


def _anomaly_text(raw: dict[object, object]) -> str:
    """`{anomaly: {sigma: 3, season: 1w, seasons: 3}}` as its text form."""
    body = raw.get("anomaly")
    if set(raw) != {"anomaly"} or not isinstance(body, dict):
        raise units.UnitError("expected a threshold such as \"80%\" or "
                              "{anomaly: {sigma: 3, season: 1w, seasons: 3}}")
    unknown = sorted(str(k) for k in body if k not in ("sigma", "season", "seasons"))
    if unknown:
        raise units.UnitError(f"unknown anomaly setting {unknown[0]!r}; expected sigma, "
                              "season or seasons")
    text = f"anomaly {body.get('sigma', '')}σ"
    if "season" in body:
        text += f", season {body['season']}"
    if "seasons" in body:
        text += f", {body['seasons']} seasons"
    return text


def _parse_anomaly(match: re.Match[str] | None, text: str, unit: str, direction: str,
                   severity: str) -> Threshold:
    if match is None:
        raise units.UnitError(f"expected an anomaly threshold such as \"anomaly 3σ\" or "
                              f"\"anomaly 3σ, season 1d, 4 seasons\", got {text!r}")
    if unit == "events":
        raise units.UnitError("an anomaly needs a level to compare, not counted events; "
                              "write a count such as \"5/h\" instead")
    sigma = float(match.group(1))
    if not 0 < sigma <= 10:
        raise units.UnitError(f"expected a band of more than 0σ and at most 10σ, got {text!r}")
    season = units.parse_duration(match.group(2)) if match.group(2) else DEFAULT_SEASON
    if season < MIN_SEASON:
        raise units.UnitError(f"expected a season of at least {units.format_duration(MIN_SEASON)}"
                              f" (the band compares one-hour windows), got {match.group(2)!r}")
    seasons = int(match.group(3)) if match.group(3) else DEFAULT_SEASONS
    if not 1 <= seasons <= MAX_SEASONS:
        raise units.UnitError(f"expected 1 to {MAX_SEASONS} seasons, got {seasons}")
    if season * seasons > MAX_HISTORY:
        raise units.UnitError(f"{seasons} seasons of {units.format_duration(season)} need more "
                              f"history than {units.format_duration(MAX_HISTORY)}; Prometheus "
                              "keeps 45 days by default here")
    return Threshold(severity, ANOMALY, sigma, text, side=ABOVE if direction == ">" else BELOW,
                     sigma=sigma, season=season, seasons=seasons)


def default_lookback(horizon: float) -> float:
    """Half the horizon, at least an hour and at most MAX_LOOKBACK.

    A straight line fitted on history much shorter than the distance it is stretched
    over turns noise into trend; one much longer answers late to a new growth rate.
    Half the horizon keeps the extrapolation to twice the fitted span, an hour at
    least gives a fit sixty one-minute samples.
    """
    return min(max(3600.0, horizon / 2), MAX_LOOKBACK)


def forecast_for(threshold: Threshold, signal_for: float) -> float:
    """How long a forecast must hold: a quarter of its lookback, or the signal's `for`.

    A short spike bends the fitted line for as long as it stays in the late part of the
    lookback; together with the "still growing" condition (generator/rules/forecast.py)
    a quarter of the lookback outlasts any spike shorter than that.
    """
    return max(signal_for, (threshold.lookback or 0.0) / 4)


def _parse_forecast(match: re.Match[str], raw: object, unit: str, direction: str,
                    severity: str, signed: bool) -> Threshold:
    if unit == "events":
        raise units.UnitError("a forecast needs a level that grows, not counted events")
    line = parse_threshold(match.group(1), unit, direction, severity, signed)
    if line.kind not in (ABOVE, BELOW):
        raise units.UnitError(f"expected a level before `within`, such as \"90% within 4h\", "
                              f"got {raw!r}")
    horizon = _bounded_duration(match.group(2), "horizon", MIN_HORIZON, MAX_HORIZON,
                                "longer trends are the capacity dashboard's projections")
    lookback = (_bounded_duration(match.group(3), "lookback", MIN_LOOKBACK, MAX_LOOKBACK,
                                  "every evaluation reads the whole lookback")
                if match.group(3) else default_lookback(horizon))
    return Threshold(severity, FORECAST, line.value, str(raw).strip(), side=line.kind,
                     horizon=horizon, lookback=lookback)


def _bounded_duration(text: str, what: str, low: float, high: float, why: str) -> float:
    try:
        seconds = units.parse_duration(text)
    except units.UnitError:
        raise units.UnitError(f'expected a {what} duration such as "4h", got {text!r}') from None
    if seconds < low:
        raise units.UnitError(f"expected a {what} of at least {units.format_duration(low)}, "
                              f"got {text!r}")
    if seconds > high:
        raise units.UnitError(f"expected a {what} of at most {units.format_duration(high)} "
                              f"({why}), got {text!r}")
    return seconds


def _check_meaningful(kind: str, value: float, unit: str, text: str, signed: bool) -> None:
    """Refuse a threshold whose alert is always on or can never fire, saying why."""
    if not signed and value <= 0:
        if kind == ABOVE:
            when = "whenever it is not exactly 0" if value == 0 else "all the time"
            raise units.UnitError(f"{text!r} would fire {when}: this signal is never negative; "
                                  "expected a threshold above 0")
        raise units.UnitError(f"{text!r} can never fire: this signal is never negative; "
                              "expected a threshold above 0")
    if unit == "ratio" and kind == ABOVE and value >= 1:
        raise units.UnitError(f"{text!r} can never fire: a ratio is never above 100%")


def _parse_events(text: str, severity: str, unit: str) -> Threshold:
    if text.lower() in ANY_WORDS:
        return Threshold(severity, ANY, 0.0, text, window=ANY_WINDOW)
    try:
        rate = units.parse_rate(text)
    except units.UnitError:
        raise units.UnitError(f"{expected(unit)}, got {text!r}") from None
    return Threshold(severity, ABOVE, rate.count, text, window=rate.per_seconds)


def _parse_value(body: str, unit: str) -> float:
    if unit == "ratio":
        return units.parse_percent(body)
    if unit == "seconds":
        return units.parse_duration(body)
    if unit == "per_second":
        return units.parse_rate(body).per_second
    if unit == "score":
        # `4.0/5.0` as the plan writes satisfaction: the scale is documentation.
        body = body.split("/")[0].strip()
    return units.parse_number(body)


# What a value of each unit is written as, after an optional comparator (`_parse_value`).
_VALUE_PATTERNS = {
    "ratio": units.PERCENT_PATTERN,
    "seconds": units.DURATION_PATTERN,
    "per_second": units.RATE_PATTERN,
    "score": rf"{units.NUMBER_PATTERN}\s*(?:/.*)?",  # `4.0/5.0`: the scale is documentation
}
_NUMBER_UNITS = frozenset({"count", "score", "currency", "bytes"})


def _any_case(word: str) -> str:
    """`any` as a pattern matching it in any case (JSON Schema patterns have no flags);
    the words are letters and spaces only."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


def json_forms(unit: str, signed: bool = False) -> tuple[dict[str, object], ...]:
    """JSON Schemas of the thresholds `parse_threshold` reads for `unit`, for editors.

    Built from the parsers' own patterns, and never narrower than them: what they
    refuse by value (`0%`, a ratio above 100 %) is left to the loader's message.
    """
    if unit == "events":
        words = "|".join(_any_case(w) for w in ANY_WORDS)
        string = f"{words}|{units.RATE_PATTERN}"
    else:
        value = _VALUE_PATTERNS.get(unit, units.NUMBER_PATTERN)
        string = f"{BASELINE_PATTERN}|(?:{COMPARATOR_PATTERN}\\s*)?(?:{value})"
    duration = units.DURATION_PATTERN
    looking_ahead = [f"{_any_case('anomaly')}\\s+\\d+(?:\\.\\d+)?\\s*(?:σ|{_any_case('sigma')})"
                     f"(?:\\s*,?\\s*season\\s+{duration})?(?:\\s*,?\\s*\\d+\\s+seasons)?"]
    if unit != "events":  # a forecast of counted events is refused by the loader
        looking_ahead.append(f"(?:{string})\\s+within\\s+{duration}(?:\\s+over\\s+{duration})?")
    string = "|".join([string, *looking_ahead])
    forms: list[dict[str, object]] = [{"type": "string", "pattern": f"^\\s*(?:{string})\\s*$"},
                                      {"type": "object", "required": ["anomaly"],
                                       "properties": {"anomaly": {"type": "object"}}}]
    if unit in _NUMBER_UNITS:
        forms.append({"type": "number"} if signed else {"type": "number", "exclusiveMinimum": 0})
    return tuple(forms)


def example(unit: str) -> str:
    """One threshold of `unit` as the spec writes it (the first of `expected`'s)."""
    return _EXAMPLES[unit].split(",")[0].split(" or ")[0].strip('"')


def strictness_order(first: Threshold, second: Threshold) -> bool:
    """True when `first` fires no later than `second` on the way to trouble.

    For an `above` signal a lower threshold fires first; for a `below` signal a higher
    one does. Used to reject a warning that is stricter than the critical threshold.
    """
    if ANY in (first.kind, second.kind) or first.predictive or second.predictive:
        return True
    if first.kind in (ABOVE, BELOW_BASELINE):
        return first.comparable <= second.comparable
    return first.comparable >= second.comparable
