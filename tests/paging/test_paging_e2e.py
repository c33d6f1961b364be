"""Paging end to end, on real processes: a pupil's urgent LINE message through the emulator pages the
primary on the console's event stream and by chat webhook; nobody answers, so the backup and then the
supervisor are paged; the worker is killed in the middle of the chain and the chain goes on after its restart
without a step sent twice; acknowledging stops it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from koe.runtime import Runtime
from models import Page, PageNotice, PageState
from tests.console.helpers import PASSWORD, csrf_of
from tests.line_platform import LinePlatform, line_platform
from tests.paging.helpers import chat_to, on_duty_now, told
from tests.paging.receivers import smtp_and_webhook
from tests.processes import kill_group, start_koe
from tests.services import on_one_backend

pytestmark = pytest.mark.slow
STEP_SECONDS = 2.0


class EventStream:
    """The console's Server-Sent Events, as a signed-in counsellor's browser receives them."""

    def __init__(self, base_url: str, name: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        form = self.client.get("/console/login")
        self.client.post(
            "/console/login",
            data={"username": name, "password": PASSWORD, "csrf": csrf_of(form.text), "next": "/console/"},
        )
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.ready.wait(15), "the event stream did not open"

    def _read(self) -> None:
        with (
            contextlib.suppress(httpx.HTTPError),
            self.client.stream("GET", "/console/events", timeout=None) as response,
        ):
            kind = ""
            for line in response.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    if kind == "hello":
                        self.ready.set()
                    self.events.append((time.monotonic(), kind, orjson.loads(line.removeprefix("data: "))))

    def pages(self) -> list[dict[str, Any]]:
        return [data for _, kind, data in self.events if kind == "page"]

    def wait_for_step(self, step: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(p["step"] == step for p in self.pages()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no page event for step {step}; saw {self.pages()}")
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.client.close()


@pytest.fixture
def line(runtime: Runtime) -> Iterator[LinePlatform]:
    with line_platform(runtime) as platform:
        yield platform


def test_urgent_message_pages_escalates_survives_a_killed_worker_and_stops_when_acknowledged(
    line: LinePlatform, runtime: Runtime, tmp_path: Path, database_url: str
) -> None:
    on_one_backend(database_url)
    rt = runtime
    duty = on_duty_now(rt)
    paging_env = {
        "KOE_PAGE_ESCALATE_AFTER_SECONDS": str(STEP_SECONDS),
        "KOE_SWEEP_INTERVAL_SECONDS": "0.5",
        "KOE_SWEEP_AFTER_SECONDS": "1",
        "KOE_PUBLIC_URL": line.koe.url,
    }
    with smtp_and_webhook() as (inbox, _smtp_port, webhook):
        chat_to(rt, duty.primary, webhook)
        stream = EventStream(line.koe.url, "hana")
        worker = start_koe(rt.settings, "worker", log=tmp_path / "worker.log", **paging_env)
        scheduler = start_koe(rt.settings, "scheduler", log=tmp_path / "scheduler.log", **paging_env)
        try:
            pupil = line.new_pupil()
            sent_at = time.monotonic()
            line.send(pupil, "text", text="もう限界。今夜、橋から飛び降りる")
            stream.wait_for_step(0, timeout=30)
            first_page = stream.pages()[0]
            page_id = first_page["page_id"]
            assert time.monotonic() - sent_at < 30
            # The sender gets the 24-hour hotlines at once.
            deadline = time.monotonic() + 15
            while not any("0120-0-78310" in m.get("text", "") for m in line.bot_messages(pupil)):
                assert time.monotonic() < deadline, "no hotlines for the sender"
                time.sleep(0.1)
            (post,) = inbox.wait("posts", 1)
            assert f"#{first_page['consultation_id']}" in post["message"] and "橋" not in post["message"]

            stream.wait_for_step(1, timeout=STEP_SECONDS + 10)
            kill_group(worker)  # the machine dies in the middle of the chain
            time.sleep(STEP_SECONDS * 2)  # step 2 falls due while no worker runs
            assert set(told(rt, page_id)) == {0, 1}
            worker = start_koe(rt.settings, "worker", log=tmp_path / "worker2.log", **paging_env)
            stream.wait_for_step(2, timeout=30)
            stream.wait_for_step(3, timeout=STEP_SECONDS + 10)

            steps = told(rt, page_id)
            assert steps[0] == {duty.primary}
            assert steps[1] == {duty.primary, duty.backup}
            assert steps[2] == steps[3] == {duty.primary, duty.backup, duty.supervisor}
            # Each step came a whole interval after the one before: no step was run twice or early.
            with rt.sessions() as s:
                firsts = dict(
                    s.execute(
                        select(PageNotice.step, func.min(PageNotice.created_at))
                        .where(PageNotice.page_id == page_id)
                        .group_by(PageNotice.step)
                    )
                    .tuples()
                    .all()
                )
            for step in range(1, max(firsts) + 1):
                assert (firsts[step] - firsts[step - 1]).total_seconds() >= STEP_SECONDS * 0.9

            # The supervisor acknowledges from the console: the chain stops.
            sv = httpx.Client(base_url=line.koe.url, timeout=30)
            form = sv.get("/console/login")
            sv.post(
                "/console/login",
                data={
                    "username": "sv",
                    "password": PASSWORD,
                    "csrf": csrf_of(form.text),
                    "next": "/console/",
                },
            )
            token = csrf_of(sv.get("/console/queue").text)
            acked = sv.post(f"/console/pages/{page_id}/ack", data={"csrf": token})
            assert acked.status_code == 303  # to the consultation
            deadline = time.monotonic() + 5
            while not any(kind == "page_acknowledged" for _, kind, _ in stream.events):
                assert time.monotonic() < deadline, "no acknowledgement on the stream"
                time.sleep(0.05)
            with rt.sessions() as s:
                page = s.get(Page, page_id)
                assert page is not None and page.state == PageState.acknowledged
                last_step = page.step
            time.sleep(STEP_SECONDS * 2.5)
            with rt.sessions() as s:
                page = s.get(Page, page_id)
                assert page is not None and page.step == last_step
                assert s.scalar(select(func.count()).select_from(Page)) == 1
            assert max(told(rt, page_id)) == last_step
        finally:
            stream.close()
            kill_group(worker)
            kill_group(scheduler)
