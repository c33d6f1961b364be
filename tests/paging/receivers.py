"""Local receivers for pages sent outside the console: an SMTP server and an HTTP webhook, both real."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.services import free_port


class Inbox:
    def __init__(self) -> None:
        self.mails: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def wait(self, what: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        with self.changed:
            self.changed.wait_for(lambda: len(getattr(self, what)) >= count, timeout=timeout)
            found: list[dict[str, Any]] = list(getattr(self, what))
        return found


class _Mail:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        with self.inbox.changed:
            self.inbox.mails.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "subject": str(mail["subject"]),
                    "body": body.get_content() if body is not None else "",
                }
            )
            self.inbox.changed.notify_all()
        return "250 OK"


@contextmanager
def smtp_and_webhook() -> Iterator[tuple[Inbox, int, str]]:
    """(inbox, SMTP port, webhook URL)."""
    inbox = Inbox()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            with inbox.changed:
                inbox.posts.append({"path": self.path, **payload})
                inbox.changed.notify_all()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    smtp_port = free_port()
    controller = Controller(_Mail(inbox), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox, smtp_port, f"json://127.0.0.1:{http.server_address[1]}/hook"
    finally:
        http.shutdown()
        controller.stop()
