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

    @property
    def comparable(self) -> float:
        """The value on a scale shared by every threshold of a signal: counted events
        over different windows (`100/h`, `20/m`) compare as rates."""
        return self.value / self.window if self.window else self.value

    def comparator(self) -> str:
        return {ABOVE: ">", BELOW: "<", ANY: ">", BELOW_BASELINE: "<"}[self.kind]


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
    text = str(raw).strip()
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
    forms: list[dict[str, object]] = [{"type": "string", "pattern": f"^\\s*(?:{string})\\s*$"}]
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
    if ANY in (first.kind, second.kind):
        return True
    if first.kind in (ABOVE, BELOW_BASELINE):
        return first.comparable <= second.comparable
    return first.comparable >= second.comparable
