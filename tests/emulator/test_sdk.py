"""The official line-bot-sdk v3, pointed at a real emulator server, works unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent

from line_emulator import EmulatorServer

from .helpers import TOKENS, ReceivedWebhook, WebhookReceiver


@pytest.fixture
def line_api(server: EmulatorServer) -> Iterator[MessagingApi]:
    configuration = Configuration(host=server.url, access_token=TOKENS["youth"])
    with ApiClient(configuration) as api_client:
        yield MessagingApi(api_client)


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        yield client


def new_pupil(http: httpx.Client) -> str:
    user_id: str = http.post("/emulator/users", json={"desk": "youth"}).json()["user_id"]
    followed = http.post("/emulator/send", json={"desk": "youth", "user_id": user_id, "type": "follow"})
    assert followed.json()["status"] == 200
    return user_id


def messages_of(http: httpx.Client, user_id: str) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = http.get(f"/emulator/chats/youth/{user_id}").json()["messages"]
    return messages


def test_reply_from_inside_the_webhook(
    server: EmulatorServer, receiver: WebhookReceiver, line_api: MessagingApi, http: httpx.Client
) -> None:
    """Like Koe: while handling the webhook, show loading, mark as read and reply through the SDK."""

    def koe(webhook: ReceivedWebhook) -> None:
        for event in webhook.parse():
            if isinstance(event, MessageEvent):
                line_api.show_loading_animation(
                    ShowLoadingAnimationRequest(chat_id=event.source.user_id, loading_seconds=5)
                )
                line_api.mark_messages_as_read_by_token(
                    MarkMessagesAsReadByTokenRequest(mark_as_read_token=event.message.mark_as_read_token)
                )
                talk = PostbackAction(label="はなしたい", data="talk=yes", display_text="はなしたい")
                quick_reply = QuickReply(items=[QuickReplyItem(action=talk)])
                response = line_api.reply_message(
                    ReplyMessageRequest(
                        reply_token=event.reply_token,
                        messages=[TextMessage(text="おしえてくれてありがとう", quick_reply=quick_reply)],
                    )
                )
                assert response.sent_messages[0].id.isdigit()

    user_id = new_pupil(http)
    receiver.on_webhook = koe
    result = http.post(
        "/emulator/send", json={"desk": "youth", "user_id": user_id, "type": "text", "text": "きいてほしい"}
    ).json()
    assert result["status"] == 200
    assert receiver.errors == []

    view = http.get(f"/emulator/chats/youth/{user_id}").json()
    assert view["loading"] is False  # cleared by the reply
    pupil, bot = view["messages"]
    assert (pupil["text"], pupil["read"]) == ("きいてほしい", True)
    assert (bot["text"], bot["sent_via"]) == ("おしえてくれてありがとう", "reply")
    assert bot["quick_reply"] == [
        {"type": "postback", "label": "はなしたい", "data": "talk=yes", "display_text": "はなしたい"}
    ]
    endpoints = [(c["endpoint"], c["status"]) for c in http.get("/emulator/calls").json()]
    assert endpoints == [("loading", 202), ("markAsRead", 200), ("reply", 200)]


def test_used_reply_token_raises_400(line_api: MessagingApi, http: httpx.Client) -> None:
    user_id = new_pupil(http)
    token = http.post(
        "/emulator/send", json={"desk": "youth", "user_id": user_id, "type": "text", "text": "a"}
    ).json()["reply_token"]
    line_api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="1")]))
    with pytest.raises(ApiException) as caught:
        line_api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="2")]))
    assert caught.value.status == 400
    assert "Invalid reply token" in caught.value.body


def test_push_with_retry_key_then_409(line_api: MessagingApi, http: httpx.Client) -> None:
    user_id = new_pupil(http)
    key = str(uuid.uuid4())
    request = PushMessageRequest(to=user_id, messages=[TextMessage(text="相談員からのお返事です")])
    response = line_api.push_message_with_http_info(request, x_line_retry_key=key)
    assert response.status_code == 200
    first_request_id = response.headers["x-line-request-id"]
    with pytest.raises(ApiException) as caught:
        line_api.push_message(request, x_line_retry_key=key)
    assert caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == first_request_id
    assert [m["text"] for m in messages_of(http, user_id)] == ["相談員からのお返事です"]


def test_loading_mark_as_read_and_leave(
    server: EmulatorServer, line_api: MessagingApi, http: httpx.Client
) -> None:
    user_id = new_pupil(http)
    line_api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=user_id, loading_seconds=20))
    assert http.get(f"/emulator/chats/youth/{user_id}").json()["loading"] is True

    http.post("/emulator/send", json={"desk": "youth", "user_id": user_id, "type": "text", "text": "a"})
    token = server.state.get_chat("youth", user_id).messages[0].mark_as_read_token  # type: ignore[union-attr]
    line_api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(mark_as_read_token=token))
    assert messages_of(http, user_id)[0]["read"] is True
    with pytest.raises(ApiException) as caught:
        line_api.mark_messages_as_read_by_token(
            MarkMessagesAsReadByTokenRequest(mark_as_read_token="unknown")
        )
    assert caught.value.status == 400

    line_api.leave_group("C" + "1" * 32)
    line_api.leave_room("R" + "2" * 32)


def test_profile_raises_and_is_counted(line_api: MessagingApi, http: httpx.Client) -> None:
    with pytest.raises(ApiException) as caught:
        line_api.get_profile("U" + "0" * 32)
    assert caught.value.status == 403
    assert http.get("/emulator/calls/profile-count").json() == {"count": 1}


def test_wrong_access_token_raises_401(server: EmulatorServer) -> None:
    request = PushMessageRequest(to="U0", messages=[TextMessage(text="x")])
    with (
        ApiClient(Configuration(host=server.url, access_token="wrong")) as api_client,
        pytest.raises(ApiException) as caught,
    ):
        MessagingApi(api_client).push_message(request)
    assert caught.value.status == 401
