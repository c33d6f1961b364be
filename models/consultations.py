from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow
from models.senders import SchoolLevel
from models.triage import RiskLevel


class ConsultationState(StrEnum):
    open = "open"
    closed = "closed"


class MessageKind(StrEnum):
    text = "text"
    sticker = "sticker"
    image = "image"
    video = "video"
    audio = "audio"
    file = "file"
    location = "location"
    other = "other"


class MessageAuthor(StrEnum):
    sender = "sender"  # the pupil or resident
    bot = "bot"  # Koe's automatic messages
    counsellor = "counsellor"


class Consultation(Base):
    """One worry, made of several messages from one sender on one desk."""

    __tablename__ = "consultations"
    __table_args__ = (Index("ix_consultations_sender_state", "sender_id", "state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    desk: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="line")
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id"))
    school_level: Mapped[SchoolLevel | None] = mapped_column(str_enum(SchoolLevel))
    state: Mapped[ConsultationState] = mapped_column(
        str_enum(ConsultationState), default=ConsultationState.open
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    after_hours_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urgent_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest risk of its messages, unless a counsellor set it; a later message that is riskier raises
    # it again at once. Topics: the consultation's topics, most frequent first.
    risk: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel), index=True)
    risk_source: Mapped[str | None] = mapped_column(String(16))
    risk_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    topics: Mapped[list[str] | None] = mapped_column(JSON)
    # Casework (the console): who has it, the first counsellor reply, and how it ended.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))


class Message(Base):
    """A message in or out. Incoming text is what counsellors read; outgoing rows point at their delivery."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_consultation_sent_at", "consultation_id", "sent_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("senders.id"), index=True)
    author: Mapped[MessageAuthor] = mapped_column(str_enum(MessageAuthor))
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind))
    text: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(String(32))
    line_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    inbox_event_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_events.id"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # a counsellor's reply
