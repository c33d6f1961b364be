"""What a counsellor does to a consultation. Each action checks who may do it, changes the rows, writes the
audit entry in the same transaction and says what to announce once the caller has committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.outbound import OutgoingText, create_delivery
from bot.risk import refresh_topics
from counsellor_console import audit, paging
from counsellor_console.access import may_assign_others, may_open
from models import (
    RISK_ORDER,
    Consultation,
    ConsultationNote,
    ConsultationState,
    Delivery,
    Message,
    MessageAuthor,
    MessageTriage,
    NoteKind,
    Outcome,
    Page,
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


def _pages_answered(consultation: Consultation, page_ids: list[int]) -> list[dict[str, object]]:
    return [
        {"type": "page_acknowledged", "page_id": page_id, "consultation_id": consultation.id}
        for page_id in page_ids
    ]


def _require_handler(user: User, consultation: Consultation) -> None:
    """Changes to a case (its level, corrections, notes) are for the counsellor who has it, or a supervisor:
    a colleague who merely opened it from the queue cannot lower an urgent case."""
    if not may_open(user, consultation):
        raise NotAllowed
    if user.role != Role.supervisor and consultation.assigned_to_id != user.id:
        raise CaseworkError("担当してから操作してください（「担当する」を押してください）。")


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
    acked = paging.acknowledge_consultation(
        session, consultation_id=consultation.id, user=user, via="claim", now=now
    )
    return Done(announce=[_changed(consultation, "assigned"), *_pages_answered(consultation, acked)])


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
    claimed = consultation.assigned_to_id is None
    if claimed:
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
        session,
        user=user,
        action="reply",
        consultation_id=consultation.id,
        now=now,
        delivery_id=delivery.id,
        claimed=claimed,
    )
    paging.record_first_reply(session, consultation_id=consultation.id, now=now)
    acked = paging.acknowledge_consultation(
        session, consultation_id=consultation.id, user=user, via="reply", now=now
    )
    return Done(
        announce=[_changed(consultation, "reply"), *_pages_answered(consultation, acked)],
        delivery_ids=[delivery.id],
    )


def add_note(session: Session, *, user: User, consultation: Consultation, body: str, now: datetime) -> Done:
    body = body.strip()
    if not body:
        raise CaseworkError("メモを入力してください。")
    if len(body) > MAX_NOTE_CHARS:
        raise CaseworkError(f"メモは{MAX_NOTE_CHARS}文字までです。")
    _require_handler(user, consultation)
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
    acked = paging.acknowledge_consultation(
        session, consultation_id=consultation.id, user=user, via="close", now=now
    )
    return Done(announce=[_changed(consultation, "closed"), *_pages_answered(consultation, acked)])


def set_risk(
    session: Session, *, user: User, consultation: Consultation, risk: RiskLevel, now: datetime
) -> Done:
    """A counsellor's level sticks until a later message is riskier; raising it is an event paging hears."""
    _require_handler(user, consultation)
    _require_open(consultation)
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
    _require_handler(user, consultation)
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
    if (
        consultation.state == ConsultationState.open
        and RISK_ORDER[risk] > RISK_ORDER[consultation.risk or RiskLevel.low]
    ):
        done.announce += set_risk(session, user=user, consultation=consultation, risk=risk, now=now).announce
    return done


# -- merging and splitting --------------------------------------------------------------------------------


def _recompute(session: Session, consultation: Consultation) -> None:
    """Risk, topics, counts and times again from the messages the consultation now holds."""
    levels = session.scalars(
        select(MessageTriage.risk)
        .join(Message, Message.id == MessageTriage.message_id)
        .where(Message.consultation_id == consultation.id)
    ).all()
    consultation.risk = max(levels, key=lambda r: RISK_ORDER[r]) if levels else None
    consultation.risk_source = "triage" if levels else None
    first, last, count = session.execute(
        select(func.min(Message.sent_at), func.max(Message.sent_at), func.count()).where(
            Message.consultation_id == consultation.id, Message.author == MessageAuthor.sender
        )
    ).one()
    consultation.message_count = int(count or 0)
    if first is not None:
        consultation.opened_at, consultation.last_message_at = first, last
    refresh_topics(session, consultation)


def _keep_highest(consultation: Consultation, counsellor_levels: list[RiskLevel]) -> None:
    for level in counsellor_levels:
        if consultation.risk is None or RISK_ORDER[level] > RISK_ORDER[consultation.risk]:
            consultation.risk, consultation.risk_source = level, "counsellor"


def mergeable(session: Session, user: User, consultation: Consultation) -> list[Consultation]:
    """The same sender's other open consultations this user may open: candidates for merging."""
    rows = session.scalars(
        select(Consultation)
        .where(
            Consultation.sender_id == consultation.sender_id,
            Consultation.id != consultation.id,
            Consultation.state == ConsultationState.open,
            Consultation.merged_into_id.is_(None),
        )
        .order_by(Consultation.opened_at)
    ).all()
    return [c for c in rows if may_open(user, c)]


def merge(session: Session, *, user: User, consultation: Consultation, other_id: int, now: datetime) -> Done:
    """Another open consultation of the same sender joins this one (one worry written in two goes)."""
    _require_handler(user, consultation)
    _require_open(consultation)
    other = lock_consultation(session, other_id)
    if other is None or other.id == consultation.id or not may_open(user, other):
        raise CaseworkError("統合できる相談を選んでください。")
    if other.state != ConsultationState.open:
        raise CaseworkError("終了した相談はまとめられません。")
    if other.sender_id != consultation.sender_id or other.desk != consultation.desk:
        raise CaseworkError("同じ相談者の相談だけを統合できます。")
    if other.merged_into_id is not None:
        raise CaseworkError("その相談はすでに統合されています。")
    moved = {"consultation_id": consultation.id}
    session.execute(update(Message).where(Message.consultation_id == other.id).values(moved))
    session.execute(update(Delivery).where(Delivery.consultation_id == other.id).values(moved))
    session.execute(update(RiskEvent).where(RiskEvent.consultation_id == other.id).values(moved))
    session.execute(update(Page).where(Page.consultation_id == other.id).values(moved))  # still paging
    session.execute(
        update(ConsultationNote).where(ConsultationNote.consultation_id == other.id).values(moved)
    )
    session.execute(update(Referral).where(Referral.consultation_id == other.id).values(moved))
    other.state, other.closed_at, other.close_reason = ConsultationState.closed, now, "merged"
    other.merged_into_id = consultation.id
    session.flush()
    kept = [c.risk for c in (consultation, other) if c.risk is not None and c.risk_source == "counsellor"]
    _recompute(session, consultation)
    _keep_highest(consultation, kept)  # merging never lowers what a counsellor set on either
    audit.record(
        session, user=user, action="merge", consultation_id=consultation.id, now=now, merged_id=other.id
    )
    audit.record(
        session, user=user, action="merged_into", consultation_id=other.id, now=now, into=consultation.id
    )
    return Done(announce=[_changed(consultation, "merged"), _changed(other, "merged")])


def split(
    session: Session, *, user: User, consultation: Consultation, from_message_id: int, now: datetime
) -> tuple[Done, int]:
    """The messages from this one on become a consultation of their own (a new worry began there)."""
    _require_handler(user, consultation)
    _require_open(consultation)
    first = session.get(Message, from_message_id)
    if first is None or first.consultation_id != consultation.id:
        raise NotAllowed
    earlier = session.scalar(
        select(Message.id).where(
            Message.consultation_id == consultation.id,
            Message.author == MessageAuthor.sender,
            or_(
                Message.sent_at < first.sent_at, and_(Message.sent_at == first.sent_at, Message.id < first.id)
            ),
        )
    )
    if earlier is None:
        raise CaseworkError(
            "最初のメッセージからは分けられません。分けたいところのメッセージを選んでください。"
        )
    new = Consultation(
        desk=consultation.desk,
        channel=consultation.channel,
        sender_id=consultation.sender_id,
        school_level=consultation.school_level,
        state=ConsultationState.open,
        opened_at=first.sent_at,
        last_message_at=first.sent_at,
        message_count=0,
        assigned_to_id=consultation.assigned_to_id,
        assigned_at=now if consultation.assigned_to_id else None,
    )
    session.add(new)
    session.flush()
    later = or_(
        Message.sent_at > first.sent_at, and_(Message.sent_at == first.sent_at, Message.id >= first.id)
    )
    moved_ids = list(
        session.scalars(select(Message.id).where(Message.consultation_id == consultation.id, later))
    )
    session.execute(update(Message).where(Message.id.in_(moved_ids)).values(consultation_id=new.id))
    delivery_ids = select(Message.delivery_id).where(
        Message.id.in_(moved_ids), Message.delivery_id.is_not(None)
    )
    session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids)).values(consultation_id=new.id))

    session.execute(
        update(RiskEvent)
        .where(RiskEvent.consultation_id == consultation.id, RiskEvent.message_id.in_(moved_ids))
        .values(consultation_id=new.id)
    )
    session.flush()
    kept = (
        [consultation.risk]
        if consultation.risk is not None and consultation.risk_source == "counsellor"
        else []
    )
    _recompute(session, consultation)
    _recompute(session, new)
    # A level a counsellor set stays on both halves: splitting must not drop an urgent case down the queue.
    _keep_highest(consultation, kept)
    _keep_highest(new, kept)
    audit.record(
        session,
        user=user,
        action="split",
        consultation_id=consultation.id,
        now=now,
        new_consultation_id=new.id,
        messages=len(moved_ids),
    )
    return Done(announce=[_changed(consultation, "split"), _changed(new, "split")]), new.id
