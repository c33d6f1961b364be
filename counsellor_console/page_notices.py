"""Pages outside the console: e-mail and chat webhooks (Teams, Slack, …) through Apprise, each with a
signed, expiring link that acknowledges the page. A notice says which desk and which consultation number,
never a word of the message: it travels through other companies' servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise
import orjson

from counsellor_console.labels import DESK_LABELS, RISK_LABELS
from counsellor_console.timefmt import tokyo

log = logging.getLogger("koe.console.page_notices")
# Apprise logs the URLs it sends to, which hold webhook tokens: only its warnings, without them, get out.
logging.getLogger("apprise").setLevel(logging.ERROR)


class LinkInvalid(Exception):
    pass


class LinkExpired(LinkInvalid):
    pass


@dataclass(frozen=True)
class AckLink:
    page_id: int
    user_id: int
    expires_at: datetime


class LinkSigner:
    """`<payload>.<mac>`: the page, the person and the expiry, signed with a key of its own derived from the
    secret key (a link can do nothing but acknowledge that one page as that one person)."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"koe page acknowledgement link", hashlib.sha256).digest()

    def sign(self, link: AckLink) -> str:
        payload = _b64(orjson.dumps([link.page_id, link.user_id, int(link.expires_at.timestamp())]))
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str, *, now: datetime) -> AckLink:
        payload, _, mac = token.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise LinkInvalid
        try:
            page_id, user_id, expires = orjson.loads(
                base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            )
            link = AckLink(int(page_id), int(user_id), datetime.fromtimestamp(int(expires), UTC))
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise LinkInvalid from None
        if link.expires_at <= now:
            raise LinkExpired
        return link

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:18])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def notice_text(
    *, desk: str, consultation_id: int, risk: str, step: int, created_at: datetime, link: str
) -> tuple[str, str]:
    """Title and body of an external notice: where to look and the link, nothing of the message."""
    level = RISK_LABELS.get(risk, risk)
    again = f"（{step + 1}回目の呼び出し・まだ誰も受けていません）" if step else ""
    title = f"【Koe】{level}の相談があります{again}"
    body = (
        f"{DESK_LABELS.get(desk, desk)}の相談 #{consultation_id} が「{level}」になりました"
        f"（{tokyo(created_at, '%H:%M')}）。\n"
        "対応できるときは、下のリンクを開いて「受けます」を押してください。ほかの人への呼び出しが止まります。\n"
        f"{link}\n"
        "内容はコンソールにログインして見てください（この通知には書いていません）。"
    )
    return title, body


def email_url(base: str, address: str) -> str:
    """The operator's Apprise mail URL with this person as the only recipient."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "to"]
    query.append(("to", address))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def valid_url(url: str) -> bool:
    """Whether Apprise knows how to send to this URL (checked when a URL is saved, not at page time)."""
    return apprise.Apprise().add(url)


def send(urls: list[str], *, title: str, body: str) -> bool:
    """True when every URL accepted the notice (Apprise sends them in turn, each with its own timeout)."""
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            log.warning("a notification URL was not understood by Apprise; check the person's settings")
            return False
    return bool(sender.notify(title=title, body=body))
