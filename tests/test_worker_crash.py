"""A worker killed in the middle of a job loses nothing, and the work is done exactly once after restart."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from koe import jobs
from koe.app import create_app
from koe.runtime import Runtime
from models import Consultation, Delivery, InboxEvent, InboxState, Message
from tests import line_events as le
from tests.intake import post
from tests.processes import kill_group, start_koe


@contextlib.contextmanager
def hold_inbox_row(rt: Runtime, event_id: int) -> Iterator[None]:
    """Make the job wait inside its first transaction, the way a slow database would."""
    url = rt.settings.resolved_database_url
    if url.startswith("sqlite"):
        lite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        lite.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            lite.execute("ROLLBACK")
            lite.close()
    else:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT id FROM inbox_events WHERE id = %s FOR UPDATE", (event_id,))
            yield
            conn.rollback()


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_worker_killed_mid_job_then_restarted_loses_nothing(runtime: Runtime, tmp_path: Path) -> None:
    runtime.settings.sweep_after_seconds = 0
    client = TestClient(create_app(runtime))
    (event_id,) = post(client, runtime, "youth", le.text_event(le.user_id(), "だれにも言えないことがある"))
    job_id = f"inbox-{event_id}"

    with hold_inbox_row(runtime, event_id):
        worker = start_koe(runtime.settings, "worker", log=tmp_path / "worker1.log")

        def started() -> bool:
            try:
                return Job.fetch(job_id, connection=runtime.redis).get_status() == JobStatus.STARTED
            except NoSuchJobError:
                return False  # the doorbell has not rung yet

        wait_for(started, 30, "the job to start")
        time.sleep(0.5)
        kill_group(worker)  # SIGKILL: no cleanup, no goodbye, as when a machine dies

    with runtime.sessions() as s:
        row = s.get(InboxEvent, event_id)
        assert row is not None and row.state == InboxState.pending and row.payload is not None

    # The sweeper notices the dead worker (its alive key lapses) and enqueues the job again.
    swept: dict[str, int] = {}

    def sweep_once() -> bool:
        swept.update(jobs.sweep())
        return swept["inbox_events"] == 1

    wait_for(sweep_once, 20, "the sweeper to re-enqueue the abandoned job")

    restarted = start_koe(runtime.settings, "worker", "--burst", log=tmp_path / "worker2.log")
    assert restarted.wait(timeout=60) == 0

    with runtime.sessions() as s:
        row = s.get(InboxEvent, event_id)
        assert row is not None and row.state == InboxState.done
        assert s.scalar(select(func.count()).select_from(Message).where(Message.author == "sender")) == 1
        assert s.scalar(select(func.count()).select_from(Consultation)) == 1
        assert s.scalar(select(func.count()).select_from(Delivery)) == 1
    # A second sweep finds nothing more to do.
    assert jobs.sweep()["inbox_events"] == 0
