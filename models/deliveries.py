from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow


class DeliveryState(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # LINE refused it for good (4xx other than a spent reply token), or too many attempts


class Delivery(Base):
    """One call to LINE carrying up to five messages to one sender, by reply or by push.

    The row is written in the same transaction as whatever caused it; a job sends it afterwards. `retry_key`
    goes with every push so that LINE answers 409 rather than delivering twice.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("inbox_event_id", "purpose"),
        Index("ix_deliveries_state_created_at", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    desk: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id"))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    inbox_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_events.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    messages_json: Mapped[str] = mapped_column(Text)
    reply_token: Mapped[str | None] = mapped_column(String(64))
    reply_token_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while a reply's outcome is unknown (sent, no answer yet); cleared by a definite answer.
    reply_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_key: Mapped[str] = mapped_column(String(36))
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState), default=DeliveryState.pending)
    method: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
