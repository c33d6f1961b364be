"""Senders: found by pseudonym, created on first contact, their LINE user ID kept only encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.identity import SenderCrypto
from models import Sender, SenderStatus


def get_or_create_sender(
    session: Session, *, desk: str, line_user_id: str, crypto: SenderCrypto, now: datetime
) -> tuple[Sender, bool]:
    """The sender row locked for this transaction (so one sender's events are handled one at a time)."""
    pseudonym = crypto.pseudonym(desk, line_user_id)
    query = select(Sender).where(Sender.desk == desk, Sender.pseudonym == pseudonym).with_for_update()
    sender = session.scalars(query).one_or_none()
    if sender is not None:
        return sender, False
    sender = Sender(
        desk=desk,
        channel="line",
        pseudonym=pseudonym,
        line_user_id_encrypted=crypto.encrypt(line_user_id.encode()),
        status=SenderStatus.active,
        first_seen_at=now,
    )
    # A savepoint: a concurrent first contact from the same person may win the unique key.
    try:
        with session.begin_nested():
            session.add(sender)
    except IntegrityError:  # re-read the row the other transaction made
        existing = session.scalars(query).one()
        return existing, False
    return sender, True
