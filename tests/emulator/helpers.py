"""Helpers for the LINE emulator tests: a webhook receiver playing Koe, and small shortcuts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient
from linebot.v3 import WebhookParser
from linebot.v3.messaging import ApiException
from linebot.v3.webhook import SignatureValidator

from line_emulator import ChannelConfig, EmulatorConfig

YOUTH_SECRET = "youth-channel-secret-0123456789ab"
YOUTH_TOKEN = "youth-access-token"
RESIDENT_SECRET = "resident-channel-secret-abcdef0123"
RESIDENT_TOKEN = "resident-access-token"
SECRETS = {"youth": YOUTH_SECRET, "resident": RESIDENT_SECRET}
TOKENS = {"youth": YOUTH_TOKEN, "resident": RESIDENT_TOKEN}


@dataclass
class ReceivedWebhook:
    desk: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def event(self) -> dict[str, Any]:
        events: list[dict[str, Any]] = self.payload["events"]
        assert len(events) == 1
        return events[0]

    def parse(self) -> list[Any]:
        """Parse with the official SDK, which also checks the signature."""
        parser = WebhookParser(SECRETS[self.desk])
        events: list[Any] = parser.parse(self.body.decode("utf-8"), self.headers["x-line-signature"])
        return events


class WebhookReceiver:
    """A tiny HTTP server standing in for Koe's webhook endpoint, on a free loopback port."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self.status = 200
        # Called in the server thread for each webhook before answering (plays Koe's work).
        self.on_webhook: Callable[[ReceivedWebhook], None] | None = None
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                desk = self.path.rstrip("/").rsplit("/", 1)[-1]
                headers = {name.lower(): value for name, value in self.headers.items()}
                signature = headers.get("x-line-signature", "")
                ok = desk in SECRETS and SignatureValidator(SECRETS[desk]).validate(
                    body.decode("utf-8"), signature
                )
                webhook = ReceivedWebhook(desk=desk, headers=headers, body=body, signature_ok=ok)
                with receiver._lock:
                    receiver.received.append(webhook)
                hook = receiver.on_webhook
                if hook is not None and ok:
                    try:
                        hook(webhook)
                    except (AssertionError, ApiException) as exc:  # surfaced to the test through .errors
                        receiver.errors.append(exc)
                status = receiver.status if ok else 400
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, desk: str) -> str:
        return f"http://127.0.0.1:{self.port}/line/webhook/{desk}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def last(self) -> ReceivedWebhook:
        with self._lock:
            return self.received[-1]


def make_config(receiver: WebhookReceiver, webhook_timeout_seconds: float = 5.0) -> EmulatorConfig:
    return EmulatorConfig(
        channels=(
            ChannelConfig("youth", YOUTH_SECRET, YOUTH_TOKEN, receiver.url("youth")),
            ChannelConfig("resident", RESIDENT_SECRET, RESIDENT_TOKEN, receiver.url("resident")),
        ),
        webhook_timeout_seconds=webhook_timeout_seconds,
    )


def auth(desk: str = "youth") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[desk]}"}


def new_pupil(client: TestClient, desk: str = "youth", *, follow: bool = True) -> str:
    response = client.post("/emulator/users", json={"desk": desk})
    assert response.status_code == 200
    user_id: str = response.json()["user_id"]
    if follow:
        sent = client.post("/emulator/send", json={"desk": desk, "user_id": user_id, "type": "follow"})
        assert sent.status_code == 200 and sent.json()["status"] == 200
    return user_id


def send(client: TestClient, user_id: str, type_: str, desk: str = "youth", **fields: Any) -> dict[str, Any]:
    response = client.post("/emulator/send", json={"desk": desk, "user_id": user_id, "type": type_, **fields})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def chat(client: TestClient, user_id: str, desk: str = "youth") -> dict[str, Any]:
    response = client.get(f"/emulator/chats/{desk}/{user_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}
