"""Times as counsellors read them: Asia/Tokyo, and waiting times in plain words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(value: datetime | None, fmt: str = "%m/%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(TOKYO).strftime(fmt)


def waited(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return "返信済み"
    seconds = int(((now or datetime.now(UTC)) - since).total_seconds())
    if seconds < 60:
        return "1分未満"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}分"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}時間{minutes}分"
    return f"{hours // 24}日{hours % 24}時間"


def seconds_between(start: datetime, end: datetime | None) -> str:
    """A short span, such as the time to acknowledge a page: 42秒, 3分5秒."""
    if end is None:
        return "—"
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds}秒"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}分{seconds}秒"
    return waited(start, end)
