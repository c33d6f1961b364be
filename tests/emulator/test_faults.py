"""Fault injection for Koe's retry logic."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from line_emulator import EmulatorServer

from .helpers import auth, chat, new_pupil, send, text


def push(client: TestClient | httpx.Client, to: str, message: str, key: str | None = None) -> httpx.Response:
    headers = {**auth(), **({"X-Line-Retry-Key": key} if key else {})}
    return client.post("/v2/bot/message/push", headers=headers, json={"to": to, "messages": [text(message)]})


def test_status_fault_answers_and_does_not_deliver(client: TestClient) -> None:
    user_id = new_pupil(client)
    added = client.post("/emulator/faults", json={"endpoint": "push", "status": 500, "count": 2})
    assert added.json()["faults"] == [{"endpoint": "push", "status": 500, "delay_seconds": None, "count": 2}]

    key = str(uuid.uuid4())
    first = push(client, user_id, "1", key)
    assert first.status_code == 500 and first.json()["message"]
    assert first.headers["x-line-request-id"]
    assert push(client, user_id, "1", key).status_code == 500
    assert push(client, user_id, "1", key).status_code == 200  # the retry key was never accepted before
    assert [m["text"] for m in chat(client, user_id)["messages"]] == ["1"]
    assert client.get("/emulator/faults").json() == {"faults": []}
    statuses = [c["status"] for c in client.get("/emulator/calls", params={"endpoint": "push"}).json()]
    assert statuses == [500, 500, 200]


def test_fault_only_hits_its_endpoint(client: TestClient) -> None:
    user_id = new_pupil(client)
    client.post("/emulator/faults", json={"endpoint": "reply", "status": 429})
    assert push(client, user_id, "push").status_code == 200
    token = send(client, user_id, "text", text="x")["reply_token"]
    body = {"replyToken": token, "messages": [text("y")]}
    assert client.post("/v2/bot/message/reply", headers=auth(), json=body).status_code == 429
    # The reply token was not used up by the failed call.
    assert client.post("/v2/bot/message/reply", headers=auth(), json=body).status_code == 200


def test_any_fault_and_clearing(client: TestClient) -> None:
    user_id = new_pupil(client)
    client.post("/emulator/faults", json={"endpoint": "any", "status": 503, "count": 5})
    loading = client.post("/v2/bot/chat/loading/start", headers=auth(), json={"chatId": user_id})
    assert loading.status_code == 503
    assert client.delete("/emulator/faults").json() == {"faults": []}
    assert push(client, user_id, "ok").status_code == 200


def test_fault_request_validation(client: TestClient) -> None:
    assert client.post("/emulator/faults", json={"endpoint": "push", "count": 1}).status_code == 422
    assert client.post("/emulator/faults", json={"endpoint": "nowhere", "status": 500}).status_code == 422
    assert client.post("/emulator/faults", json={"endpoint": "push", "status": 200}).status_code == 422


def test_delay_fault_still_delivers(client: TestClient) -> None:
    user_id = new_pupil(client)
    client.post("/emulator/faults", json={"endpoint": "push", "delay_seconds": 0.3, "count": 1})
    started = time.perf_counter()
    assert push(client, user_id, "おそい").status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    assert push(client, user_id, "はやい").status_code == 200
    assert time.perf_counter() - started < 0.3


def test_slow_line_then_retry_with_same_key_gets_409(server: EmulatorServer) -> None:
    """Koe gives up waiting, retries with the same key: delivered once, the retry sees 409."""
    with httpx.Client(base_url=server.url, trust_env=False) as http:
        user_id = http.post("/emulator/users", json={"desk": "youth"}).json()["user_id"]
        http.post("/emulator/send", json={"desk": "youth", "user_id": user_id, "type": "follow"})
        http.post("/emulator/faults", json={"endpoint": "push", "delay_seconds": 0.4, "count": 1})
        key = str(uuid.uuid4())
        with pytest.raises(httpx.ReadTimeout):
            http.post(
                "/v2/bot/message/push",
                headers={**auth(), "X-Line-Retry-Key": key},
                json={"to": user_id, "messages": [text("一度だけ")]},
                timeout=0.1,
            )
        time.sleep(0.5)  # the slow request finishes on the emulator's side
        retry = push(http, user_id, "一度だけ", key)
        assert retry.status_code == 409
        messages = http.get(f"/emulator/chats/youth/{user_id}").json()["messages"]
        assert [m["text"] for m in messages] == ["一度だけ"]
