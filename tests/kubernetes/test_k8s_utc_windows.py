"""Maintenance windows moved into UTC mute exactly the moments the local ones do.

Alertmanager's time-interval semantics (weekday, day of the month counted from the end
when negative, `start_time <= time < end_time`) are evaluated here on both forms, for
every half hour (the offsets are whole hours) over two years, so month
ends, a leap day and every weekday on a month's last day occur.
"""

from __future__ import annotations

import calendar
import datetime
import zoneinfo
from typing import Any

import pytest

from generator import alertmanager
from generator.kubernetes import utc_windows
from generator.loader import load_spec
from tests.kubernetes.conftest import ROOT

START = datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
MOMENTS = [START + datetime.timedelta(minutes=30 * step) for step in range(2 * 366 * 48)]


def _matches(interval: dict[str, Any], moment: datetime.datetime) -> bool:
    minute = moment.hour * 60 + moment.minute
    if "times" in interval and not any(
            _clock(t["start_time"]) <= minute < _clock(t["end_time"]) for t in interval["times"]):
        return False
    if "weekdays" in interval and \
            utc_windows.WEEKDAYS[moment.weekday()] not in interval["weekdays"]:
        return False
    if "days_of_month" in interval:
        length = calendar.monthrange(moment.year, moment.month)[1]
        days = []
        for text in interval["days_of_month"]:
            start, end = (int(p) for p in text.split(":"))
            start, end = (d if d > 0 else length + 1 + d for d in (start, end))
            days += range(start, end + 1)
        if moment.day not in days:
            return False
    return True


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _windows() -> list[tuple[str, list[dict[str, Any]]]]:
    plain = alertmanager.config(load_spec(ROOT / "slo/spec.yaml"))
    return [(t["name"], t["time_intervals"]) for t in plain["time_intervals"]]


def test_the_default_windows_are_daily_weekly_and_monthly():
    assert {name for name, _ in _windows()} == {"maintenance-daily", "maintenance-weekly",
                                                "maintenance-monthly"}


@pytest.mark.parametrize("timezone", ["Asia/Bangkok", "America/Bogota"])  # east and west
def test_utc_windows_mute_the_same_moments(timezone):
    offset = utc_windows.fixed_offset(timezone)
    assert offset is not None
    zone = zoneinfo.ZoneInfo(timezone)
    for name, local in _windows():
        local = [{**i, "location": timezone} for i in local]
        utc = utc_windows.utc_intervals(local, offset)
        muted = 0
        for moment in MOMENTS:
            expected = any(_matches(i, moment.astimezone(zone)) for i in local)
            assert any(_matches(i, moment) for i in utc) == expected, (name, moment.isoformat())
            muted += expected
        assert muted, name


def test_a_zone_with_daylight_saving_has_no_fixed_offset():
    assert utc_windows.fixed_offset("Europe/Berlin") is None
    assert utc_windows.fixed_offset("Asia/Bangkok") == 7 * 60
