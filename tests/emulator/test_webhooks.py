"""Webhooks the emulator sends to Koe for what a pupil does."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import (
    FileMessageContent,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    JoinEvent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
)

from line_emulator import ChannelConfig, EmulatorConfig, create_app

from .helpers import WebhookReceiver, chat, new_pupil, send

ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
USER_ID = re.compile(r"^U[0-9a-f]{32}$")


def test_follow_webhook_is_signed_and_shaped_like_line(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client, follow=False)
    assert USER_ID.match(user_id)
    result = send(client, user_id, "follow")
    assert result["status"] == 200

    webhook = receiver.last
    assert webhook.desk == "youth"
    assert webhook.signature_ok
    assert webhook.headers["content-type"] == "application/json; charset=utf-8"
    assert webhook.headers["user-agent"] == "LineBotWebhook/2.0"
    assert USER_ID.match(webhook.payload["destination"])

    event = webhook.event
    assert event["type"] == "follow"
    assert event["mode"] == "active"
    assert event["source"] == {"type": "user", "userId": user_id}
    assert ULID.match(event["webhookEventId"]) and event["webhookEventId"] == result["webhook_event_id"]
    assert event["deliveryContext"] == {"isRedelivery": False}
    assert re.fullmatch(r"[0-9a-f]{32}", event["replyToken"]) and event["replyToken"] == result["reply_token"]
    assert event["follow"] == {"isUnblocked": False}
    assert isinstance(event["timestamp"], int)

    (parsed,) = webhook.parse()
    assert isinstance(parsed, FollowEvent)


def test_each_desk_signs_with_its_own_secret(client: TestClient, receiver: WebhookReceiver) -> None:
    youth = new_pupil(client, "youth")
    resident = new_pupil(client, "resident")
    assert receiver.received[-2].desk == "youth" and receiver.received[-1].desk == "resident"
    assert all(w.signature_ok for w in receiver.received)
    assert receiver.received[-2].payload["destination"] != receiver.received[-1].payload["destination"]
    assert youth != resident


def test_message_events(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)

    result = send(client, user_id, "text", text="ねむれないです\n相談したい")
    (event,) = receiver.last.parse()
    assert isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent)
    assert event.message.text == "ねむれないです\n相談したい"
    assert event.message.id == result["message_id"] and event.message.id.isdigit()
    assert event.message.quote_token and event.message.mark_as_read_token
    assert event.reply_token == result["reply_token"]

    send(client, user_id, "sticker")
    message = receiver.last.event["message"]
    assert {k: message[k] for k in ("packageId", "stickerId", "stickerResourceType")} == {
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
    }
    assert isinstance(receiver.last.parse()[0].message, StickerMessageContent)

    send(client, user_id, "image")
    assert receiver.last.event["message"]["contentProvider"] == {"type": "line"}
    assert isinstance(receiver.last.parse()[0].message, ImageMessageContent)

    send(client, user_id, "video", duration=3000)
    assert receiver.last.event["message"]["duration"] == 3000
    send(client, user_id, "audio")
    assert receiver.last.event["message"]["type"] == "audio" and "duration" in receiver.last.event["message"]
    send(client, user_id, "file", file_name="しゅくだい.pdf", file_size=1234)
    file_message = receiver.last.parse()[0].message
    assert isinstance(file_message, FileMessageContent)
    assert (file_message.file_name, file_message.file_size) == ("しゅくだい.pdf", 1234)

    ids = [w.event["webhookEventId"] for w in receiver.received]
    assert len(set(ids)) == len(ids)
    types = [m["type"] for m in chat(client, user_id)["messages"]]
    assert types == ["text", "sticker", "image", "video", "audio", "file"]


def test_postback_with_display_text(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    count = len(receiver.received)
    result = send(client, user_id, "postback", data="topic=school", display_text="学校のこと")
    assert len(receiver.received) == count + 1  # only the postback event, no message event
    (event,) = receiver.last.parse()
    assert isinstance(event, PostbackEvent)
    assert event.postback.data == "topic=school"
    assert event.reply_token == result["reply_token"]
    assert "message_id" not in result
    (shown,) = chat(client, user_id)["messages"]
    assert (shown["from"], shown["type"], shown["text"]) == ("user", "text", "学校のこと")

    send(client, user_id, "postback", data="silent=1")
    assert len(chat(client, user_id)["messages"]) == 1


def test_unsend_unfollow_and_unblock(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    message_id = send(client, user_id, "text", text="やっぱりなし")["message_id"]
    result = send(client, user_id, "unsend", message_id=message_id)
    assert "reply_token" not in result
    (event,) = receiver.last.parse()
    assert isinstance(event, UnsendEvent) and event.unsend.message_id == message_id
    assert chat(client, user_id)["messages"][0]["unsent"] is True

    send(client, user_id, "unfollow")
    (unfollow,) = receiver.last.parse()
    assert isinstance(unfollow, UnfollowEvent)
    assert "replyToken" not in receiver.last.event
    assert chat(client, user_id)["blocked"] is True

    send(client, user_id, "follow")
    assert receiver.last.event["follow"] == {"isUnblocked": True}
    assert chat(client, user_id)["following"] is True


def test_standby_mode_has_no_reply_token(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    result = send(client, user_id, "text", text="x", mode="standby")
    assert receiver.last.event["mode"] == "standby"
    assert "replyToken" not in receiver.last.event
    assert "reply_token" not in result


def test_redelivery_keeps_the_event_id(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    first = send(client, user_id, "text", text="とどいた？")
    original = receiver.last.event
    response = client.post("/emulator/redeliver", json={"webhook_event_id": first["webhook_event_id"]})
    assert response.status_code == 200 and response.json()["status"] == 200
    again = receiver.last.event
    assert receiver.last.signature_ok
    assert again["webhookEventId"] == original["webhookEventId"]
    assert again["deliveryContext"] == {"isRedelivery": True}
    assert again["message"] == original["message"]
    assert again["timestamp"] == original["timestamp"]
    assert client.post("/emulator/redeliver", json={"webhook_event_id": "0" * 26}).status_code == 404
    deliveries = client.get("/emulator/deliveries").json()
    assert deliveries[-1]["is_redelivery"] is True


def test_bad_signature(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    result = send(client, user_id, "text", text="x", bad_signature=True)
    assert result["status"] == 400  # the receiver rejects it, as Koe must
    assert not receiver.last.signature_ok
    with pytest.raises(InvalidSignatureError):
        receiver.last.parse()
    assert client.get("/emulator/deliveries").json()[-1]["signature_valid"] is False


def test_group_source_and_join(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    joined = send(client, user_id, "join", source_type="group", group_id="C" + "a" * 32)
    (event,) = receiver.last.parse()
    assert isinstance(event, JoinEvent)
    assert receiver.last.event["source"] == {"type": "group", "groupId": "C" + "a" * 32}
    assert joined["chat_id"] == "C" + "a" * 32

    send(client, user_id, "text", text="みんなへ", source_type="group", group_id="C" + "a" * 32)
    (message,) = receiver.last.parse()
    assert isinstance(message.source, GroupSource)
    assert message.source.user_id == user_id
    group_log = chat(client, "C" + "a" * 32)["messages"]
    assert group_log[0]["text"] == "みんなへ" and group_log[0]["user_id"] == user_id
    assert chat(client, user_id)["messages"] == []


def test_koe_status_is_recorded(client: TestClient, receiver: WebhookReceiver) -> None:
    user_id = new_pupil(client)
    receiver.status = 500
    result = send(client, user_id, "text", text="x")
    assert result["status"] == 500
    assert isinstance(result["latency_ms"], float)
    delivery = client.get("/emulator/deliveries").json()[-1]
    assert (delivery["status"], delivery["event_type"], delivery["webhook_event_id"]) == (
        500,
        "message",
        result["webhook_event_id"],
    )


def test_unreachable_webhook(receiver: WebhookReceiver) -> None:
    config = EmulatorConfig(channels=(ChannelConfig("youth", "s", "t", "http://127.0.0.1:9/nowhere"),))
    with TestClient(create_app(config)) as client:
        user_id = client.post("/emulator/users", json={"desk": "youth"}).json()["user_id"]
        result = client.post(
            "/emulator/send", json={"desk": "youth", "user_id": user_id, "type": "follow"}
        ).json()
        assert result["status"] is None
        assert result["error"]


def test_verify_webhook_sends_empty_events(client: TestClient, receiver: WebhookReceiver) -> None:
    response = client.post("/emulator/verify-webhook", json={"desk": "resident"})
    assert response.json()["status"] == 200
    assert receiver.last.payload["events"] == []
    assert receiver.last.signature_ok


def test_control_api_rejects_bad_requests(client: TestClient) -> None:
    assert client.post("/emulator/users", json={"desk": "nowhere"}).status_code == 404
    user_id = new_pupil(client)
    base = {"desk": "youth", "user_id": user_id}
    assert client.post("/emulator/send", json={**base, "type": "text"}).status_code == 422
    assert client.post("/emulator/send", json={**base, "type": "postback"}).status_code == 422
    assert client.post("/emulator/send", json={**base, "type": "unsend"}).status_code == 422
    assert client.post("/emulator/send", json={**base, "type": "dance"}).status_code == 422
    assert client.post("/emulator/send", json={**base, "type": "join"}).status_code == 422
    assert client.post("/emulator/send", json={**base, "user_id": "U0", "type": "follow"}).status_code == 404
    assert client.get("/emulator/chats/youth/U0").status_code == 404
