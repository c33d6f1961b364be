"""`koe inbox`: what is waiting or failed in the inbox and the outbox, and sending failed work round again."""

from __future__ import annotations

from sqlalchemy import func, select, update

from koe.runtime import Runtime
from models import Delivery, DeliveryState, InboxEvent, InboxState, utcnow


def status(rt: Runtime) -> str:
    with rt.sessions() as s:
        inbox: dict[InboxState, int] = dict(
            s.execute(select(InboxEvent.state, func.count()).group_by(InboxEvent.state)).all()
        )
        outbox: dict[DeliveryState, int] = dict(
            s.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
        )
        failed_events = s.execute(
            select(InboxEvent.id, InboxEvent.event_type, InboxEvent.outcome)
            .where(InboxEvent.state == InboxState.failed)
            .order_by(InboxEvent.id)
            .limit(20)
        ).all()
        failed_deliveries = s.execute(
            select(Delivery.id, Delivery.purpose, Delivery.last_status, Delivery.last_error)
            .where(Delivery.state == DeliveryState.failed)
            .order_by(Delivery.id)
            .limit(20)
        ).all()
    lines = [
        "受信 (inbox): " + "  ".join(f"{state}={inbox.get(state, 0)}" for state in InboxState),
        "送信 (deliveries): " + "  ".join(f"{state}={outbox.get(state, 0)}" for state in DeliveryState),
    ]
    lines += [f"  失敗した受信 #{i} type={t} outcome={o}" for i, t, o in failed_events]
    lines += [f"  失敗した送信 #{i} purpose={p} status={st} error={e}" for i, p, st, e in failed_deliveries]
    if failed_events or failed_deliveries:
        lines.append("原因を直したあと `koe inbox retry` で、失敗したものをもう一度処理できます。")
    return "\n".join(lines)


def retry_failed(rt: Runtime) -> tuple[int, int]:
    """Failed inbox rows and deliveries back to pending, and enqueued. Their retry keys stay: no doubles."""
    with rt.sessions() as s, s.begin():
        event_ids = list(
            s.scalars(
                update(InboxEvent)
                .where(InboxEvent.state == InboxState.failed, InboxEvent.payload.is_not(None))
                .values(state=InboxState.pending, attempts=0, outcome=None, handled_at=None)
                .returning(InboxEvent.id)
            )
        )
        delivery_ids = list(
            s.scalars(
                update(Delivery)
                .where(Delivery.state == DeliveryState.failed)
                # By push (the reply token is long spent), with a fresh give-up clock; the retry key stays.
                .values(
                    state=DeliveryState.pending,
                    attempts=0,
                    method=None,
                    reply_token=None,
                    created_at=utcnow(),
                )
                .returning(Delivery.id)
            )
        )
    rt.queues.enqueue_inbox(event_ids)
    rt.queues.enqueue_deliveries(delivery_ids)
    return len(event_ids), len(delivery_ids)
