from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow


class InboxState(StrEnum):
    pending = "pending"  # stored, not yet handled
    done = "done"  # handled by a worker
    skipped = "skipped"  # recorded only (standby mode, group chats, unknown types)
    failed = "failed"  # gave up after too many attempts; needs a person


class InboxEvent(Base):
    """One LINE webhook event, stored before anything else happens to it.

    The unique `webhook_event_id` is what makes a redelivered or duplicated event harmless. The payload holds
    the LINE user ID and message text, so it is kept encrypted and dropped once the event is handled.
    """

    __tablename__ = "inbox_events"
    __table_args__ = (Index("ix_inbox_events_state_received_at", "state", "received_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    desk: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[InboxState] = mapped_column(str_enum(InboxState), default=InboxState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(64))
