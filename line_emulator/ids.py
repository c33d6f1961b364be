"""Generators for the identifiers and tokens that the LINE platform hands out."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
import uuid

__all__ = [
    "IdFactory",
    "bot_user_id",
    "new_group_id",
    "new_room_id",
    "new_user_id",
    "new_webhook_event_id",
]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_user_id() -> str:
    """A LINE user ID: ``U`` followed by 32 lowercase hex digits."""
    return "U" + secrets.token_hex(16)


def new_group_id() -> str:
    return "C" + secrets.token_hex(16)


def new_room_id() -> str:
    return "R" + secrets.token_hex(16)


def bot_user_id(desk: str, channel_secret: str) -> str:
    """The bot's own user ID (webhook ``destination``), stable for a given channel."""
    digest = hashlib.sha256(f"koe-line-emulator:{desk}:{channel_secret}".encode()).hexdigest()
    return "U" + digest[:32]


def new_webhook_event_id(now_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, Crockford base32."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = ((millis & ((1 << 48) - 1)) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class IdFactory:
    """Per-app source of message IDs and tokens (message IDs only grow, like LINE's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        start = 500_000_000_000_000_000 + secrets.randbelow(10**16)
        self._message_ids = itertools.count(start)

    def message_id(self) -> str:
        with self._lock:
            return str(next(self._message_ids))

    @staticmethod
    def reply_token() -> str:
        return secrets.token_hex(16)

    @staticmethod
    def quote_token() -> str:
        return secrets.token_urlsafe(60)

    @staticmethod
    def mark_as_read_token() -> str:
        return secrets.token_urlsafe(30)

    @staticmethod
    def request_id() -> str:
        return str(uuid.uuid4())
