"""Maintenance windows rewritten in UTC, for an AlertmanagerConfig.

Alertmanager's own `time_intervals` take a `location`, but the prometheus-operator's
AlertmanagerConfig (v1alpha1, operator 0.93) has no such field: its intervals are
UTC. A zone with one fixed offset all year (Asia/Bangkok, UTC+7; no daylight saving)
can still be said exactly: each window moves by the offset, and the part that crosses
midnight moves to the neighbouring day, with its weekdays and days of the month
moved with it (the first Sunday's 00:00-06:00 in UTC+7 is, in UTC, 17:00-23:00 on
the Saturday before it: a Saturday on days 1-6, or on the last day of a month). A
zone whose offset changes (daylight saving) cannot: `fixed_offset` is None for it,
and the windows are left out (and said so).

Written by hand: no library converts Alertmanager time intervals between zones.
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
YEARS_CHECKED = range(2020, 2041)


def fixed_offset(timezone: str) -> int | None:
    """The zone's offset from UTC in minutes if it never changes, else None."""
    zone = zoneinfo.ZoneInfo(timezone)
    offsets = {datetime.datetime(year, month, 1, 12, tzinfo=zone).utcoffset()
               for year in YEARS_CHECKED for month in range(1, 13)}
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) // 60 if offset is not None else None


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days(ranges: list[str], shift: int) -> list[str]:
    """Day-of-month ranges one day earlier (shift -1) or later (+1).

    A range of positive days moving off the month's first day wraps to its last (-1);
    of negative days moving past the last, to the first (1): the day before the 1st is
    the previous month's last day, which is where the window then is.
    """
    result = []
    for text in ranges:
        start, end = (int(part) for part in text.split(":"))
        start, end = start + shift, end + shift
        if shift < 0 and start == 0:  # was 1..n: day 0 is the previous month's last day
            result.append("-1:-1")
            start = 1
        if shift > 0 and end == 0:  # was -n..-1: day 0 is the next month's first day
            result.append("1:1")
            end = -1
        if start <= end and (start > 0) == (end > 0):
            result.append(f"{start}:{end}")
    return result


def _moved(interval: dict[str, Any], shift: int, start: int, end: int) -> dict[str, Any]:
    moved = {key: value for key, value in interval.items() if key not in ("times", "location")}
    moved["times"] = [{"start_time": _clock(start), "end_time": _clock(end) if end < DAY else "24:00"}]
    if shift and "weekdays" in interval:
        moved["weekdays"] = [WEEKDAYS[(WEEKDAYS.index(d) + shift) % 7] for d in interval["weekdays"]]
    if shift and "days_of_month" in interval:
        moved["days_of_month"] = _days(interval["days_of_month"], shift)
    return moved


def utc_intervals(intervals: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
    """One plain `time_intervals` list (local times, each of one `times` range) in UTC."""
    result = []
    for interval in intervals:
        for times in interval.get("times") or [{"start_time": "00:00", "end_time": "24:00"}]:
            start = _minutes(times["start_time"]) - offset
            end = _minutes(times["end_time"]) - offset
            for shift in (-1, 0, 1):
                low, high = max(start - shift * DAY, 0), min(end - shift * DAY, DAY)
                if low < high:
                    result.append(_moved(interval, shift, low, high))
    return result
