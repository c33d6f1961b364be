"""The Messaging API endpoints, driven directly over HTTP (no SDK)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from .helpers import auth, chat, new_pupil, send, text


def reply(client: TestClient, token: str, messages: list[dict[str, Any]], desk: str = "youth") -> Any:
    return client.post(
        "/v2/bot/message/reply", headers=auth(desk), json={"replyToken": token, "messages": messages}
    )


def push(client: TestClient, to: str, messages: list[dict[str, Any]], **headers: str) -> Any:
    return client.post(
        "/v2/bot/message/push", headers={**auth(), **headers}, json={"to": to, "messages": messages}
    )


def test_missing_or_unknown_token_is_401_with_line_error(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic youth-access-token"}):
        response = client.post("/v2/bot/message/push", headers=headers, json={"to": "U0", "messages": []})
        assert response.status_code == 401
        assert response.json()["message"].startswith("Authentication failed")
        assert uuid.UUID(response.headers["x-line-request-id"])


def test_every_response_has_a_fresh_request_id(client: TestClient) -> None:
    first = client.post("/v2/bot/chat/markAsRead", headers=auth(), json={"markAsReadToken": "x"})
    second = client.get("/emulator/calls")
    assert first.headers["x-line-request-id"] != second.headers["x-line-request-id"]


def test_reply_delivers_once_then_token_is_invalid(client: TestClient) -> None:
    user_id = new_pupil(client)
    token = send(client, user_id, "text", text="はじめまして")["reply_token"]
    response = reply(
        client, token, [text("こんにちは"), {"type": "sticker", "packageId": "446", "stickerId": "1988"}]
    )
    assert response.status_code == 200
    sent = response.json()["sentMessages"]
    assert len(sent) == 2 and all(entry["id"].isdigit() and entry["quoteToken"] for entry in sent)

    again = reply(client, token, [text("もう一度")])
    assert again.status_code == 400
    assert again.json() == {"message": "Invalid reply token"}

    log = chat(client, user_id)["messages"]
    assert [(m["from"], m["type"], m.get("text"), m["sent_via"]) for m in log] == [
        ("user", "text", "はじめまして", None),
        ("bot", "text", "こんにちは", "reply"),
        ("bot", "sticker", None, "reply"),
    ]


def test_reply_token_from_follow_event_works(client: TestClient) -> None:
    user_id = new_pupil(client, follow=False)
    token = send(client, user_id, "follow")["reply_token"]
    assert reply(client, token, [text("友だち追加ありがとう")]).status_code == 200


def test_unknown_foreign_and_expired_reply_tokens_are_invalid(client: TestClient) -> None:
    assert reply(client, "0" * 32, [text("x")]).json() == {"message": "Invalid reply token"}

    user_id = new_pupil(client)
    token = send(client, user_id, "text", text="a")["reply_token"]
    # A token issued for the youth channel cannot be used with the resident channel's access token.
    assert reply(client, token, [text("x")], desk="resident").status_code == 400
    assert reply(client, token, [text("x")]).status_code == 200

    settings = client.post("/emulator/settings", json={"reply_token_ttl_seconds": 0})
    assert settings.json()["reply_token_ttl_seconds"] == 0
    expired = send(client, user_id, "text", text="b")["reply_token"]
    response = reply(client, expired, [text("x")])
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid reply token"}


def test_message_validation_answers_400_with_details(client: TestClient) -> None:
    user_id = new_pupil(client)
    cases: list[tuple[list[Any], str]] = [
        ([], "messages"),
        ([text("x")] * 6, "messages"),
        ([text("")], "messages[0].text"),
        ([text("あ" * 5001)], "messages[0].text"),
        ([text("😀" * 2501)], "messages[0].text"),  # emoji count twice, as on LINE
        ([{"type": "sticker", "packageId": "446"}], "messages[0].stickerId"),
        (
            [{"type": "image", "originalContentUrl": "https://example.com/a.png"}],
            "messages[0].previewImageUrl",
        ),
        (
            [{"type": "video", "originalContentUrl": "http://x/a.mp4", "previewImageUrl": "https://x/a.png"}],
            "messages[0].originalContentUrl",
        ),
        ([{"type": "audio", "originalContentUrl": "https://x/a.m4a"}], "messages[0].duration"),
        ([{"type": "hologram"}], "messages[0].type"),
    ]
    for messages, prop in cases:
        response = push(client, user_id, messages)
        assert response.status_code == 400, (messages, response.text)
        body = response.json()
        assert body["message"].startswith("The request body has")
        assert prop in [detail["property"] for detail in body["details"]], body

    assert push(client, user_id, [text("😀" * 2500)]).status_code == 200


def quick(*actions: dict[str, Any]) -> dict[str, Any]:
    return text(
        "えらんでね", quickReply={"items": [{"type": "action", "action": action} for action in actions]}
    )


def test_quick_reply_validation(client: TestClient) -> None:
    user_id = new_pupil(client)
    postback = {"type": "postback", "label": "はい", "data": "answer=yes", "displayText": "はい"}
    message = {"type": "message", "label": "いいえ", "text": "いいえ"}
    assert push(client, user_id, [quick(postback, message)]).status_code == 200

    bad: list[tuple[dict[str, Any], str]] = [
        (quick(*[postback] * 14), "messages[0].quickReply.items"),
        (quick({**postback, "label": "あ" * 21}), "messages[0].quickReply.items[0].action.label"),
        (quick({**postback, "data": "x" * 301}), "messages[0].quickReply.items[0].action.data"),
        (quick({"type": "postback", "label": "a"}), "messages[0].quickReply.items[0].action.data"),
        (quick({"type": "message", "label": "a"}), "messages[0].quickReply.items[0].action.text"),
        (quick({"type": "teleport", "label": "a"}), "messages[0].quickReply.items[0].action.type"),
        (
            text("x", quickReply={"items": [{"type": "button", "action": postback}]}),
            "messages[0].quickReply.items[0].type",
        ),
    ]
    for message, prop in bad:
        response = push(client, user_id, [message])
        assert response.status_code == 400
        assert prop in [detail["property"] for detail in response.json()["details"]], response.json()

    last = chat(client, user_id)["messages"][-1]
    assert last["quick_reply"] == [
        {"type": "postback", "label": "はい", "data": "answer=yes", "display_text": "はい"},
        {"type": "message", "label": "いいえ", "text": "いいえ"},
    ]


def test_push_to_unknown_user_fails(client: TestClient) -> None:
    response = push(client, "U" + "0" * 32, [text("x")])
    assert response.status_code == 400
    assert response.json() == {"message": "Failed to send messages"}
    # A pupil of the other desk is unknown to this channel too.
    other = new_pupil(client, desk="resident")
    assert push(client, other, [text("x")]).status_code == 400


def test_push_retry_key_is_accepted_once(client: TestClient) -> None:
    user_id = new_pupil(client)
    key = str(uuid.uuid4())
    first = push(client, user_id, [text("お返事です")], **{"X-Line-Retry-Key": key})
    assert first.status_code == 200
    again = push(client, user_id, [text("お返事です")], **{"X-Line-Retry-Key": key})
    assert again.status_code == 409
    assert again.json() == {
        "message": "The retry key is already accepted",
        "sentMessages": first.json()["sentMessages"],
    }
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert [m["text"] for m in chat(client, user_id)["messages"]] == ["お返事です"]

    # The same key on the other channel is a different request.
    other = new_pupil(client, desk="resident")
    response = client.post(
        "/v2/bot/message/push",
        headers={**auth("resident"), "X-Line-Retry-Key": key},
        json={"to": other, "messages": [text("x")]},
    )
    assert response.status_code == 200

    calls = client.get("/emulator/calls", params={"endpoint": "push"}).json()
    assert [(c["status"], c["retry_key"]) for c in calls] == [(200, key), (409, key), (200, key)]


def test_push_retry_key_must_be_a_uuid(client: TestClient) -> None:
    user_id = new_pupil(client)
    response = push(client, user_id, [text("x")], **{"X-Line-Retry-Key": "not-a-uuid"})
    assert response.status_code == 400
    assert chat(client, user_id)["messages"] == []


def test_push_to_blocked_pupil_is_accepted_but_not_shown(client: TestClient) -> None:
    user_id = new_pupil(client)
    send(client, user_id, "unfollow")
    assert push(client, user_id, [text("届かない")]).status_code == 200
    view = chat(client, user_id)
    assert view["blocked"] is True
    assert view["messages"] == []
    assert [m["text"] for m in view["undelivered_messages"]] == ["届かない"]


def test_loading_indicator_until_the_bot_speaks(client: TestClient) -> None:
    user_id = new_pupil(client)
    response = client.post(
        "/v2/bot/chat/loading/start", headers=auth(), json={"chatId": user_id, "loadingSeconds": 10}
    )
    assert response.status_code == 202
    assert response.json() == {}
    assert chat(client, user_id)["loading"] is True
    assert push(client, user_id, [text("おまたせ")]).status_code == 200
    assert chat(client, user_id)["loading"] is False

    default = client.post("/v2/bot/chat/loading/start", headers=auth(), json={"chatId": user_id})
    assert default.status_code == 202
    for seconds in (0, 3, 65, 12, "20", True):
        bad = client.post(
            "/v2/bot/chat/loading/start", headers=auth(), json={"chatId": user_id, "loadingSeconds": seconds}
        )
        assert bad.status_code == 400, seconds
        assert bad.json()["details"][0]["property"] == "loadingSeconds"


def test_loading_indicator_expires(client: TestClient) -> None:
    user_id = new_pupil(client)
    client.post("/v2/bot/chat/loading/start", headers=auth(), json={"chatId": user_id, "loadingSeconds": 5})
    state = client.app.state.emulator  # type: ignore[attr-defined]
    state.chats[("youth", user_id)].loading_until = state.clock() - 0.01
    assert chat(client, user_id)["loading"] is False


def test_mark_as_read_marks_messages_up_to_the_token(client: TestClient) -> None:
    user_id = new_pupil(client)
    first = send(client, user_id, "text", text="1つめ")
    second = send(client, user_id, "text", text="2つめ")
    send(client, user_id, "text", text="3つめ")
    token = client.app.state.emulator.get_chat("youth", user_id).messages[1].mark_as_read_token  # type: ignore[attr-defined]
    assert first["message_id"] != second["message_id"]

    response = client.post("/v2/bot/chat/markAsRead", headers=auth(), json={"markAsReadToken": token})
    assert response.status_code == 200
    assert response.json() == {}
    assert [m["read"] for m in chat(client, user_id)["messages"]] == [True, True, False]

    unknown = client.post("/v2/bot/chat/markAsRead", headers=auth(), json={"markAsReadToken": "nope"})
    assert unknown.status_code == 400
    foreign = client.post(
        "/v2/bot/chat/markAsRead", headers=auth("resident"), json={"markAsReadToken": token}
    )
    assert foreign.status_code == 400


def test_leave_group_and_room(client: TestClient) -> None:
    user_id = new_pupil(client)
    group_id = send(client, user_id, "join", source_type="group")["chat_id"]
    assert group_id.startswith("C")
    response = client.post(f"/v2/bot/group/{group_id}/leave", headers=auth())
    assert (response.status_code, response.json()) == (200, {})
    assert chat(client, group_id)["bot_left"] is True
    room = client.post("/v2/bot/room/R0123/leave", headers=auth())
    assert (room.status_code, room.json()) == (200, {})
    calls = client.get("/emulator/calls", params={"endpoint": "leave"}).json()
    assert [c["target"] for c in calls] == [group_id, "R0123"]


def test_profile_api_is_forbidden_and_counted(client: TestClient) -> None:
    assert client.get("/emulator/calls/profile-count").json() == {"count": 0}
    user_id = new_pupil(client)
    response = client.get(f"/v2/bot/profile/{user_id}", headers=auth())
    assert response.status_code == 403
    assert response.json() == {"message": "Koe must never call the profile API"}
    assert client.get("/emulator/calls/profile-count").json() == {"count": 1}


def test_unknown_endpoint_is_404_and_logged(client: TestClient) -> None:
    response = client.post("/v2/bot/message/broadcast", headers=auth(), json={"messages": [text("x")]})
    assert response.status_code == 404
    assert client.get("/emulator/calls").json()[-1]["endpoint"] == "unknown"


def test_malformed_json_body(client: TestClient) -> None:
    response = client.post(
        "/v2/bot/message/push", headers={**auth(), "Content-Type": "application/json"}, content=b"{nope"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]


def test_apps_do_not_share_state(client: TestClient, config: Any) -> None:
    from line_emulator import create_app

    user_id = new_pupil(client)
    with TestClient(create_app(config)) as other:
        assert other.get(f"/emulator/chats/youth/{user_id}").status_code == 404
        assert other.get("/emulator/calls").json() == []
