"""What counsellors record about a consultation: notes, how it ended and where it was referred."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow


class Outcome(StrEnum):
    resolved = "resolved"  # the worry was heard and eased
    referred = "referred"  # passed on to another service
    no_reply = "no_reply"  # the sender stopped writing
    inappropriate = "inappropriate"  # mischief or abuse of the service
    other = "other"


class ReferralDestination(StrEnum):
    child_guidance = "child_guidance"  # 児童相談所
    police = "police"  # 警察
    school = "school"  # 学校
    sc_ssw = "sc_ssw"  # スクールカウンセラー・スクールソーシャルワーカー
    medical = "medical"  # 医療
    welfare = "welfare"  # 福祉窓口
    other = "other"


class NoteKind(StrEnum):
    note = "note"  # a counsellor's private note
    supervision = "supervision"  # a supervisor's note for the counsellor on the case


class ConsultationNote(Base):
    """A private note on a consultation: never sent to the sender, never in a report."""

    __tablename__ = "consultation_notes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NoteKind] = mapped_column(str_enum(NoteKind), default=NoteKind.note)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Referral(Base):
    """Where a consultation was passed on: counted in the weekly statistics by destination."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    destination: Mapped[ReferralDestination] = mapped_column(str_enum(ReferralDestination))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """定型文: a reply text kept by supervisors, inserted by counsellors and edited before sending."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    desk: Mapped[str | None] = mapped_column(String(16))  # None: both desks
    active: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
