"""Services from the referral directory that the bot's out-of-hours answer can point to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import SupportResource


def reachable_now(session: Session, *, desk: str, topics: Sequence[str], limit: int = 2) -> list[str]:
    """Lines for the answer: active services of this desk that are open around the clock or can be
    written to (LINE or chat), for the message's topics. The fixed 24-hour hotlines are sent anyway."""
    if not topics:
        return []
    rows = session.scalars(
        select(SupportResource)
        .where(
            SupportResource.active.is_(True),
            or_(SupportResource.desk.is_(None), SupportResource.desk == desk),
            or_(
                SupportResource.always_open.is_(True),
                SupportResource.line_available.is_(True),
                SupportResource.chat_available.is_(True),
            ),
        )
        .order_by(SupportResource.name)
    ).all()
    wanted = set(topics)
    matching = sorted(
        (r for r in rows if wanted & set(r.topics or [])),
        key=lambda r: (-len(wanted & set(r.topics or [])), not r.always_open, r.name),
    )
    lines = []
    for r in matching[:limit]:
        how = r.phone or r.url or ""
        when = f"（{r.hours}）" if r.hours else ""
        lines.append(f"・{r.name} {how}{when}".rstrip())
    return lines
