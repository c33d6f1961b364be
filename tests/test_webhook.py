"""The webhook: signatures, limits, durable storage keyed by webhookEventId, enqueueing after the commit."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from rq import Queue
from sqlalchemy import func, select

from koe.app import create_app
from koe.runtime import Runtime
from models import InboxEvent, InboxState
from tests import line_events as le
from tests.services import ServerThread

SECRET = "dev-youth-channel-secret"


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def count_rows(rt: Runtime) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(InboxEvent)) or 0


def intake_jobs(rt: Runtime, *, expect: int = 0) -> list[str]:
    """The queued intake jobs; the doorbell rings just after the answer, so wait for the expected count."""
    deadline = time.monotonic() + 5
    while True:
        ids = list(Queue("intake", connection=rt.redis).get_job_ids())
        if len(ids) >= expect or time.monotonic() > deadline:
            return ids
        time.sleep(0.01)


def test_valid_signature_stores_and_enqueues(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    raw = le.body(le.text_event(user, "ともだちとけんかした"))
    r = client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw))
    assert r.status_code == 200
    with runtime.sessions() as s:
        row = s.scalars(select(InboxEvent)).one()
    assert row.state == InboxState.pending and row.desk == "youth" and row.event_type == "message"
    # The payload is encrypted at rest: neither the user ID nor the text is readable in the row.
    assert row.payload is not None and user.encode() not in row.payload
    assert "ともだち".encode() not in row.payload
    assert intake_jobs(runtime, expect=1) == [f"inbox-{row.id}"]


def test_a_message_that_reads_as_a_crisis_skips_the_line(client: TestClient, runtime: Runtime) -> None:
    """Everyday messages queue for intake; one whose words already read as a crisis goes to the paging queue,
    which every worker empties first, so that a burst of messages cannot hold up a page."""
    calm, jokey, urgent = le.user_id(), le.user_id(), le.user_id()
    raw = le.body(
        le.text_event(calm, "ともだちとけんかした"),
        le.text_event(jokey, "テスト死んだｗ"),
        le.text_event(urgent, "もう限界。今夜、橋から飛び降りる"),
    )
    assert (
        client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw)).status_code
        == 200
    )
    with runtime.sessions() as s:
        ids = list(s.scalars(select(InboxEvent.id).order_by(InboxEvent.id)))
    assert sorted(intake_jobs(runtime, expect=2)) == sorted([f"inbox-{ids[0]}", f"inbox-{ids[1]}"])
    assert Queue("paging", connection=runtime.redis).get_job_ids() == [f"inbox-{ids[2]}"]


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "application/json", "x-line-signature": "bm90IGEgc2lnbmF0dXJl"},
        {"content-type": "application/json", "x-line-signature": le.sign("another-channel-secret", b"x")},
    ],
    ids=["missing", "garbage", "wrong-secret"],
)
def test_bad_or_missing_signature_is_400_and_stores_nothing(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    raw = le.body(le.text_event(le.user_id(), "hello"))
    r = client.post("/line/webhook/youth", content=raw, headers=headers)
    assert r.status_code == 400
    assert count_rows(runtime) == 0 and intake_jobs(runtime) == []


def test_signature_of_one_desk_does_not_open_the_other(client: TestClient, runtime: Runtime) -> None:
    raw = le.body(le.text_event(le.user_id(), "hello"))
    r = client.post("/line/webhook/resident", content=raw, headers=le.signed_headers(SECRET, raw))
    assert r.status_code == 400
    assert count_rows(runtime) == 0


def test_unknown_desk_is_404(client: TestClient) -> None:
    raw = le.body()
    assert (
        client.post("/line/webhook/nope", content=raw, headers=le.signed_headers(SECRET, raw)).status_code
        == 404
    )


def test_body_over_one_megabyte_is_413(client: TestClient, runtime: Runtime) -> None:
    raw = le.body(le.text_event(le.user_id(), "あ" * 400_000))
    assert len(raw) > 1_048_576
    r = client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw))
    assert r.status_code == 413
    assert count_rows(runtime) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'{"events": {}}',
        b'{"events": [{"type": "message"}]}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
    ids=["broken", "array", "events-not-list", "event-without-id", "not-utf8"],
)
def test_malformed_body_is_400(client: TestClient, runtime: Runtime, raw: bytes) -> None:
    r = client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw))
    assert r.status_code == 400
    assert count_rows(runtime) == 0


def test_empty_events_answer_200(client: TestClient, runtime: Runtime) -> None:
    # LINE's console sends this to verify the webhook URL.
    raw = le.body()
    assert (
        client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw)).status_code
        == 200
    )
    assert count_rows(runtime) == 0


def test_redelivery_and_duplicates_are_stored_once(client: TestClient, runtime: Runtime) -> None:
    event = le.text_event(le.user_id(), "きいてほしい")
    raw = le.body(event)
    for _ in range(3):
        assert (
            client.post(
                "/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw)
            ).status_code
            == 200
        )
    redelivered = dict(event, deliveryContext={"isRedelivery": True})
    raw2 = le.body(redelivered)
    assert (
        client.post("/line/webhook/youth", content=raw2, headers=le.signed_headers(SECRET, raw2)).status_code
        == 200
    )
    assert count_rows(runtime) == 1
    assert len(intake_jobs(runtime, expect=1)) == 1
    time.sleep(0.2)
    assert len(intake_jobs(runtime)) == 1


def test_several_events_in_one_body(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    raw = le.body(le.follow_event(user), le.text_event(user, "a"), le.text_event(user, "b"))
    assert (
        client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw)).status_code
        == 200
    )
    assert count_rows(runtime) == 3
    assert len(intake_jobs(runtime, expect=3)) == 3


def test_fifty_concurrent_webhooks_with_duplicates_store_each_event_once(runtime: Runtime) -> None:
    events = [le.text_event(le.user_id(), f"message {i}") for i in range(50)]
    # Every event is sent twice, concurrently, as LINE may when it retries.
    bodies = [le.body(e) for e in events] * 2
    with ServerThread(create_app(runtime)) as server:

        def post(raw: bytes) -> int:
            # One connection per delivery, as LINE's servers would open them.
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                conn.request("POST", "/line/webhook/youth", body=raw, headers=le.signed_headers(SECRET, raw))
                return conn.getresponse().status
            finally:
                conn.close()

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(post, bodies))
    assert statuses == [200] * 100
    with runtime.sessions() as s:
        stored = sorted(s.scalars(select(InboxEvent.webhook_event_id)))
    assert stored == sorted(e["webhookEventId"] for e in events)
    assert len(set(intake_jobs(runtime, expect=50))) == 50


def test_redis_down_still_stores_and_answers_200(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from redis import Redis

    # A Redis nobody listens on: the webhook must still commit the row and answer LINE.
    runtime.__dict__["redis"] = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    runtime.__dict__.pop("queues", None)
    client = TestClient(create_app(runtime))
    raw = le.body(le.text_event(le.user_id(), "とどいてる？"))
    assert (
        client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw)).status_code
        == 200
    )
    assert count_rows(runtime) == 1


def test_database_down_answers_503(runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from koe.db import make_engine, make_sessionmaker

    # A database that cannot be opened: LINE must be told to redeliver.
    broken = make_engine(f"sqlite:///{tmp_path}/missing-dir/koe.sqlite3")
    runtime.__dict__["sessions"] = make_sessionmaker(broken)
    client = TestClient(create_app(runtime))
    raw = le.body(le.text_event(le.user_id(), "hello"))
    r = client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw))
    assert r.status_code == 503
    assert r.headers["retry-after"]


def test_only_one_scheduler_holds_the_lease(runtime: Runtime) -> None:
    from koe.scheduler import Scheduler

    first, second = Scheduler(runtime), Scheduler(runtime)
    assert first._hold_lease() and not second._hold_lease()
    assert first._hold_lease()  # renewing its own lease


def test_sweeper_requeues_a_job_that_says_queued_but_sits_in_no_queue(
    client: TestClient, runtime: Runtime
) -> None:
    from koe import jobs

    raw = le.body(le.text_event(le.user_id(), "きえたジョブ"))
    assert (
        client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw)).status_code
        == 200
    )
    (job_id,) = intake_jobs(runtime, expect=1)
    runtime.settings.sweep_after_seconds = 0
    assert jobs.sweep()["inbox_events"] == 0  # really waiting in the queue: left alone
    # A worker popped it and died before starting it: RQ still says "queued", but no list holds it.
    runtime.redis.lrem("rq:queue:intake", 0, job_id)
    assert jobs.sweep()["inbox_events"] == 1
    assert intake_jobs(runtime, expect=1) == [job_id]


def test_inbox_retry_sends_failed_rows_round_again(client: TestClient, runtime: Runtime) -> None:
    from sqlalchemy import update

    from koe import inbox_admin, jobs

    raw = le.body(le.text_event(le.user_id(), "もういちど"))
    client.post("/line/webhook/youth", content=raw, headers=le.signed_headers(SECRET, raw))
    with runtime.sessions() as s, s.begin():
        s.execute(update(InboxEvent).values(state=InboxState.failed, outcome="too_many_attempts"))
    assert "failed=1" in inbox_admin.status(runtime)
    assert inbox_admin.retry_failed(runtime) == (1, 0)
    with runtime.sessions() as s:
        (event_id,) = s.scalars(select(InboxEvent.id))
    assert jobs.process_inbox_event(event_id) == "opened_consultation"
