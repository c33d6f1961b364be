"""Opening hours in Asia/Tokyo, closed on Japanese public holidays."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.hours import HoursSpecError, OpeningHours, child_time, describe_moment

TOKYO = ZoneInfo("Asia/Tokyo")
YOUTH = OpeningHours("mon-fri 17:00-22:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-11-24 16:59", False),  # Tuesday, a minute early
        ("2026-11-24 17:00", True),
        ("2026-11-24 21:59", True),
        ("2026-11-24 22:00", False),  # closing time is exclusive
        ("2026-11-28 18:00", False),  # Saturday
        ("2026-11-23 18:00", False),  # Monday, 勤労感謝の日
        ("2027-01-11 18:00", False),  # 成人の日 (second Monday of January)
        ("2026-09-22 18:00", False),  # 国民の休日 between 敬老の日 and 秋分の日
    ],
)
def test_youth_default_hours(moment: str, open_: bool) -> None:
    assert YOUTH.is_open(at(moment)) is open_


def test_hours_are_judged_in_tokyo_whatever_the_clock_zone() -> None:
    # 08:30 UTC on a Tuesday is 17:30 in Tokyo.
    assert YOUTH.is_open(datetime.fromisoformat("2026-11-24T08:30:00+00:00"))


def test_next_opening_skips_weekends_and_holidays() -> None:
    # Friday night before a weekend, the Monday being a holiday: next is Tuesday 17:00.
    assert YOUTH.next_opening(at("2026-11-20 23:00")) == at("2026-11-24 17:00")
    assert describe_moment(at("2026-11-24 17:00")) == "11月24日（火）17:00"
    assert describe_moment(at("2026-11-24 17:00"), for_child=True) == "11月24日（火）の 夕方5時"


@pytest.mark.parametrize(
    ("minutes", "said"),
    [
        (0, "夜中0時"),
        (7 * 60, "朝7時"),
        (12 * 60, "昼12時"),
        (17 * 60, "夕方5時"),
        (21 * 60 + 30, "夜9時半"),
        (1440, "夜12時"),
    ],
)
def test_times_as_a_child_says_them(minutes: int, said: str) -> None:
    assert child_time(minutes) == said
    assert YOUTH.describe(for_child=True) == "月〜金の 夕方5時〜夜10時（祝日はお休み）"


def test_several_windows_and_description() -> None:
    hours = OpeningHours("mon-fri 17:00-22:00; sat 10:00-16:00")
    assert hours.is_open(at("2026-11-28 10:30"))
    assert hours.describe() == "月〜金 17:00〜22:00、土 10:00〜16:00（祝日はお休み）"
    assert OpeningHours("mon,wed 09:00-24:00").is_open(at("2026-11-25 23:59"))


def test_always_is_always_open_even_on_holidays() -> None:
    always = OpeningHours("always")
    assert always.is_open(at("2026-11-23 03:00")) and always.next_opening(at("2026-11-23 03:00")) is None


@pytest.mark.parametrize(
    "spec",
    ["", "weekdays 17:00-22:00", "mon-fri 22:00-17:00", "fri-mon 10:00-12:00", "mon 25:00-26:00", "mon 9-17"],
)
def test_bad_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(HoursSpecError):
        OpeningHours(spec)
