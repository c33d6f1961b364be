from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow


class SchoolLevel(StrEnum):
    elementary = "elementary"
    junior_high = "junior_high"
    high = "high"
    other = "other"
    undisclosed = "undisclosed"


class SenderStatus(StrEnum):
    active = "active"
    gone = "gone"  # unfollowed (blocked) the account


class Sender(Base):
    """A person writing to one desk, known only by a pseudonym.

    `pseudonym` is a keyed HMAC of desk and LINE user ID; the user ID itself is kept only encrypted, so that
    replies can be pushed, and is never shown, logged or used as a key.
    """

    __tablename__ = "senders"
    __table_args__ = (UniqueConstraint("desk", "pseudonym"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    desk: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="line")
    pseudonym: Mapped[str] = mapped_column(String(64))
    line_user_id_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    school_level: Mapped[SchoolLevel | None] = mapped_column(str_enum(SchoolLevel))
    status: Mapped[SenderStatus] = mapped_column(str_enum(SenderStatus), default=SenderStatus.active)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unfollowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_media_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sticker_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
