from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow


class RiskLevel(StrEnum):
    """The ordinal levels of shared/taxonomy.md; compare with `RISK_ORDER`, not alphabetically."""

    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


RISK_ORDER = {RiskLevel.low: 0, RiskLevel.medium: 1, RiskLevel.high: 2, RiskLevel.urgent: 3}


class MessageTriage(Base):
    """Triage of one incoming message, with the model version and the evidence behind it."""

    __tablename__ = "message_triage"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    model_version: Mapped[str] = mapped_column(String(64))
    topics: Mapped[list[str]] = mapped_column(JSON)
    risk: Mapped[RiskLevel] = mapped_column(str_enum(RiskLevel))
    model_risk: Mapped[RiskLevel] = mapped_column(str_enum(RiskLevel))
    topic_scores: Mapped[dict[str, float]] = mapped_column(JSON)
    risk_scores: Mapped[dict[str, float]] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskEvent(Base):
    """A consultation's risk went up. Paging reads these; the web's live views hear of them by pub/sub."""

    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    risk: Mapped[RiskLevel] = mapped_column(str_enum(RiskLevel))
    previous_risk: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel))
    source: Mapped[str] = mapped_column(String(16))  # "triage" or "counsellor"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriageCorrection(Base):
    """A counsellor's topics and risk for a message: kept for retraining (`koe triage train`)."""

    __tablename__ = "triage_corrections"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    topics: Mapped[list[str]] = mapped_column(JSON)
    risk: Mapped[RiskLevel] = mapped_column(str_enum(RiskLevel))
    corrected_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
