"""On-duty paging: rosters of shifts, pages for risky consultations, and each notice a page sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow
from models.triage import RiskLevel


class Shift(Base):
    """Who is on duty for a desk from `starts_at` to `ends_at`: paged first (primary), then the backup, then
    the supervisor on call. Out-of-hours on-call is a shift like any other (`on_call`)."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_desk_starts_at", "desk", "starts_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    desk: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    primary_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    backup_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervisor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PageState(StrEnum):
    open = "open"  # nobody has answered it yet: it escalates
    acknowledged = "acknowledged"


class Page(Base):
    """A call for a person, made when a consultation becomes urgent (or high, if configured). It escalates
    step by step until someone acknowledges it; `step` is the last step sent, so a duplicate or stale timer
    for a step already done finds nothing to do."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    risk_event_id: Mapped[int] = mapped_column(ForeignKey("risk_events.id"), unique=True)
    desk: Mapped[str] = mapped_column(String(16))
    risk: Mapped[RiskLevel] = mapped_column(str_enum(RiskLevel))
    state: Mapped[PageState] = mapped_column(str_enum(PageState), default=PageState.open, index=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    # Further risky messages of the same consultation while this page was still running.
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # console (the banner's button), link (the signed link of a notice), claim, reply or close
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Answered, then nobody replied to the sender in time: the page ran again (see paging.reopen_unanswered).
    reopens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NoticeChannel(StrEnum):
    console = "console"  # the banner, sound and browser notification in the console
    email = "email"
    chat = "chat"  # the person's chat webhooks (Teams, Slack, …), sent with Apprise


class NoticeState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"  # the page was acknowledged before this notice went out


class PageNotice(Base):
    """One person told of one page at one step by one channel. Unique, so a step run twice tells no one
    twice."""

    __tablename__ = "page_notices"
    __table_args__ = (UniqueConstraint("page_id", "step", "user_id", "channel"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # primary, backup, supervisor, fallback
    channel: Mapped[NoticeChannel] = mapped_column(str_enum(NoticeChannel))
    state: Mapped[NoticeState] = mapped_column(str_enum(NoticeState), default=NoticeState.pending, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the banner was on the person's screen
    error: Mapped[str | None] = mapped_column(String(64))  # the kind of failure, never a message
