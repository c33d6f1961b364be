"""The referral directory: services a counsellor can point a sender to, kept by supervisors and admins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.directory import best_matches
from counsellor_console import audit
from counsellor_console.casework import CaseworkError
from models import SupportResource, User
from triage.labels import TOPICS


@dataclass(frozen=True)
class ResourceForm:
    name: str
    desk: str | None
    topics: Sequence[str]
    phone: str
    url: str
    hours: str
    always_open: bool
    ages: str
    languages: str  # comma separated: 日本語, English, やさしい日本語 …
    line_available: bool
    chat_available: bool
    note: str
    active: bool = True


def listing(session: Session, *, topic: str | None = None, desk: str | None = None) -> list[SupportResource]:
    rows = session.scalars(
        select(SupportResource).order_by(SupportResource.active.desc(), SupportResource.name)
    ).all()
    return [
        r
        for r in rows
        if (topic is None or topic in (r.topics or [])) and (desk is None or r.desk in (None, desk))
    ]


def suggestions(
    session: Session, *, desk: str, topics: Sequence[str], limit: int = 5
) -> list[SupportResource]:
    """Active services for this desk, those matching more of the consultation's topics first."""
    return best_matches(session, desk=desk, topics=topics, limit=limit)


def as_reply_text(r: SupportResource) -> str:
    parts = [r.name]
    if r.phone:
        parts.append(f"電話 {r.phone}")
    if r.hours:
        parts.append(f"（{r.hours}）")
    if r.url:
        parts.append(r.url)
    return " ".join(parts)


def save(
    session: Session, *, user: User, now: datetime, form: ResourceForm, resource_id: int | None = None
) -> SupportResource:
    name = form.name.strip()
    if not name or len(name) > 120:
        raise CaseworkError("名前を120文字以内で入力してください。")
    if not form.phone.strip() and not form.url.strip():
        raise CaseworkError("電話番号かURLのどちらかを入れてください。")
    url = form.url.strip()
    if url and not url.startswith(("https://", "http://")):
        raise CaseworkError("URLは https:// から始めてください。")
    topics = [t for t in dict.fromkeys(form.topics) if t in TOPICS]
    if not topics:
        raise CaseworkError("対象のトピックを1つ以上選んでください。")
    row = session.get(SupportResource, resource_id) if resource_id is not None else SupportResource()
    if row is None:
        raise CaseworkError("つなぎ先が見つかりません。")
    row.name, row.desk, row.topics = name, form.desk or None, topics
    row.phone, row.url = form.phone.strip()[:40] or None, url[:300] or None
    row.hours, row.always_open = form.hours.strip()[:120] or None, form.always_open
    row.ages = form.ages.strip()[:60] or None
    row.languages = [x.strip() for x in form.languages.replace("、", ",").split(",") if x.strip()][:10]
    row.line_available, row.chat_available = form.line_available, form.chat_available
    row.note, row.active, row.updated_at = form.note.strip()[:2000] or None, form.active, now
    if resource_id is None:
        session.add(row)
    session.flush()
    audit.record(session, user=user, action="save_resource", now=now, resource_id=row.id, active=row.active)
    return row


def set_active(session: Session, *, user: User, now: datetime, resource_id: int, active: bool) -> bool:
    row = session.get(SupportResource, resource_id)
    if row is None:
        return False
    row.active, row.updated_at = active, now
    audit.record(session, user=user, action="save_resource", now=now, resource_id=row.id, active=active)
    return True
