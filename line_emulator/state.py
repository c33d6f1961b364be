"""In-memory state of one emulator instance: pupils, chat logs, tokens, faults, logs.

All mutation goes through :class:`EmulatorState`, guarded by one re-entrant lock, so the
state stays consistent whether the app runs under uvicorn or a test client's thread.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from line_emulator.config import ChannelConfig, EmulatorConfig
from line_emulator.ids import IdFactory, bot_user_id, new_user_id

__all__ = [
    "DEFAULT_REPLY_TOKEN_TTL_SECONDS",
    "FAULT_ENDPOINTS",
    "RETRY_KEY_LIFETIME_SECONDS",
    "CallRecord",
    "Chat",
    "ChatKind",
    "ChatMessage",
    "DeliveryRecord",
    "EmulatorState",
    "Fault",
    "RetryRecord",
    "iso",
]

DEFAULT_REPLY_TOKEN_TTL_SECONDS = 60.0
RETRY_KEY_LIFETIME_SECONDS = 24 * 60 * 60.0
# Names of Messaging API endpoints, as used in the call log and by faults.
FAULT_ENDPOINTS = ("push", "reply", "loading", "markAsRead", "leave", "profile", "unknown", "any")
# Message types whose sent copy LINE returns a quote token for.
_QUOTABLE_TYPES = frozenset({"text", "sticker", "image", "video"})

ChatKind = Literal["user", "group", "room"]
Sender = Literal["user", "bot"]
SentVia = Literal["reply", "push"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ChatMessage:
    id: str
    sender: Sender
    type: str
    at: datetime
    text: str | None = None
    sent_via: SentVia | None = None
    quick_reply: list[dict[str, Any]] | None = None
    read: bool = False
    unsent: bool = False
    mark_as_read_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "from": self.sender, "type": self.type}
        if self.text is not None:
            data["text"] = self.text
        if self.quick_reply is not None:
            data["quick_reply"] = copy.deepcopy(self.quick_reply)
        data["sent_via"] = self.sent_via
        data["at"] = iso(self.at)
        data["read"] = self.read
        if self.sender == "user":
            data["unsent"] = self.unsent
        data.update(copy.deepcopy(self.extra))
        return data


@dataclass
class Chat:
    """A one-on-one chat with a pupil (``kind == "user"``) or a group/room chat."""

    desk: str
    chat_id: str
    kind: ChatKind
    created_at: datetime
    messages: list[ChatMessage] = field(default_factory=list)
    # Bot messages LINE accepted but never showed (pushed while not a friend / blocked).
    undelivered: list[ChatMessage] = field(default_factory=list)
    loading_until: float | None = None
    following: bool = False
    has_followed: bool = False
    bot_left: bool = False


@dataclass
class ReplyTokenRecord:
    token: str
    desk: str
    chat_id: str
    issued_at: float
    used: bool = False


@dataclass
class RetryRecord:
    desk: str
    key: str
    accepted_at: float
    request_id: str
    sent_messages: list[dict[str, str]]


@dataclass
class Fault:
    endpoint: str
    count: int
    status: int | None = None
    delay_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "status": self.status,
            "delay_seconds": self.delay_seconds,
            "count": self.count,
        }


@dataclass
class CallRecord:
    endpoint: str
    status: int
    at: datetime
    desk: str | None
    request_id: str
    retry_key: str | None = None
    target: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"endpoint": self.endpoint, "status": self.status}
        if self.retry_key is not None:
            data["retry_key"] = self.retry_key
        data["at"] = iso(self.at)
        data["desk"] = self.desk
        data["request_id"] = self.request_id
        if self.target is not None:
            data["target"] = self.target
        return data


@dataclass
class DeliveryRecord:
    webhook_event_id: str | None
    desk: str
    event_type: str | None
    is_redelivery: bool
    signature_valid: bool
    status: int | None
    latency_ms: float
    at: datetime
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "webhook_event_id": self.webhook_event_id,
            "desk": self.desk,
            "event_type": self.event_type,
            "is_redelivery": self.is_redelivery,
            "signature_valid": self.signature_valid,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "at": iso(self.at),
            "error": self.error,
        }


@dataclass
class StoredEvent:
    desk: str
    event: dict[str, Any]


def _quick_reply_buttons(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    quick_reply = message.get("quickReply")
    if not isinstance(quick_reply, dict) or not isinstance(quick_reply.get("items"), list):
        return None
    buttons: list[dict[str, Any]] = []
    for item in quick_reply["items"]:
        action = item.get("action", {})
        button: dict[str, Any] = {"type": action.get("type"), "label": action.get("label")}
        for source, target in (
            ("data", "data"),
            ("text", "text"),
            ("displayText", "display_text"),
            ("uri", "uri"),
        ):
            if action.get(source) is not None:
                button[target] = action[source]
        buttons.append(button)
    return buttons


def _bot_message_extra(message: dict[str, Any]) -> dict[str, Any]:
    kind = message["type"]
    extra: dict[str, Any] = {}
    if kind == "sticker":
        extra = {"package_id": message["packageId"], "sticker_id": message["stickerId"]}
    elif kind in ("image", "video"):
        extra = {
            "original_content_url": message["originalContentUrl"],
            "preview_image_url": message["previewImageUrl"],
        }
    elif kind == "audio":
        extra = {"original_content_url": message["originalContentUrl"], "duration": message["duration"]}
    elif kind == "location":
        extra = {"title": message["title"], "address": message["address"]}
    elif kind in ("flex", "template", "imagemap"):
        extra = {"alt_text": message["altText"]}
    return extra


class EmulatorState:
    """Everything one emulator app remembers. Nothing here is shared between apps."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.ids = IdFactory()
        self.lock = threading.RLock()
        self.channels: dict[str, ChannelConfig] = {channel.desk: channel for channel in config.channels}
        self.bot_user_ids: dict[str, str] = {
            channel.desk: bot_user_id(channel.desk, channel.channel_secret) for channel in config.channels
        }
        self._by_token: dict[str, ChannelConfig] = {
            channel.access_token: channel for channel in config.channels
        }
        self.reply_token_ttl_seconds = DEFAULT_REPLY_TOKEN_TTL_SECONDS
        self.webhook_timeout_seconds = config.webhook_timeout_seconds
        self.chats: dict[tuple[str, str], Chat] = {}
        self.reply_tokens: dict[str, ReplyTokenRecord] = {}
        self.mark_as_read_tokens: dict[str, tuple[str, str, str]] = {}
        self.retry_keys: dict[tuple[str, str], RetryRecord] = {}
        self.faults: list[Fault] = []
        self.calls: list[CallRecord] = []
        self.profile_calls = 0
        self.events: dict[str, StoredEvent] = {}
        self.deliveries: list[DeliveryRecord] = []

    def reset(self) -> None:
        """Forget every pupil, message, token, fault and log entry; restore default settings."""
        with self.lock:
            self.reply_token_ttl_seconds = DEFAULT_REPLY_TOKEN_TTL_SECONDS
            self.webhook_timeout_seconds = self.config.webhook_timeout_seconds
            self.chats.clear()
            self.reply_tokens.clear()
            self.mark_as_read_tokens.clear()
            self.retry_keys.clear()
            self.faults.clear()
            self.calls.clear()
            self.profile_calls = 0
            self.events.clear()
            self.deliveries.clear()

    # -- channels ----------------------------------------------------------------------

    def channel_for_access_token(self, token: str) -> ChannelConfig | None:
        return self._by_token.get(token)

    # -- chats -------------------------------------------------------------------------

    def create_user(self, desk: str) -> Chat:
        with self.lock:
            user_id = new_user_id()
            chat = Chat(desk=desk, chat_id=user_id, kind="user", created_at=_utcnow())
            self.chats[(desk, user_id)] = chat
            return chat

    def get_chat(self, desk: str, chat_id: str) -> Chat | None:
        with self.lock:
            return self.chats.get((desk, chat_id))

    def ensure_chat(self, desk: str, chat_id: str, kind: ChatKind) -> Chat:
        with self.lock:
            chat = self.chats.get((desk, chat_id))
            if chat is None:
                chat = Chat(desk=desk, chat_id=chat_id, kind=kind, created_at=_utcnow())
                self.chats[(desk, chat_id)] = chat
            return chat

    def add_user_message(
        self,
        chat: Chat,
        kind: str,
        *,
        text: str | None = None,
        with_read_token: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> ChatMessage:
        with self.lock:
            message = ChatMessage(
                id=self.ids.message_id(),
                sender="user",
                type=kind,
                at=_utcnow(),
                text=text,
                mark_as_read_token=self.ids.mark_as_read_token() if with_read_token else None,
                extra=dict(extra or {}),
            )
            chat.messages.append(message)
            if message.mark_as_read_token is not None:
                self.mark_as_read_tokens[message.mark_as_read_token] = (chat.desk, chat.chat_id, message.id)
            return message

    def add_bot_messages(
        self,
        chat: Chat,
        messages: Iterable[dict[str, Any]],
        via: SentVia,
        *,
        delivered: bool = True,
        notification_disabled: bool = False,
    ) -> list[dict[str, str]]:
        """Append sent messages to the chat log; returns LINE's ``sentMessages`` entries."""
        sent: list[dict[str, str]] = []
        with self.lock:
            for raw in messages:
                extra = _bot_message_extra(raw)
                extra["notification_disabled"] = notification_disabled
                extra["raw"] = copy.deepcopy(raw)
                message = ChatMessage(
                    id=self.ids.message_id(),
                    sender="bot",
                    type=raw["type"],
                    at=_utcnow(),
                    text=raw.get("text") if raw["type"] == "text" else None,
                    sent_via=via,
                    quick_reply=_quick_reply_buttons(raw),
                    extra=extra,
                )
                (chat.messages if delivered else chat.undelivered).append(message)
                entry = {"id": message.id}
                if raw["type"] in _QUOTABLE_TYPES:
                    entry["quoteToken"] = self.ids.quote_token()
                sent.append(entry)
            if delivered:
                chat.loading_until = None
        return sent

    def find_user_message(self, chat: Chat, message_id: str) -> ChatMessage | None:
        with self.lock:
            for message in chat.messages:
                if message.sender == "user" and message.id == message_id:
                    return message
            return None

    # -- reply tokens --------------------------------------------------------------------

    def issue_reply_token(self, chat: Chat) -> str:
        with self.lock:
            token = self.ids.reply_token()
            self.reply_tokens[token] = ReplyTokenRecord(
                token=token, desk=chat.desk, chat_id=chat.chat_id, issued_at=self.clock()
            )
            return token

    def consume_reply_token(self, desk: str, token: str) -> Chat | None:
        """Use a reply token once; None when unknown, of another channel, used or expired."""
        with self.lock:
            record = self.reply_tokens.get(token)
            if record is None or record.desk != desk or record.used:
                return None
            if self.clock() - record.issued_at >= self.reply_token_ttl_seconds:
                return None
            chat = self.chats.get((record.desk, record.chat_id))
            if chat is None:
                return None
            record.used = True
            return chat

    # -- loading indicator and read receipts ----------------------------------------------

    def start_loading(self, chat: Chat, seconds: int) -> None:
        with self.lock:
            chat.loading_until = self.clock() + seconds

    def is_loading(self, chat: Chat) -> bool:
        with self.lock:
            return chat.loading_until is not None and self.clock() < chat.loading_until

    def mark_as_read(self, desk: str, token: str) -> bool:
        """Mark the pupil's messages up to the one carrying ``token`` as read."""
        with self.lock:
            target = self.mark_as_read_tokens.get(token)
            if target is None or target[0] != desk:
                return False
            chat = self.chats.get((target[0], target[1]))
            if chat is None:
                return False
            for message in chat.messages:
                if message.sender == "user":
                    message.read = True
                if message.id == target[2]:
                    break
            return True

    # -- retry keys -----------------------------------------------------------------------

    def find_retry(self, desk: str, key: str) -> RetryRecord | None:
        with self.lock:
            now = self.clock()
            for stale in [
                k for k, r in self.retry_keys.items() if now - r.accepted_at >= RETRY_KEY_LIFETIME_SECONDS
            ]:
                del self.retry_keys[stale]
            return self.retry_keys.get((desk, key.lower()))

    def accept_retry(self, desk: str, key: str, request_id: str, sent_messages: list[dict[str, str]]) -> None:
        with self.lock:
            self.retry_keys[(desk, key.lower())] = RetryRecord(
                desk=desk,
                key=key,
                accepted_at=self.clock(),
                request_id=request_id,
                sent_messages=copy.deepcopy(sent_messages),
            )

    # -- faults ---------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, endpoint: str) -> Fault | None:
        """The first queued fault matching ``endpoint`` (or "any"), using up one of its count."""
        with self.lock:
            for fault in self.faults:
                if fault.endpoint in (endpoint, "any") and fault.count > 0:
                    fault.count -= 1
                    taken = Fault(
                        endpoint=fault.endpoint,
                        count=1,
                        status=fault.status,
                        delay_seconds=fault.delay_seconds,
                    )
                    self.faults = [f for f in self.faults if f.count > 0]
                    return taken
            return None

    # -- logs -----------------------------------------------------------------------------

    def record_call(self, record: CallRecord) -> None:
        with self.lock:
            self.calls.append(record)

    def count_profile_call(self) -> None:
        with self.lock:
            self.profile_calls += 1

    def store_event(self, desk: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.events[event["webhookEventId"]] = StoredEvent(desk=desk, event=copy.deepcopy(event))

    def get_event(self, webhook_event_id: str) -> StoredEvent | None:
        with self.lock:
            stored = self.events.get(webhook_event_id)
            return (
                None if stored is None else StoredEvent(desk=stored.desk, event=copy.deepcopy(stored.event))
            )

    def record_delivery(self, record: DeliveryRecord) -> None:
        with self.lock:
            self.deliveries.append(record)

    # -- views ----------------------------------------------------------------------------

    def chat_view(self, chat: Chat) -> dict[str, Any]:
        with self.lock:
            return {
                "desk": chat.desk,
                "chat_id": chat.chat_id,
                "kind": chat.kind,
                "messages": [message.to_json() for message in chat.messages],
                "loading": self.is_loading(chat),
                "following": chat.following,
                "blocked": chat.kind == "user" and chat.has_followed and not chat.following,
                "bot_left": chat.bot_left,
                "undelivered_messages": [message.to_json() for message in chat.undelivered],
            }
