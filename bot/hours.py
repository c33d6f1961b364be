"""Opening hours per desk, in Asia/Tokyo, closed on Japanese public holidays unless `always`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TOKYO = ZoneInfo("Asia/Tokyo")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = ("月", "火", "水", "木", "金", "土", "日")
_RULE = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


class HoursSpecError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end_minutes: int  # minutes after midnight; 1440 allows "24:00"


@lru_cache(maxsize=8)
def _japan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("JP", years=year, language="ja")


def is_japanese_holiday(day: date) -> bool:
    return day in _japan_holidays(day.year)


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            a, b = _day_index(first), _day_index(last)
            if b < a:
                raise HoursSpecError(f"day range {part!r} runs backwards; write it like mon-fri")
            days.update(range(a, b + 1))
        else:
            days.add(_day_index(part))
    return frozenset(days)


def _day_index(name: str) -> int:
    try:
        return DAY_NAMES.index(name.strip())
    except ValueError:
        raise HoursSpecError(f"unknown day {name!r}; use {', '.join(DAY_NAMES)}") from None


def _minutes(text: str) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise HoursSpecError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


class OpeningHours:
    """Parsed from e.g. `mon-fri 17:00-22:00; sat 10:00-16:00`, or `always`."""

    def __init__(self, spec: str) -> None:
        self.spec = spec.strip()
        self.always = self.spec.lower() == "always"
        self.windows: tuple[Window, ...] = () if self.always else self._parse(self.spec)

    @staticmethod
    def _parse(spec: str) -> tuple[Window, ...]:
        windows = []
        for rule in filter(None, (r.strip().lower() for r in spec.split(";"))):
            m = _RULE.match(rule)
            if not m:
                raise HoursSpecError(
                    f"cannot read opening hours {rule!r}: write like 'mon-fri 17:00-22:00; sat 10:00-16:00'"
                    " or 'always'"
                )
            start, end = _minutes(m["start"]), _minutes(m["end"])
            if end <= start:
                raise HoursSpecError(f"{rule!r}: the closing time must come after the opening time")
            windows.append(Window(_parse_days(m["days"]), time(start // 60, start % 60), end))
        if not windows:
            raise HoursSpecError("opening hours are empty: give at least one rule, or 'always'")
        return tuple(windows)

    def is_open(self, at: datetime) -> bool:
        if self.always:
            return True
        local = at.astimezone(TOKYO)
        if is_japanese_holiday(local.date()):
            return False
        minute = local.hour * 60 + local.minute
        return any(
            local.weekday() in w.days and _minutes_of(w.start) <= minute < w.end_minutes for w in self.windows
        )

    def next_opening(self, at: datetime) -> datetime | None:
        """When counsellors are next in, in Asia/Tokyo; None when always open or nothing within 30 days."""
        if self.always:
            return None
        local = at.astimezone(TOKYO)
        for offset in range(31):
            day = local.date() + timedelta(days=offset)
            if is_japanese_holiday(day):
                continue
            starts = sorted(
                datetime.combine(day, w.start, tzinfo=TOKYO) for w in self.windows if day.weekday() in w.days
            )
            for start in starts:
                if start > local:
                    return start
        return None

    def describe(self, *, for_child: bool = False) -> str:
        """Japanese, e.g. `月〜金 17:00〜22:00（祝日はお休み）`.

        For a child: `月〜金の 夕方5時〜夜10時（祝日はお休み）`.
        """
        if self.always:
            return "毎日24時間"
        if for_child:
            parts = [
                f"{_describe_days(w.days)}の {child_time(_minutes_of(w.start))}〜{child_time(w.end_minutes)}"
                for w in self.windows
            ]
        else:
            parts = [
                f"{_describe_days(w.days)} {w.start:%H:%M}〜{_hhmm(w.end_minutes)}" for w in self.windows
            ]
        return "、".join(parts) + "（祝日はお休み）"


def _minutes_of(t: time) -> int:
    return t.hour * 60 + t.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_LABELS[ordered[0]]}〜{DAY_LABELS[ordered[-1]]}"
    return "・".join(DAY_LABELS[d] for d in ordered)


def child_time(minutes: int) -> str:
    """A time of day as a child says it: 17:00 → 夕方5時, 21:30 → 夜9時半, 24:00 → 夜12時."""
    hour, minute = divmod(minutes, 60)
    if hour < 5 or hour == 24:
        period, shown = ("夜中" if hour < 5 else "夜"), (hour if hour < 5 else 12)
    elif hour < 10:
        period, shown = "朝", hour
    elif hour < 12:
        period, shown = "午前", hour
    elif hour == 12:
        period, shown = "昼", 12
    elif hour < 16:
        period, shown = "午後", hour - 12
    elif hour < 19:
        period, shown = "夕方", hour - 12
    else:
        period, shown = "夜", hour - 12
    rest = "" if minute == 0 else ("半" if minute == 30 else f"{minute}分")
    return f"{period}{shown}時{rest}"


def describe_moment(at: datetime, *, for_child: bool = False) -> str:
    """Japanese date and time, e.g. `11月24日（火）17:00`, or for a child `11月24日（火）の 夕方5時`."""
    local = at.astimezone(TOKYO)
    day = f"{local.month}月{local.day}日（{DAY_LABELS[local.weekday()]}）"
    if for_child:
        return f"{day}の {child_time(local.hour * 60 + local.minute)}"
    return f"{day}{local:%H:%M}"
