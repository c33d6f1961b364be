"""Threading messages into consultations: one consultation is one worry, made of several messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Consultation, ConsultationState, Sender


def consultation_for(
    session: Session, *, sender: Sender, at: datetime, quiet_gap: timedelta
) -> tuple[Consultation, bool]:
    """The sender's open consultation, or a new one when none is open or the last went quiet too long.

    The caller holds the sender's row lock, so two messages of one sender never open two consultations.
    """
    current = session.scalars(
        select(Consultation)
        .where(Consultation.sender_id == sender.id, Consultation.state == ConsultationState.open)
        .order_by(Consultation.id.desc())
        .limit(1)
    ).one_or_none()
    if current is not None and at - current.last_message_at <= quiet_gap:
        return current, False
    if current is not None:
        current.state = ConsultationState.closed
        current.closed_at = at
        current.close_reason = "quiet"
    consultation = Consultation(
        desk=sender.desk,
        channel=sender.channel,
        sender_id=sender.id,
        school_level=sender.school_level,
        state=ConsultationState.open,
        opened_at=at,
        last_message_at=at,
        message_count=0,
    )
    session.add(consultation)
    session.flush()
    return consultation, True


def add_to_consultation(consultation: Consultation, sender: Sender, at: datetime) -> None:
    consultation.message_count += 1
    consultation.last_message_at = max(consultation.last_message_at, at)
    sender.last_message_at = max(sender.last_message_at or at, at)
