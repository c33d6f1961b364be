"""One consultation as the counsellor reads it: messages in order, each incoming one with its triage and the
evidence marked, each outgoing one with its delivery state, and the private notes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from counsellor_console.highlight import highlight
from models import (
    Consultation,
    ConsultationNote,
    Delivery,
    Message,
    MessageAuthor,
    MessageTriage,
    Referral,
    Sender,
    TriageCorrection,
    User,
)


@dataclass(frozen=True)
class ThreadItem:
    message: Message
    html: Markup | None  # the words, escaped, evidence marked; None when withdrawn or not text
    triage: MessageTriage | None
    rules: list[dict[str, Any]]  # crisis rules that fired, with their notes
    terms: list[dict[str, Any]]  # model terms behind the topics and level
    delivery_state: str | None
    author_name: str | None
    corrected: TriageCorrection | None


@dataclass(frozen=True)
class Thread:
    items: list[ThreadItem]
    notes: list[tuple[ConsultationNote, str]]
    referrals: list[Referral]
    assigned_to: User | None
    sender_gone: bool


def load_thread(session: Session, consultation: Consultation) -> Thread:
    rows = session.execute(
        select(Message, MessageTriage, Delivery.state, User.display_name)
        .outerjoin(MessageTriage, MessageTriage.message_id == Message.id)
        .outerjoin(Delivery, Delivery.id == Message.delivery_id)
        .outerjoin(User, User.id == Message.author_user_id)
        .where(Message.consultation_id == consultation.id)
        .order_by(Message.sent_at, Message.id)
    ).all()
    corrections = {
        c.message_id: c
        for c in session.scalars(
            select(TriageCorrection)
            .join(Message, Message.id == TriageCorrection.message_id)
            .where(Message.consultation_id == consultation.id)
            .order_by(TriageCorrection.id)
        )
    }
    items = []
    for message, triage, delivery_state, author_name in rows:
        evidence = triage.evidence if triage else []
        rules = [e for e in evidence if e.get("kind") == "rule"]
        terms = [e for e in evidence if e.get("kind") == "term"]
        html = None
        if message.text is not None:
            marked = [str(e["matched"]) for e in evidence if e.get("matched")]
            html = (
                highlight(message.text, marked)
                if message.author == MessageAuthor.sender
                else highlight(message.text, [])
            )
        items.append(
            ThreadItem(
                message=message,
                html=html,
                triage=triage,
                rules=rules,
                terms=terms,
                delivery_state=str(delivery_state) if delivery_state else None,
                author_name=author_name,
                corrected=corrections.get(message.id),
            )
        )
    notes = [
        (note, name)
        for note, name in session.execute(
            select(ConsultationNote, User.display_name)
            .join(User, User.id == ConsultationNote.author_id)
            .where(ConsultationNote.consultation_id == consultation.id)
            .order_by(ConsultationNote.created_at, ConsultationNote.id)
        )
    ]
    referrals = list(
        session.scalars(
            select(Referral).where(Referral.consultation_id == consultation.id).order_by(Referral.id)
        )
    )
    sender = session.get(Sender, consultation.sender_id)
    return Thread(
        items=items,
        notes=notes,
        referrals=referrals,
        assigned_to=session.get(User, consultation.assigned_to_id) if consultation.assigned_to_id else None,
        sender_gone=sender is not None and sender.status == "gone",
    )
