from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, utcnow


class SupportResource(Base):
    """An entry of the referral directory: a service a counsellor can point a sender to."""

    __tablename__ = "support_resources"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    desk: Mapped[str | None] = mapped_column(String(16))  # None: both desks
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[str | None] = mapped_column(String(120))  # 24時間, 平日 9:00〜17:00 …
    always_open: Mapped[bool] = mapped_column(Boolean, default=False)
    ages: Mapped[str | None] = mapped_column(String(60))  # 18歳まで, 中高生 …
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    line_available: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_available: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
