"""Triage of incoming messages, kept with the message; a consultation's risk is the highest of its messages
(unless a counsellor changed it), and any rise is recorded as an event that paging and live views act on."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import RISK_ORDER, Consultation, Message, MessageTriage, RiskEvent, RiskLevel
from triage import TriageResult


def redact_evidence(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence without the words themselves (for a withdrawn or purged message): rule names, notes and
    weights stay, so the reason for a risk level survives; the text does not. A model term's label is a
    word of the message, so terms keep only what they supported and their weight."""
    redacted = []
    for e in evidence:
        kept = {**e, "matched": None, "span": None}
        if e.get("kind") == "term":
            kept["label"] = None
        redacted.append(kept)
    return redacted


def record_triage(
    session: Session, *, message: Message, result: TriageResult, now: datetime, withdrawn: bool = False
) -> MessageTriage:
    evidence = result.to_json()["evidence"]
    row = MessageTriage(
        message_id=message.id,
        model_version=result.model_version,
        topics=list(result.topics),
        risk=RiskLevel(str(result.risk)),
        model_risk=RiskLevel(str(result.model_risk or result.risk)),
        topic_scores=result.topic_scores,
        risk_scores=result.risk_scores,
        evidence=redact_evidence(evidence) if withdrawn else evidence,
        created_at=now,
    )
    session.add(row)
    return row


def raise_risk(
    session: Session,
    *,
    consultation: Consultation,
    risk: RiskLevel,
    message_id: int | None,
    now: datetime,
    source: str = "triage",
) -> RiskEvent | None:
    """Raise the consultation to `risk` if that is higher than what it has (a counsellor's level included).

    An event is written when the level rises to medium or above, and for every urgent message even when
    the consultation is urgent already: paging must hear of each one."""
    current = consultation.risk
    rises = current is None or RISK_ORDER[risk] > RISK_ORDER[current]
    if rises:
        consultation.risk, consultation.risk_source, consultation.risk_updated_at = risk, source, now
    if not ((rises and risk != RiskLevel.low) or risk == RiskLevel.urgent):
        return None
    event = RiskEvent(
        consultation_id=consultation.id,
        message_id=message_id,
        risk=risk,
        previous_risk=current,
        source=source,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def refresh_topics(session: Session, consultation: Consultation) -> None:
    """The consultation's topics: those of its messages, most frequent first (ties: first seen)."""
    rows = session.scalars(
        select(MessageTriage.topics)
        .join(Message, Message.id == MessageTriage.message_id)
        .where(Message.consultation_id == consultation.id)
        .order_by(Message.sent_at, Message.id)
    ).all()
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for position, topics in enumerate(rows):
        for t in topics:
            counts[t] += 1
            first.setdefault(t, position)
    ranked = sorted(counts, key=lambda t: (-counts[t], first[t]))
    if len(ranked) > 1 and "other" in ranked:
        ranked.remove("other")
    consultation.topics = ranked[:5]
