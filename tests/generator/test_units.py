import pytest

from generator import units
from generator.thresholds import ABOVE, ANY, BELOW, BELOW_BASELINE, parse_threshold


@pytest.mark.parametrize(("text", "seconds"), [
    ("100ms", 0.1), ("2s", 2), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("30d", 2592000),
    ("1w", 604800),
])
def test_durations(text, seconds):
    assert units.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "m5", "-1s", "1.5.2h"])
def test_bad_durations(text):
    with pytest.raises(units.UnitError, match="expected a duration"):
        units.parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [
    (0.1, "100ms"), (300, "5m"), (5400, "1h30m"), (604800, "1w"), (777600, "9d"), (2592000, "30d"),
])
def test_format_duration_round_trips(seconds, text):
    assert units.format_duration(seconds) == text
    assert units.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("raw", "unit", "direction", "kind", "value", "window"), [
    ("80%", "ratio", ">", ABOVE, 0.8, None),
    ("99.9%", "ratio", ">", ABOVE, 0.999, None),
    ("100ms", "seconds", ">", ABOVE, 0.1, None),
    ("> 1h", "seconds", ">", ABOVE, 3600, None),
    ("500/s", "per_second", ">", ABOVE, 500, None),
    ("30/m", "per_second", ">", ABOVE, 0.5, None),
    ("5/h", "events", ">", ABOVE, 5, 3600),
    ("any", "events", ">", ANY, 0, 900),
    ("1000", "count", ">", ABOVE, 1000, None),
    ("< 4.0/5.0", "score", ">", BELOW, 4.0, None),
    ("4.0", "score", "<", BELOW, 4.0, None),
    ("20% below average", "currency", "<", BELOW_BASELINE, 0.2, None),
    ("15% below its average", "ratio", "<", BELOW_BASELINE, 0.15, None),
])
def test_thresholds(raw, unit, direction, kind, value, window):
    threshold = parse_threshold(raw, unit, direction, "warning")
    assert (threshold.kind, threshold.window) == (kind, window)
    assert threshold.value == pytest.approx(value)


@pytest.mark.parametrize(("raw", "unit", "message"), [
    ("100ms", "ratio", "expected a ratio threshold such as \"80%\", got '100ms'"),
    ("80%", "seconds", "expected a seconds threshold such as \"500ms\", \"2s\" or \"1h\", got '80%'"),
    ("5", "events", "expected a events threshold such as \"5/h\" or \"any\", got '5'"),
    ("150%", "ratio", "expected a percentage between 0% and 100%, got '150%'"),
    ("any", "count", "expected a count threshold such as \"1000\", got 'any'"),
])
def test_threshold_unit_errors(raw, unit, message):
    with pytest.raises(units.UnitError) as err:
        parse_threshold(raw, unit, ">", "warning")
    assert str(err.value) == message
