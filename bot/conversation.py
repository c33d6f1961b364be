"""The conversation flow: what happens to each LINE event once it is safely in the inbox.

Runs inside the worker's transaction; returns the deliveries to send once that transaction commits.
Nothing here calls LINE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.consultations import add_to_consultation, consultation_for
from bot.directory import reachable_now
from bot.hours import OpeningHours
from bot.identity import SenderCrypto
from bot.outbound import OutgoingText, create_delivery
from bot.risk import raise_risk, record_triage, redact_evidence, refresh_topics
from bot.senders import get_or_create_sender
from models import (
    Consultation,
    InboxEvent,
    InboxState,
    Message,
    MessageAuthor,
    MessageKind,
    MessageTriage,
    RiskLevel,
    SchoolLevel,
    Sender,
    SenderStatus,
)
from triage import Risk, TriageResult
from triage.fallback import rules_only

log = logging.getLogger("koe.conversation")

MEDIA_KINDS = {
    "sticker": MessageKind.sticker,
    "image": MessageKind.image,
    "video": MessageKind.video,
    "audio": MessageKind.audio,
    "file": MessageKind.file,
    "location": MessageKind.location,
}
# Don't answer every sticker or photo of a burst: one kind word of each sort per sender in this window.
MEDIA_NOTICE_INTERVAL = timedelta(minutes=10)
# In hours, a sender still waiting this long after the acknowledgement, with no counsellor reply yet, hears
# that their words arrived; otherwise later messages meet silence.
STILL_WAITING_AFTER = timedelta(minutes=20)
# Out of hours, the hotline message is repeated in a consultation only after this long.
AFTER_HOURS_NOTICE_INTERVAL = timedelta(hours=6)
# An urgent message always gets the hotlines at once; a burst of them in one consultation gets them once.
URGENT_NOTICE_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class FlowConfig:
    crypto: SenderCrypto
    hours: Mapping[str, OpeningHours]
    quiet_gap: timedelta
    triage: Callable[[str, str], TriageResult] | None = None  # (text, desk) -> result


@dataclass
class Handled:
    state: InboxState
    outcome: str
    delivery_ids: list[int] = field(default_factory=list)
    leave_chat: tuple[str, str] | None = None  # ("group" | "room", its ID): to leave once committed
    risk_event_ids: list[int] = field(default_factory=list)  # to announce once committed
    consultation_id: int | None = None  # a consultation that changed: live views refresh it


def handle_event(
    session: Session, row: InboxEvent, event: dict[str, Any], cfg: FlowConfig, now: datetime
) -> Handled:
    if row.mode != "active":
        return Handled(InboxState.skipped, f"mode_{row.mode}"[:64])
    source = event.get("source") or {}
    if source.get("type") in ("group", "room"):
        # Group and room chats are not consultations: Koe does not answer in them, and leaves them.
        chat_id = source.get("groupId") if source["type"] == "group" else source.get("roomId")
        leave = (str(source["type"]), chat_id) if isinstance(chat_id, str) and chat_id else None
        return Handled(InboxState.skipped, "not_one_to_one", leave_chat=leave)
    if source.get("type") != "user":
        return Handled(InboxState.skipped, "not_one_to_one")
    user_id = source.get("userId")
    if not isinstance(user_id, str) or not user_id:
        return Handled(InboxState.skipped, "no_user")
    handler = _HANDLERS.get(row.event_type)
    if handler is None:
        return Handled(InboxState.skipped, f"unsupported_{row.event_type}"[:64])
    ctx = _Context(session=session, row=row, event=event, cfg=cfg, now=now, user_id=user_id)
    return handler(ctx)


@dataclass
class _Context:
    session: Session
    row: InboxEvent
    event: dict[str, Any]
    cfg: FlowConfig
    now: datetime
    user_id: str
    _sender: Sender | None = None
    created: bool = False

    @property
    def desk(self) -> str:
        return self.row.desk

    @property
    def hours(self) -> OpeningHours:
        return self.cfg.hours[self.desk]

    def sender(self) -> Sender:
        if self._sender is None:
            self._sender, self.created = get_or_create_sender(
                self.session, desk=self.desk, line_user_id=self.user_id, crypto=self.cfg.crypto, now=self.now
            )
        return self._sender

    def reply(self, purpose: str, *messages: OutgoingText, consultation_id: int | None = None) -> int:
        token = self.event.get("replyToken")
        delivery = create_delivery(
            self.session,
            sender=self.sender(),
            texts=messages,
            purpose=purpose,
            now=self.now,
            consultation_id=consultation_id,
            inbox_event_id=self.row.id,
            reply_token=token if isinstance(token, str) else None,
            reply_token_issued_at=self.row.event_at,
        )
        return delivery.id


def _school_level_question() -> OutgoingText:
    return OutgoingText(
        texts.ASK_SCHOOL_LEVEL,
        quick_replies=[
            (label, f"{texts.SCHOOL_LEVEL_POSTBACK_PREFIX}{level.value}", label)
            for level, label in texts.SCHOOL_LEVEL_CHOICES
        ],
    )


def _on_follow(ctx: _Context) -> Handled:
    sender = ctx.sender()
    returning = not ctx.created
    sender.status = SenderStatus.active
    sender.followed_at = ctx.now
    sender.unfollowed_at = None
    messages = [OutgoingText(texts.welcome(ctx.desk, ctx.hours, returning=returning))]
    if ctx.desk == "youth" and sender.school_level is None:
        messages.append(_school_level_question())
    return Handled(InboxState.done, "welcomed", [ctx.reply("welcome", *messages)])


def _on_unfollow(ctx: _Context) -> Handled:
    sender = ctx.sender()
    sender.status = SenderStatus.gone
    sender.unfollowed_at = ctx.now
    return Handled(InboxState.done, "unfollowed")


def _on_postback(ctx: _Context) -> Handled:
    data = (ctx.event.get("postback") or {}).get("data")
    if isinstance(data, str) and data.startswith(texts.SCHOOL_LEVEL_POSTBACK_PREFIX):
        try:
            level = SchoolLevel(data.removeprefix(texts.SCHOOL_LEVEL_POSTBACK_PREFIX))
        except ValueError:
            return Handled(InboxState.skipped, "unknown_school_level")
        sender = ctx.sender()
        sender.school_level = level
        return Handled(
            InboxState.done,
            "school_level",
            [ctx.reply("school_level_thanks", OutgoingText(texts.school_level_thanks(ctx.desk)))],
        )
    return Handled(InboxState.skipped, "unknown_postback")


def _on_message(ctx: _Context) -> Handled:
    message = ctx.event.get("message") or {}
    line_type = message.get("type")
    kind = MessageKind.text if line_type == "text" else MEDIA_KINDS.get(str(line_type), MessageKind.other)
    text = message.get("text") if kind == MessageKind.text else None
    if kind == MessageKind.text and not isinstance(text, str):
        return Handled(InboxState.skipped, "text_missing")
    sender = ctx.sender()
    at = ctx.row.event_at
    line_message_id = str(message["id"]) if message.get("id") is not None else None
    stored = _message_by_line_id(ctx.session, sender, line_message_id)
    if stored is not None and stored.withdrawn_at is None:
        return Handled(InboxState.skipped, "duplicate_message")
    consultation, opened = consultation_for(ctx.session, sender=sender, at=at, quiet_gap=ctx.cfg.quiet_gap)
    if stored is not None:
        # The unsend overtook its message (workers run in parallel): keep the fact, never the words.
        stored.consultation_id, stored.kind, stored.sent_at = consultation.id, kind, at
    else:
        stored = Message(
            consultation_id=consultation.id,
            sender_id=sender.id,
            author=MessageAuthor.sender,
            kind=kind,
            text=text,
            line_message_id=line_message_id,
            inbox_event_id=ctx.row.id,
            sent_at=at,
        )
        ctx.session.add(stored)
        ctx.session.flush()
    add_to_consultation(consultation, sender, at)
    if sender.status == SenderStatus.gone:  # a message proves they follow again
        sender.status = SenderStatus.active

    risk_event_ids: list[int] = []
    urgent = False
    if text and ctx.cfg.triage is not None:
        # Even a withdrawn message is triaged: its words leave Koe, the danger they showed does not.
        result = _triage_or_rules(ctx.cfg.triage, text, ctx.desk)
        withdrawn = stored.withdrawn_at is not None
        record_triage(ctx.session, message=stored, result=result, now=ctx.now, withdrawn=withdrawn)
        ctx.session.flush()
        refresh_topics(ctx.session, consultation)
        event = raise_risk(
            ctx.session,
            consultation=consultation,
            risk=RiskLevel(str(result.risk)),
            message_id=stored.id,
            now=ctx.now,
        )
        if event is not None:
            risk_event_ids.append(event.id)
        urgent = result.risk == Risk.urgent

    answers, purpose = _answers(ctx, consultation, urgent=urgent)
    notice = _media_notice(ctx, sender, kind)
    if notice is not None:
        answers.insert(0, notice)
    outcome = "opened_consultation" if opened else "threaded"
    deliveries = [ctx.reply(purpose, *answers, consultation_id=consultation.id)] if answers else []
    return Handled(
        InboxState.done, outcome, deliveries, risk_event_ids=risk_event_ids, consultation_id=consultation.id
    )


def _triage_or_rules(triage: Callable[[str, str], TriageResult], text: str, desk: str) -> TriageResult:
    """The model's result; if the model fails, the crisis rules alone, so that the message is still kept and
    an urgent one still gets its hotlines (the failure is logged by kind for a person to look at)."""
    try:
        return triage(text, desk)
    except Exception as exc:  # noqa: BLE001 - never lose a message to a triage failure
        log.error("triage failed (%s); the safety rules alone judged this message", type(exc).__name__)
        return rules_only(text)


def _answers(ctx: _Context, consultation: Consultation, *, urgent: bool) -> tuple[list[OutgoingText], str]:
    """What the bot says to a message: hotlines at once when it is urgent, at any hour (once an hour in a
    consultation); otherwise the acknowledgement in hours, or when counsellors are in and the hotlines."""
    open_now = ctx.hours.is_open(ctx.now)
    if urgent and (
        consultation.urgent_notice_at is None
        or ctx.now - consultation.urgent_notice_at >= URGENT_NOTICE_INTERVAL
    ):
        consultation.urgent_notice_at = ctx.now
        if open_now:
            consultation.acknowledged_at = consultation.acknowledged_at or ctx.now
        else:
            consultation.after_hours_notice_at = ctx.now
        answers = [OutgoingText(texts.urgent(ctx.desk, ctx.hours, ctx.now))]
        if not open_now:
            answers.append(OutgoingText(texts.when_counsellors_are_in(ctx.desk, ctx.hours, ctx.now)))
        return answers, "urgent_hotlines"
    if open_now:
        if consultation.acknowledged_at is None:
            consultation.acknowledged_at = ctx.now
            return [OutgoingText(texts.acknowledgement(ctx.desk))], "acknowledgement"
        if ctx.now - consultation.acknowledged_at >= STILL_WAITING_AFTER and not _counsellor_replied(
            ctx.session, consultation.id
        ):
            consultation.acknowledged_at = ctx.now
            return [OutgoingText(texts.still_waiting(ctx.desk))], "still_waiting"
        return [], "media"
    if (
        consultation.after_hours_notice_at is None
        or ctx.now - consultation.after_hours_notice_at >= AFTER_HOURS_NOTICE_INTERVAL
    ):
        consultation.after_hours_notice_at = ctx.now
        more = reachable_now(ctx.session, desk=ctx.desk, topics=consultation.topics or [])
        return [OutgoingText(texts.after_hours(ctx.desk, ctx.hours, ctx.now, more=more))], "after_hours"
    return [], "media"


def _counsellor_replied(session: Session, consultation_id: int) -> bool:
    return (
        session.scalar(
            select(Message.id)
            .where(Message.consultation_id == consultation_id, Message.author == MessageAuthor.counsellor)
            .limit(1)
        )
        is not None
    )


def _media_notice(ctx: _Context, sender: Sender, kind: MessageKind) -> OutgoingText | None:
    """A kind word for a sticker, or for a photo/video/audio/file that Koe does not open; one per burst."""
    if kind == MessageKind.text:
        return None
    sticker = kind == MessageKind.sticker
    last = sender.last_sticker_notice_at if sticker else sender.last_media_notice_at
    if last is not None and ctx.now - last < MEDIA_NOTICE_INTERVAL:
        return None
    if sticker:
        sender.last_sticker_notice_at = ctx.now
        return OutgoingText(texts.sticker_reply(ctx.desk))
    sender.last_media_notice_at = ctx.now
    return OutgoingText(texts.media_reply(ctx.desk))


def _message_by_line_id(session: Session, sender: Sender, line_message_id: str | None) -> Message | None:
    if line_message_id is None:
        return None
    return session.scalars(
        select(Message).where(Message.line_message_id == line_message_id, Message.sender_id == sender.id)
    ).one_or_none()


def _on_unsend(ctx: _Context) -> Handled:
    message_id = (ctx.event.get("unsend") or {}).get("messageId")
    if message_id is None:
        return Handled(InboxState.skipped, "unsend_without_id")
    sender = ctx.sender()
    message = _message_by_line_id(ctx.session, sender, str(message_id))
    if message is None:
        # Not here yet: leave a tombstone so that the message, when its job runs, arrives without its words.
        ctx.session.add(
            Message(
                sender_id=sender.id,
                author=MessageAuthor.sender,
                kind=MessageKind.other,
                line_message_id=str(message_id),
                inbox_event_id=ctx.row.id,
                sent_at=ctx.row.event_at,
                withdrawn_at=ctx.now,
            )
        )
        return Handled(InboxState.done, "withdrawn_before_arrival")
    # The sender stays in control of their words: the text leaves Koe, the fact of a message stays, and so
    # does its triage (for safety), without the words its evidence quoted.
    message.text = None
    message.withdrawn_at = ctx.now
    triage_row = ctx.session.scalars(
        select(MessageTriage).where(MessageTriage.message_id == message.id)
    ).one_or_none()
    if triage_row is not None:
        triage_row.evidence = redact_evidence(triage_row.evidence)
    return Handled(InboxState.done, "withdrawn", consultation_id=message.consultation_id)


_HANDLERS = {
    "follow": _on_follow,
    "unfollow": _on_unfollow,
    "postback": _on_postback,
    "message": _on_message,
    "unsend": _on_unsend,
}
