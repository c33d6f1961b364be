"""Helpers that drive Koe's intake the way LINE and RQ do: a signed POST, then the worker's job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from koe import jobs
from koe.runtime import Runtime
from models import Delivery, InboxEvent
from tests import line_events as le


def post(client: TestClient, rt: Runtime, desk: str, *events: dict[str, Any]) -> list[int]:
    raw = le.body(*events)
    response = client.post(
        f"/line/webhook/{desk}", content=raw, headers=le.signed_headers(rt.settings.channel_secret(desk), raw)
    )
    assert response.status_code == 200, response.text
    wanted = [e["webhookEventId"] for e in events]
    with rt.sessions() as s:
        rows = {
            r.webhook_event_id: r.id
            for r in s.scalars(select(InboxEvent).where(InboxEvent.webhook_event_id.in_(wanted)))
        }
    return [rows[w] for w in wanted]


def process(client: TestClient, rt: Runtime, desk: str, *events: dict[str, Any]) -> list[str]:
    """Post the events and run each one's intake job in this process."""
    return [jobs.process_inbox_event(i) for i in post(client, rt, desk, *events)]


def deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.id)))


def delivered_texts(d: Delivery) -> list[str]:
    return [m["text"] for m in orjson.loads(d.messages_json)]


def close_desk_now(rt: Runtime, desk: str) -> None:
    """Opening hours that are certainly closed at this moment: one hour, twelve hours from now."""
    opens = (datetime.now(UTC) + timedelta(hours=12)).astimezone(ZoneInfo("Asia/Tokyo"))
    setattr(rt.settings, f"hours_{desk}", f"mon-sun {opens.hour:02d}:00-{opens.hour + 1:02d}:00")
    rt.__dict__.pop("hours", None)
    rt.__dict__.pop("flow", None)
