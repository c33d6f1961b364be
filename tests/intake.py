"""Helpers that drive Koe's intake the way LINE and RQ do: a signed POST, then the worker's job."""

from __future__ import annotations

from typing import Any

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
