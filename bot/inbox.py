"""The inbox: every LINE event is stored here, keyed by its webhookEventId, before anything else happens.

The database row is the source of truth and Redis only the doorbell: a job that never ran, or died, is brought
back by the sweeper from the rows still pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.identity import SenderCrypto
from models import InboxEvent, InboxState


class MalformedWebhook(ValueError):
    """The body is not a LINE webhook: answered 400, nothing stored."""


@dataclass(frozen=True)
class IncomingEvent:
    webhook_event_id: str
    event_type: str
    mode: str
    is_redelivery: bool
    event_at: datetime
    raw: dict[str, Any]
    urgent_hint: bool = False  # the first look found crisis words: the worker takes it first


@dataclass(frozen=True)
class StoredEvent:
    id: int
    urgent_hint: bool


def parse_webhook_body(body: bytes) -> list[IncomingEvent]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedWebhook("body is not valid JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedWebhook("body has no list of events")
    return [_parse_event(i, e) for i, e in enumerate(document["events"])]


def _parse_event(index: int, event: Any) -> IncomingEvent:
    if not isinstance(event, dict):
        raise MalformedWebhook(f"event {index} is not an object")
    event_id, event_type, mode = event.get("webhookEventId"), event.get("type"), event.get("mode")
    timestamp = event.get("timestamp")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        raise MalformedWebhook(f"event {index} has no webhookEventId")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 32:
        raise MalformedWebhook(f"event {index} has no type")
    if not isinstance(mode, str) or not 0 < len(mode) <= 16:
        raise MalformedWebhook(f"event {index} has no mode")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or not 0 <= timestamp < 2**48:
        raise MalformedWebhook(f"event {index} has no valid timestamp")
    context = event.get("deliveryContext")
    redelivery = bool(context.get("isRedelivery")) if isinstance(context, dict) else False
    return IncomingEvent(
        webhook_event_id=event_id,
        event_type=event_type,
        mode=mode,
        is_redelivery=redelivery,
        event_at=datetime.fromtimestamp(timestamp / 1000, UTC),
        raw=event,
    )


def store_events(
    session: Session, *, desk: str, events: Sequence[IncomingEvent], crypto: SenderCrypto, now: datetime
) -> list[StoredEvent]:
    """Insert the events that are new; return the rows this call created (not the duplicates)."""
    if not events:
        return []
    rows = [
        {
            "webhook_event_id": e.webhook_event_id,
            "desk": desk,
            "event_type": e.event_type,
            "mode": e.mode,
            "is_redelivery": e.is_redelivery,
            "event_at": e.event_at,
            "received_at": now,
            "payload": crypto.encrypt(orjson.dumps(e.raw)),
            "state": InboxState.pending,
            "attempts": 0,
        }
        for e in events
    ]
    # Core, not the ORM's bulk path: this is the webhook's hot path, and one multi-row statement will do.
    table = cast(Table, InboxEvent.__table__)
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["webhook_event_id"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["webhook_event_id"])
    else:  # pragma: no cover - Koe supports PostgreSQL and SQLite
        stmt = insert(table)
    hinted = {e.webhook_event_id for e in events if e.urgent_hint}
    return [
        StoredEvent(row_id, webhook_event_id in hinted)
        for row_id, webhook_event_id in session.execute(
            stmt.returning(table.c.id, table.c.webhook_event_id), rows
        ).tuples()
    ]


def claim(session: Session, event_id: int) -> int | None:
    """Count an attempt on a pending row and return the attempt number, or None if it needs no work.

    Committed on its own before the work starts, so that a job which keeps killing its worker is seen.
    """
    return session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == event_id, InboxEvent.state == InboxState.pending)
        .values(attempts=InboxEvent.attempts + 1)
        .returning(InboxEvent.attempts)
    ).scalar_one_or_none()


def lock_pending(session: Session, event_id: int) -> InboxEvent | None:
    """The row, locked for this transaction, if it is still pending; duplicates of a job wait here."""
    return session.scalars(
        select(InboxEvent)
        .where(InboxEvent.id == event_id, InboxEvent.state == InboxState.pending)
        .with_for_update()
    ).one_or_none()


def finish(event: InboxEvent, *, state: InboxState, outcome: str, now: datetime) -> None:
    """Mark handled and drop the encrypted payload: what matters now lives in Koe's own rows."""
    event.state = state
    event.outcome = outcome
    event.handled_at = now
    event.payload = None


def give_up(session: Session, event_id: int, *, now: datetime) -> None:
    session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == event_id, InboxEvent.state == InboxState.pending)
        .values(state=InboxState.failed, outcome="too_many_attempts", handled_at=now)
    )


def stale_pending_ids(session: Session, *, received_before: datetime, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(InboxEvent.id)
            .where(InboxEvent.state == InboxState.pending, InboxEvent.received_at < received_before)
            .order_by(InboxEvent.id)
            .limit(limit)
        )
    )
