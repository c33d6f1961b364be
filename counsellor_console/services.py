"""What the console needs from the process it runs in, handed in by the app factory (the console never
reads settings or builds connections itself)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from counsellor_console.page_notices import LinkSigner


@dataclass(frozen=True)
class ConsoleServices:
    sessions: Callable[[], sessionmaker[Session]]
    redis_url: Callable[[], str]
    enqueue_deliveries: Callable[[list[int]], None]
    enqueue_typing: Callable[[int], None]
    publish: Callable[[list[dict[str, object]]], bool]
    link_signer: LinkSigner
    encrypt: Callable[[bytes], bytes]  # for secrets kept in rows (a person's chat webhook URLs)
    always_secure_cookies: bool = False  # production: Secure even if a proxy hides that the request was HTTPS
