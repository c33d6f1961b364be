"""定型文: reply texts kept by supervisors. A counsellor inserts one and edits it before sending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from counsellor_console import audit
from counsellor_console.casework import CaseworkError
from models import CannedResponse, User

MAX_TITLE = 80
MAX_BODY = 5000  # what one LINE text message can carry


def active_for(session: Session, desk: str) -> Sequence[CannedResponse]:
    return session.scalars(
        select(CannedResponse)
        .where(
            CannedResponse.active.is_(True), or_(CannedResponse.desk.is_(None), CannedResponse.desk == desk)
        )
        .order_by(CannedResponse.title)
    ).all()


def all_responses(session: Session) -> Sequence[CannedResponse]:
    return session.scalars(
        select(CannedResponse).order_by(CannedResponse.active.desc(), CannedResponse.title)
    ).all()


def save(
    session: Session,
    *,
    user: User,
    now: datetime,
    title: str,
    body: str,
    desk: str | None,
    active: bool = True,
    response_id: int | None = None,
) -> CannedResponse:
    title, body = title.strip(), body.strip()
    if not title or len(title) > MAX_TITLE:
        raise CaseworkError(f"題名を{MAX_TITLE}文字以内で入力してください。")
    if not body or len(body) > MAX_BODY:
        raise CaseworkError(f"本文を{MAX_BODY}文字以内で入力してください。")
    if desk not in (None, "youth", "resident"):
        raise CaseworkError("窓口を選び直してください。")
    if response_id is None:
        row = CannedResponse(
            title=title, body=body, desk=desk, active=active, updated_by=user.id, updated_at=now
        )
        session.add(row)
    else:
        found = session.get(CannedResponse, response_id)
        if found is None:
            raise CaseworkError("定型文が見つかりません。")
        row = found
        row.title, row.body, row.desk, row.active = title, body, desk, active
        row.updated_by, row.updated_at = user.id, now
    session.flush()
    audit.record(session, user=user, action="save_canned", now=now, canned_id=row.id, active=active)
    return row
