from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, utcnow


class AuditEntry(Base):
    """Who did what in the console: every view of a consultation, every reply, every change.

    `detail` holds IDs, codes and levels, never the words of a message or a note."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_consultation_at", "consultation_id", "at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(48))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
