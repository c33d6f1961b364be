"""LINE webhook bodies for tests, shaped as in LINE's Messaging API reference, and signed like LINE signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import time
from typing import Any

import orjson

_counter = itertools.count(1)


def user_id() -> str:
    return "U" + secrets.token_hex(16)


def event_id() -> str:
    return f"01TEST{secrets.token_hex(10).upper()}"


def base_event(kind: str, user: str, *, mode: str = "active", at_ms: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "mode": mode,
        "timestamp": at_ms if at_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind not in {"unfollow", "unsend"}:
        event["replyToken"] = secrets.token_hex(16)
    return event


def text_event(user: str, text: str, **kwargs: Any) -> dict[str, Any]:
    event = base_event("message", user, **kwargs)
    event["message"] = {"id": str(next(_counter) + 10**15), "type": "text", "text": text, "quoteToken": "q"}
    return event


def sticker_event(user: str, **kwargs: Any) -> dict[str, Any]:
    event = base_event("message", user, **kwargs)
    event["message"] = {
        "id": str(next(_counter) + 10**15),
        "type": "sticker",
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
    }
    return event


def follow_event(user: str, **kwargs: Any) -> dict[str, Any]:
    event = base_event("follow", user, **kwargs)
    event["follow"] = {"isUnblocked": False}
    return event


def postback_event(user: str, data: str, **kwargs: Any) -> dict[str, Any]:
    event = base_event("postback", user, **kwargs)
    event["postback"] = {"data": data}
    return event


def body(*events: dict[str, Any]) -> bytes:
    return orjson.dumps({"destination": "U" + "0" * 32, "events": list(events)})


def sign(secret: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, raw: bytes) -> dict[str, str]:
    return {"content-type": "application/json", "x-line-signature": sign(secret, raw)}
