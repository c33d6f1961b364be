"""What a counsellor does to a consultation. Each action checks who may do it, changes the rows, writes the
audit entry in the same transaction and says what to announce once the caller has committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbound import OutgoingText, create_delivery
from counsellor_console import audit
from counsellor_console.access import may_assign_others, may_open
from models import (
    RISK_ORDER,
    Consultation,
    ConsultationNote,
    ConsultationState,
    Message,
    MessageAuthor,
    NoteKind,
    Outcome,
    Referral,
    ReferralDestination,
    RiskEvent,
    RiskLevel,
    Role,
    Sender,
    SenderStatus,
    TriageCorrection,
    User,
)
from triage.labels import TOPICS

MAX_REPLY_CHARS = 5000  # LINE's limit for one text message
MAX_NOTE_CHARS = 10000


class CaseworkError(Exception):
    """The action cannot be done; the message (Japanese) tells the counsellor why and what to do."""


class NotAllowed(Exception):
    """This user may not do this to this consultation (the route answers 403/404)."""


@dataclass
class Done:
    """What changed: announced to live views after the commit, and deliveries to enqueue."""

    announce: list[dict[str, object]] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)


def lock_consultation(session: Session, consultation_id: int) -> Consultation | None:
    return session.scalars(
        select(Consultation).where(Consultation.id == consultation_id).with_for_update()
    ).one_or_none()


def _changed(consultation: Consultation, what: str) -> dict[str, object]:
    return {"type": "consultation_changed", "consultation_id": consultation.id, "what": what}


def _require_open(consultation: Consultation) -> None:
    if consultation.state != ConsultationState.open:
        raise CaseworkError("この相談はすでに終了しています。")


def claim(session: Session, *, user: User, consultation: Consultation, now: datetime) -> Done:
    if not may_open(user, consultation) or (user.role != Role.counsellor and not may_assign_others(user)):
        raise NotAllowed
    _require_open(consultation)
    if consultation.assigned_to_id not in (None, user.id):
        raise CaseworkError("この相談は別の相談員が担当しています。")
    consultation.assigned_to_id, consultation.assigned_at = user.id, now
    audit.record(session, user=user, action="claim", consultation_id=consultation.id, now=now)
    return Done(announce=[_changed(consultation, "assigned")])


def assign(
    session: Session, *, user: User, consultation: Consultation, to_user_id: int, now: datetime
) -> Done:
    """A supervisor assigns; the counsellor who has a case may transfer it to a colleague."""
    if not (may_assign_others(user) or consultation.assigned_to_id == user.id):
        raise NotAllowed
    _require_open(consultation)
    target = session.get(User, to_user_id)
    if target is None or not target.active or target.role not in (Role.counsellor, Role.supervisor):
        raise CaseworkError("担当にできる相談員を選んでください。")
    previous = consultation.assigned_to_id
    consultation.assigned_to_id, consultation.assigned_at = target.id, now
    audit.record(
        session,
        user=user,
        action="assign" if previous != user.id else "transfer",
        consultation_id=consultation.id,
        now=now,
        from_user_id=previous,
        to_user_id=target.id,
    )
    return Done(announce=[_changed(consultation, "assigned")])


def reply(session: Session, *, user: User, consultation: Consultation, text: str, now: datetime) -> Done:
    """Send a counsellor's words. Replying to a case nobody has taken takes it."""
    text = text.strip()
    if not text:
        raise CaseworkError("送る文章を入力してください。")
    if len(text) > MAX_REPLY_CHARS:
        raise CaseworkError(f"1回に送れるのは{MAX_REPLY_CHARS}文字までです。分けて送ってください。")
    if not may_open(user, consultation):
        raise NotAllowed
    _require_open(consultation)
    if consultation.assigned_to_id is None:
        consultation.assigned_to_id, consultation.assigned_at = user.id, now
    elif consultation.assigned_to_id != user.id:
        raise CaseworkError("この相談の担当者だけが返信できます。")
    sender = session.get(Sender, consultation.sender_id)
    assert sender is not None
    if sender.status == SenderStatus.gone:
        raise CaseworkError("相談者がアカウントをブロックしたため、返信は届きません。記録だけ残せます。")
    delivery = create_delivery(
        session,
        sender=sender,
        texts=[OutgoingText(text)],
        purpose="counsellor_reply",
        now=now,
        author=MessageAuthor.counsellor,
        consultation_id=consultation.id,
        author_user_id=user.id,
    )
    consultation.first_reply_at = consultation.first_reply_at or now
    audit.record(
        session, user=user, action="reply", consultation_id=consultation.id, now=now, delivery_id=delivery.id
    )
    return Done(announce=[_changed(consultation, "reply")], delivery_ids=[delivery.id])


def add_note(session: Session, *, user: User, consultation: Consultation, body: str, now: datetime) -> Done:
    body = body.strip()
    if not body:
        raise CaseworkError("メモを入力してください。")
    if len(body) > MAX_NOTE_CHARS:
        raise CaseworkError(f"メモは{MAX_NOTE_CHARS}文字までです。")
    if not may_open(user, consultation):
        raise NotAllowed
    kind = NoteKind.supervision if user.role == Role.supervisor else NoteKind.note
    note = ConsultationNote(
        consultation_id=consultation.id, author_id=user.id, kind=kind, body=body, created_at=now
    )
    session.add(note)
    session.flush()
    audit.record(session, user=user, action="note", consultation_id=consultation.id, now=now, note_id=note.id)
    return Done(announce=[_changed(consultation, "note")])


def close(
    session: Session,
    *,
    user: User,
    consultation: Consultation,
    outcome: Outcome,
    referrals: Sequence[ReferralDestination],
    referral_note: str | None,
    now: datetime,
) -> Done:
    if not (consultation.assigned_to_id == user.id or user.role == Role.supervisor):
        raise NotAllowed
    _require_open(consultation)
    if outcome == Outcome.referred and not referrals:
        raise CaseworkError("つないだ先を選んでください。")
    consultation.state, consultation.closed_at = ConsultationState.closed, now
    consultation.close_reason, consultation.outcome, consultation.closed_by_id = (
        "counsellor",
        outcome,
        user.id,
    )
    for destination in dict.fromkeys(referrals):
        session.add(
            Referral(
                consultation_id=consultation.id,
                destination=destination,
                note=(referral_note or "").strip()[:2000] or None,
                created_by=user.id,
                created_at=now,
            )
        )
    audit.record(
        session,
        user=user,
        action="close",
        consultation_id=consultation.id,
        now=now,
        outcome=str(outcome),
        referrals=[str(r) for r in referrals],
    )
    return Done(announce=[_changed(consultation, "closed")])


def set_risk(
    session: Session, *, user: User, consultation: Consultation, risk: RiskLevel, now: datetime
) -> Done:
    """A counsellor's level sticks until a later message is riskier; raising it is an event paging hears."""
    if not may_open(user, consultation):
        raise NotAllowed
    previous = consultation.risk
    if previous == risk:
        return Done()
    consultation.risk, consultation.risk_source, consultation.risk_updated_at = risk, "counsellor", now
    if previous is None or RISK_ORDER[risk] > RISK_ORDER[previous]:
        session.add(
            RiskEvent(
                consultation_id=consultation.id,
                message_id=None,
                risk=risk,
                previous_risk=previous,
                source="counsellor",
                created_at=now,
            )
        )
    audit.record(
        session,
        user=user,
        action="set_risk",
        consultation_id=consultation.id,
        now=now,
        previous=str(previous) if previous else None,
        risk=str(risk),
    )
    return Done(announce=[_changed(consultation, "risk")])


def correct_message(
    session: Session,
    *,
    user: User,
    consultation: Consultation,
    message_id: int,
    topics: Sequence[str],
    risk: RiskLevel,
    now: datetime,
) -> Done:
    """Topics and risk a counsellor gives a message: kept for retraining (`koe triage train`)."""
    if not may_open(user, consultation):
        raise NotAllowed
    message = session.get(Message, message_id)
    if (
        message is None
        or message.consultation_id != consultation.id
        or message.author != MessageAuthor.sender
    ):
        raise NotAllowed
    chosen = [t for t in dict.fromkeys(topics) if t in TOPICS]
    if not 1 <= len(chosen) <= 3:
        raise CaseworkError("トピックを1〜3個選んでください。")
    if "other" in chosen and len(chosen) > 1:
        raise CaseworkError("「その他」はほかのトピックと一緒に選べません。")
    correction = TriageCorrection(
        message_id=message.id, topics=chosen, risk=risk, corrected_by=str(user.id), created_at=now
    )
    session.add(correction)
    session.flush()
    audit.record(
        session,
        user=user,
        action="correct_triage",
        consultation_id=consultation.id,
        now=now,
        message_id=message.id,
        topics=chosen,
        risk=str(risk),
    )
    done = Done(announce=[_changed(consultation, "correction")])
    if RISK_ORDER[risk] > RISK_ORDER[consultation.risk or RiskLevel.low]:
        done.announce += set_risk(session, user=user, consultation=consultation, risk=risk, now=now).announce
    return done
