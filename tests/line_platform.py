"""Koe's web process and the LINE emulator, both on real loopback ports, wired to each other."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from koe.app import create_app
from koe.runtime import Runtime
from koe.settings import DESKS
from koe.worker import run_worker
from line_emulator import ChannelConfig, EmulatorConfig, EmulatorServer
from models import InboxEvent, InboxState
from tests.services import ServerThread, free_port


@dataclass
class LinePlatform:
    rt: Runtime
    emulator: EmulatorServer
    koe: ServerThread
    http: httpx.Client  # speaks to the emulator's control API

    def new_pupil(self, desk: str = "youth") -> str:
        user: str = self.http.post("/emulator/users", json={"desk": desk}).json()["user_id"]
        return user

    def send(self, user: str, kind: str, desk: str = "youth", **fields: Any) -> dict[str, Any]:
        response = self.http.post(
            "/emulator/send", json={"desk": desk, "user_id": user, "type": kind, **fields}
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def work(self) -> None:
        """Drain the queues in this process, as a worker would, until no inbox row is left pending.

        The doorbell rings just after the webhook's answer, so a job may arrive after the first drain.
        """
        deadline = time.monotonic() + 10
        while True:
            run_worker(self.rt, burst=True)
            with self.rt.sessions() as s:
                pending = s.scalar(select(func.count()).where(InboxEvent.state == InboxState.pending))
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{pending} inbox rows still pending")
            time.sleep(0.02)

    def chat(self, user: str, desk: str = "youth") -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.http.get(f"/emulator/chats/{desk}/{user}").json()["messages"]
        return messages

    def bot_messages(self, user: str, desk: str = "youth") -> list[dict[str, Any]]:
        return [m for m in self.chat(user, desk) if m["from"] == "bot"]

    def fault(self, **spec: Any) -> None:
        self.http.post("/emulator/faults", json=spec).raise_for_status()


@contextmanager
def line_platform(rt: Runtime) -> Iterator[LinePlatform]:
    koe_port, emulator_port = free_port(), free_port()
    rt.settings.line_api_base_url = f"http://127.0.0.1:{emulator_port}"
    rt.__dict__.pop("line", None)
    config = EmulatorConfig(
        channels=tuple(
            ChannelConfig(
                desk=desk,
                channel_secret=rt.settings.channel_secret(desk),
                access_token=rt.settings.channel_access_token(desk),
                webhook_url=f"http://127.0.0.1:{koe_port}/line/webhook/{desk}",
            )
            for desk in DESKS
        )
    )
    with (
        ServerThread(create_app(rt), port=koe_port) as koe,
        EmulatorServer(config, port=emulator_port) as emulator,
        httpx.Client(base_url=emulator.url, timeout=30) as http,
    ):
        yield LinePlatform(rt=rt, emulator=emulator, koe=koe, http=http)
