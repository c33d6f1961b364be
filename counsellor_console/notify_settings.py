"""Where a person's pages go besides the console: an e-mail address and chat webhook URLs (kept encrypted:
a Teams or Slack webhook URL is itself the key to post there)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from counsellor_console import audit
from counsellor_console.page_notices import valid_url
from models import User

MAX_CHAT_URLS = 5
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NotifySettingsError(ValueError):
    """The message (Japanese) says what to fix."""


def set_notify(
    session: Session,
    *,
    target: User,
    email: str | None,
    chat_urls: list[str] | None,
    encrypt: Callable[[bytes], bytes],
    by: User | None,
    now: datetime,
) -> None:
    """`email` "" clears it; `chat_urls` None keeps the current ones, [] clears them."""
    if email is not None:
        email = email.strip()
        if email and (len(email) > 254 or not _EMAIL.match(email)):
            raise NotifySettingsError("メールアドレスの形が正しくありません。")
        target.notify_email = email or None
    if chat_urls is not None:
        urls = [u.strip() for u in chat_urls if u.strip()]
        if len(urls) > MAX_CHAT_URLS:
            raise NotifySettingsError(f"チャットの通知先は{MAX_CHAT_URLS}件までです。")
        for url in urls:
            if not valid_url(url):
                raise NotifySettingsError(
                    "チャットの通知先に使えない URL があります。Apprise の形（msteams://… slack://… など）で"
                    "書いてください。"
                )
        target.notify_urls_encrypted = encrypt(orjson.dumps(urls)) if urls else None
    audit.record(
        session,
        user=by,
        action="set_notify",
        now=now,
        user_id=target.id,
        email=bool(target.notify_email),
        chat_urls=len(chat_urls) if chat_urls is not None else None,
    )
