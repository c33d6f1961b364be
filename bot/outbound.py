"""Outbound messages: a delivery row is written with whatever caused it, and sent by a job afterwards.

Reply while the reply token is young, push (with the row's retry key) otherwise. A reply token works once,
and LINE answers 400 both to a second use and to an expired token, so the token's age decides what a 400
means: young and already tried by us means an earlier attempt got through.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.identity import SenderCrypto
from bot.line_api import LineApi, LineResult
from models import Delivery, DeliveryState, Message, MessageAuthor, MessageKind, Sender

MAX_MESSAGES_PER_CALL = 5


@dataclass(frozen=True)
class OutgoingText:
    text: str
    quick_replies: Sequence[tuple[str, str, str]] = ()  # (label, postback data, text shown as the user's)

    def to_line(self) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "text", "text": self.text}
        if self.quick_replies:
            message["quickReply"] = {
                "items": [
                    {
                        "type": "action",
                        "action": {"type": "postback", "label": label, "data": data, "displayText": shown},
                    }
                    for label, data, shown in self.quick_replies
                ]
            }
        return message


def create_delivery(
    session: Session,
    *,
    sender: Sender,
    texts: Sequence[OutgoingText],
    purpose: str,
    now: datetime,
    author: MessageAuthor = MessageAuthor.bot,
    consultation_id: int | None = None,
    inbox_event_id: int | None = None,
    reply_token: str | None = None,
    reply_token_issued_at: datetime | None = None,
    author_user_id: int | None = None,
) -> Delivery:
    """A delivery and the outgoing message rows the console will show; nothing is sent yet."""
    if not 0 < len(texts) <= MAX_MESSAGES_PER_CALL:
        raise ValueError(f"a delivery carries 1 to {MAX_MESSAGES_PER_CALL} messages")
    delivery = Delivery(
        desk=sender.desk,
        sender_id=sender.id,
        consultation_id=consultation_id,
        inbox_event_id=inbox_event_id,
        purpose=purpose,
        messages_json=orjson.dumps([t.to_line() for t in texts]).decode(),
        reply_token=reply_token,
        reply_token_issued_at=reply_token_issued_at if reply_token else None,
        retry_key=str(uuid.uuid4()),
        state=DeliveryState.pending,
        attempts=0,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    for t in texts:
        session.add(
            Message(
                consultation_id=consultation_id,
                sender_id=sender.id,
                author=author,
                kind=MessageKind.text,
                text=t.text,
                purpose=purpose,
                delivery_id=delivery.id,
                sent_at=now,
                author_user_id=author_user_id,
            )
        )
    return delivery


class Method(StrEnum):
    reply = "reply"
    push = "push"


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    desk: str
    method: Method
    messages: list[dict[str, Any]]
    reply_token: str | None
    to: str | None  # decrypted LINE user ID for push, only in memory
    retry_key: str
    reply_tried_before: bool


class SendOutcome(StrEnum):
    delivered = "delivered"
    retry = "retry"  # LINE did not answer, or answered 5xx/429: try again later
    failed = "failed"
    nothing_to_do = "nothing_to_do"


def begin_attempt(
    session: Session, delivery_id: int, *, crypto: SenderCrypto, now: datetime, reply_token_max_age: timedelta
) -> Attempt | None:
    """Decide how to send and record the attempt (committed by the caller before LINE is called)."""
    delivery = session.scalars(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).one_or_none()
    if delivery is None or delivery.state != DeliveryState.pending:
        return None
    token_young = (
        delivery.reply_token is not None
        and delivery.reply_token_issued_at is not None
        and now - delivery.reply_token_issued_at < reply_token_max_age
    )
    use_reply = token_young and delivery.method != Method.push
    to: str | None = None
    if not use_reply:
        sender = session.get(Sender, delivery.sender_id)
        if sender is None or sender.line_user_id_encrypted is None:
            delivery.state = DeliveryState.failed
            delivery.last_error = "no_recipient"
            return None
        to = crypto.decrypt(sender.line_user_id_encrypted).decode()
    reply_tried_before = delivery.reply_attempted_at is not None
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if use_reply and delivery.reply_attempted_at is None:
        delivery.reply_attempted_at = now
    return Attempt(
        delivery_id=delivery.id,
        desk=delivery.desk,
        method=Method.reply if use_reply else Method.push,
        messages=orjson.loads(delivery.messages_json),
        reply_token=delivery.reply_token if use_reply else None,
        to=to,
        retry_key=delivery.retry_key,
        reply_tried_before=reply_tried_before,
    )


def send(api: LineApi, attempt: Attempt) -> LineResult:
    if attempt.method == Method.reply:
        assert attempt.reply_token is not None
        return api.reply(attempt.desk, attempt.reply_token, attempt.messages)
    assert attempt.to is not None
    return api.push(attempt.desk, attempt.to, attempt.messages, attempt.retry_key)


def record_result(
    session: Session, attempt: Attempt, result: LineResult, *, now: datetime, give_up_after: timedelta
) -> SendOutcome:
    delivery = session.scalars(
        select(Delivery).where(Delivery.id == attempt.delivery_id).with_for_update()
    ).one()
    if delivery.state != DeliveryState.pending:
        return SendOutcome.nothing_to_do  # a concurrent duplicate of this job finished first
    delivery.last_status = result.status
    delivery.last_error = result.error
    if attempt.method == Method.reply and result.status is not None:
        delivery.reply_attempted_at = None  # LINE answered: this attempt's outcome is known
    outcome = _classify(attempt, result)
    if outcome == "push_instead":
        # The token is spent or refused for a reason of its own: send the same messages by push at once.
        delivery.method = Method.push
        outcome = SendOutcome.retry
    if outcome == SendOutcome.delivered:
        delivery.state = DeliveryState.delivered
        delivery.method = attempt.method
        delivery.delivered_at = now
    elif outcome == SendOutcome.failed or (
        outcome == SendOutcome.retry and now - delivery.created_at > give_up_after
    ):
        delivery.state = DeliveryState.failed
        outcome = SendOutcome.failed
    return SendOutcome(outcome)


def _classify(attempt: Attempt, result: LineResult) -> str:
    status = result.status
    if result.ok:
        return SendOutcome.delivered
    if status is None or status >= 500 or status == 429:
        return SendOutcome.retry
    if attempt.method == Method.push:
        # 409: this retry key was already accepted, so an earlier attempt delivered.
        return SendOutcome.delivered if status == 409 else SendOutcome.failed
    token_refused = status == 400 and "reply token" in (result.error or "").lower()
    if token_refused:
        # The token is young (or we would have pushed): if an earlier use of it got no answer (a crash or a
        # timeout), that use got through; otherwise LINE refuses it for a reason of its own.
        return SendOutcome.delivered if attempt.reply_tried_before else "push_instead"
    return SendOutcome.failed


def pending_ids(
    session: Session, *, created_before: datetime, last_attempt_before: datetime, limit: int = 500
) -> list[int]:
    """Deliveries the sweeper should try again: old enough, and not attempted too recently (backoff)."""
    return list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.state == DeliveryState.pending,
                Delivery.created_at < created_before,
                or_(Delivery.last_attempt_at.is_(None), Delivery.last_attempt_at < last_attempt_before),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
    )
