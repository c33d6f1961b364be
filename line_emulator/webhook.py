"""The emulator playing the LINE platform towards Koe: build, sign and post webhooks."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import orjson

from line_emulator.config import ChannelConfig
from line_emulator.ids import new_group_id, new_room_id, new_webhook_event_id
from line_emulator.state import Chat, DeliveryRecord, EmulatorState

__all__ = [
    "ActionError",
    "Delivery",
    "PupilAction",
    "WebhookSender",
    "build_event",
    "sign",
]

USER_AGENT = "LineBotWebhook/2.0"
ActionType = Literal[
    "follow", "unfollow", "text", "sticker", "image", "video", "audio", "file", "postback", "unsend", "join"
]
SourceType = Literal["user", "group", "room"]
DEFAULT_STICKER = ("446", "1988")
_MESSAGE_TYPES = frozenset({"text", "sticker", "image", "video", "audio", "file"})


class ActionError(ValueError):
    """The requested pupil action cannot be turned into a webhook event."""


def sign(channel_secret: str, body: bytes) -> str:
    """The ``X-Line-Signature`` value: base64 of HMAC-SHA256 of the raw body."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class PupilAction:
    """Something a pupil does in the LINE app, which LINE reports to the bot as an event."""

    type: ActionType
    text: str | None = None
    data: str | None = None
    display_text: str | None = None
    message_id: str | None = None
    mode: Literal["active", "standby"] = "active"
    is_unblocked: bool | None = None
    source_type: SourceType = "user"
    group_id: str | None = None
    package_id: str | None = None
    sticker_id: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    duration: int | None = None


@dataclass(frozen=True)
class BuiltEvent:
    event: dict[str, Any]
    chat: Chat
    message_id: str | None
    reply_token: str | None


def _check(action: PupilAction) -> None:
    if action.type == "text" and not action.text:
        raise ActionError("text を指定してください (type=text)")
    if action.type == "postback" and action.data is None:
        raise ActionError("data を指定してください (type=postback)")
    if action.type == "unsend" and not action.message_id:
        raise ActionError("message_id を指定してください (type=unsend)")
    if action.type in ("follow", "unfollow") and action.source_type != "user":
        raise ActionError("follow / unfollow は source_type=user のときだけ送れます")
    if action.type == "join" and action.source_type == "user":
        raise ActionError("join は source_type=group または room のときだけ送れます")


def build_event(state: EmulatorState, pupil: Chat, action: PupilAction) -> BuiltEvent:
    """Turn a pupil action into a LINE webhook event, updating the emulator's records.

    The pupil's own chat log is updated as the LINE app would show it (for example the
    display text of a tapped postback button appears as the pupil's message).
    """
    _check(action)
    with state.lock:
        chat = pupil
        source: dict[str, Any] = {"type": "user", "userId": pupil.chat_id}
        if action.source_type == "group":
            group_id = action.group_id or new_group_id()
            chat = state.ensure_chat(pupil.desk, group_id, "group")
            source = {"type": "group", "groupId": group_id, "userId": pupil.chat_id}
        elif action.source_type == "room":
            room_id = action.group_id or new_room_id()
            chat = state.ensure_chat(pupil.desk, room_id, "room")
            source = {"type": "room", "roomId": room_id, "userId": pupil.chat_id}
        if action.type == "join":
            # LINE's join event names only the group or room, not who added the bot.
            source.pop("userId")
            chat.bot_left = False

        # In group and room logs, note which pupil spoke.
        speaker = {} if chat is pupil else {"user_id": pupil.chat_id}
        timestamp = int(time.time() * 1000)
        event: dict[str, Any] = {
            "type": "message" if action.type in _MESSAGE_TYPES else action.type,
            "mode": action.mode,
            "timestamp": timestamp,
            "source": source,
            "webhookEventId": new_webhook_event_id(timestamp),
            "deliveryContext": {"isRedelivery": False},
        }
        message_id: str | None = None
        replyable = action.type in ("follow", "join") or (
            action.type in _MESSAGE_TYPES | {"postback"} and action.mode == "active"
        )

        if action.type == "follow":
            is_unblocked = pupil.has_followed if action.is_unblocked is None else action.is_unblocked
            pupil.following = True
            pupil.has_followed = True
            event["follow"] = {"isUnblocked": is_unblocked}
        elif action.type == "unfollow":
            pupil.following = False
            pupil.loading_until = None
        elif action.type == "postback":
            event["postback"] = {"data": action.data}
            if action.display_text:
                state.add_user_message(
                    chat,
                    "text",
                    text=action.display_text,
                    with_read_token=False,
                    extra={"postback_data": action.data, **speaker},
                )
        elif action.type == "unsend":
            assert action.message_id is not None
            event["unsend"] = {"messageId": action.message_id}
            target = state.find_user_message(chat, action.message_id)
            if target is not None:
                target.unsent = True
        elif action.type in _MESSAGE_TYPES:
            content, extra, text = _message_content(action)
            stored = state.add_user_message(chat, action.type, text=text, extra={**extra, **speaker})
            message_id = stored.id
            event["message"] = {"id": stored.id, **content, "markAsReadToken": stored.mark_as_read_token}
            if action.type in ("text", "sticker", "image", "video"):
                event["message"]["quoteToken"] = state.ids.quote_token()

        reply_token: str | None = None
        if replyable:
            reply_token = state.issue_reply_token(chat)
            # LINE's own examples list replyToken first; key order carries no meaning.
            event = {"replyToken": reply_token, **event}
        return BuiltEvent(event=event, chat=chat, message_id=message_id, reply_token=reply_token)


def _message_content(action: PupilAction) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The ``message`` object of a message event, extra chat-log fields, and the text."""
    kind = action.type
    if kind == "text":
        return {"type": "text", "text": action.text}, {}, action.text
    if kind == "sticker":
        package_id = action.package_id or DEFAULT_STICKER[0]
        sticker_id = action.sticker_id or DEFAULT_STICKER[1]
        content: dict[str, Any] = {
            "type": "sticker",
            "packageId": package_id,
            "stickerId": sticker_id,
            "stickerResourceType": "STATIC",
        }
        return content, {"package_id": package_id, "sticker_id": sticker_id}, None
    if kind == "image":
        return {"type": "image", "contentProvider": {"type": "line"}}, {}, None
    if kind in ("video", "audio"):
        duration = action.duration if action.duration is not None else 10_000
        media: dict[str, Any] = {"type": kind, "duration": duration, "contentProvider": {"type": "line"}}
        return media, {"duration": duration}, None
    file_name = action.file_name or "document.pdf"
    file_size = action.file_size if action.file_size is not None else 2048
    file: dict[str, Any] = {"type": "file", "fileName": file_name, "fileSize": file_size}
    return file, {"file_name": file_name, "file_size": file_size}, None


@dataclass(frozen=True)
class Delivery:
    status: int | None
    latency_ms: float
    error: str | None


class WebhookSender:
    """Posts webhook bodies to Koe the way the LINE platform does."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        # One TLS context for the app: building it is the slow part of making a client.
        self._ssl_context = ssl.create_default_context()

    def body(self, desk: str, events: list[dict[str, Any]]) -> bytes:
        payload = {"destination": self._state.bot_user_ids[desk], "events": events}
        return orjson.dumps(payload)

    async def deliver_event(
        self, channel: ChannelConfig, event: dict[str, Any], *, bad_signature: bool = False
    ) -> Delivery:
        body = self.body(channel.desk, [event])
        return await self.post(
            channel,
            body,
            webhook_event_id=event["webhookEventId"],
            event_type=event["type"],
            is_redelivery=bool(event["deliveryContext"]["isRedelivery"]),
            bad_signature=bad_signature,
        )

    async def redeliver(
        self, channel: ChannelConfig, event: dict[str, Any], *, bad_signature: bool
    ) -> Delivery:
        again = copy.deepcopy(event)
        again["deliveryContext"] = {"isRedelivery": True}
        return await self.deliver_event(channel, again, bad_signature=bad_signature)

    async def post(
        self,
        channel: ChannelConfig,
        body: bytes,
        *,
        webhook_event_id: str | None,
        event_type: str | None,
        is_redelivery: bool,
        bad_signature: bool,
    ) -> Delivery:
        secret = channel.channel_secret + ("-not-the-secret" if bad_signature else "")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Line-Signature": sign(secret, body),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with httpx.AsyncClient(
                timeout=self._state.webhook_timeout_seconds, trust_env=False, verify=self._ssl_context
            ) as client:
                response = await client.post(channel.webhook_url, content=body, headers=headers)
            status = response.status_code
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        self._state.record_delivery(
            DeliveryRecord(
                webhook_event_id=webhook_event_id,
                desk=channel.desk,
                event_type=event_type,
                is_redelivery=is_redelivery,
                signature_valid=not bad_signature,
                status=status,
                latency_ms=latency_ms,
                at=datetime.now(UTC),
                error=error,
            )
        )
        return Delivery(status=status, latency_ms=latency_ms, error=error)
