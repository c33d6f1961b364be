"""Services from the referral directory that the bot's out-of-hours answer can point to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import SupportResource


def best_matches(
    session: Session, *, desk: str, topics: Sequence[str], limit: int, reachable_now: bool = False
) -> list[SupportResource]:
    """Active services of this desk for these topics, those sharing more topics first, then those open
    around the clock. `reachable_now`: only those open around the clock or that can be written to."""
    if not topics:
        return []
    query = select(SupportResource).where(
        SupportResource.active.is_(True), or_(SupportResource.desk.is_(None), SupportResource.desk == desk)
    )
    if reachable_now:
        query = query.where(
            or_(
                SupportResource.always_open.is_(True),
                SupportResource.line_available.is_(True),
                SupportResource.chat_available.is_(True),
            )
        )
    wanted = set(topics)
    matching = sorted(
        (r for r in session.scalars(query) if wanted & set(r.topics or [])),
        key=lambda r: (-len(wanted & set(r.topics or [])), not r.always_open, r.name),
    )
    return matching[:limit]


def reachable_now(session: Session, *, desk: str, topics: Sequence[str], limit: int = 2) -> list[str]:
    """Lines for the bot's out-of-hours answer (the fixed 24-hour hotlines are sent anyway)."""
    lines = []
    for r in best_matches(session, desk=desk, topics=topics, limit=limit, reachable_now=True):
        how = r.phone or r.url or ""
        when = f"（{r.hours}）" if r.hours else ""
        lines.append(f"・{r.name} {how}{when}".rstrip())
    return lines
