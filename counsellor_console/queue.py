"""The queue: open consultations, the most dangerous first, then the longest waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import RISK_ORDER, Consultation, ConsultationState, Message, MessageAuthor, RiskLevel, User


@dataclass(frozen=True)
class QueueRow:
    id: int
    desk: str
    channel: str
    risk: RiskLevel | None
    topics: list[str]
    school_level: str | None
    message_count: int
    opened_at: datetime
    last_message_at: datetime
    waiting_since: datetime | None  # the first message no counsellor has answered yet
    assigned_to: str | None
    assigned_to_id: int | None

    @property
    def risk_rank(self) -> int:
        return RISK_ORDER[self.risk] if self.risk else 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def open_queue(session: Session, *, desk: str | None = None) -> list[QueueRow]:
    reply = aliased(Message)
    waiting = aliased(Message)
    last_reply = (
        select(func.max(reply.sent_at))
        .where(reply.consultation_id == Consultation.id, reply.author == MessageAuthor.counsellor)
        .correlate(Consultation)
        .scalar_subquery()
    )
    waiting_since = (
        select(func.min(waiting.sent_at))
        .where(
            waiting.consultation_id == Consultation.id,
            waiting.author == MessageAuthor.sender,
            waiting.sent_at > func.coalesce(last_reply, _EPOCH),
        )
        .correlate(Consultation)
        .scalar_subquery()
    )
    query = (
        select(Consultation, waiting_since.label("waiting_since"), User.display_name)
        .outerjoin(User, User.id == Consultation.assigned_to_id)
        .where(Consultation.state == ConsultationState.open, Consultation.merged_into_id.is_(None))
    )
    if desk:
        query = query.where(Consultation.desk == desk)
    rows = [
        QueueRow(
            id=c.id,
            desk=c.desk,
            channel=c.channel,
            risk=c.risk,
            topics=list(c.topics or []),
            school_level=c.school_level,
            message_count=c.message_count,
            opened_at=c.opened_at,
            last_message_at=c.last_message_at,
            waiting_since=since,
            assigned_to=name,
            assigned_to_id=c.assigned_to_id,
        )
        for c, since, name in session.execute(query)
    ]
    return sort_queue(rows)


def sort_queue(rows: list[QueueRow]) -> list[QueueRow]:
    """Urgent, high, medium, low; within a level, waiting longest first, then those already answered."""
    far_future = datetime.max.replace(tzinfo=None)

    def key(row: QueueRow) -> tuple[int, int, datetime]:
        waiting = row.waiting_since
        return (
            -row.risk_rank,
            0 if waiting else 1,
            waiting.replace(tzinfo=None) if waiting else far_future,
        )

    return sorted(rows, key=key)
