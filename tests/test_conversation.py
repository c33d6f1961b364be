"""The worker's conversation flow, from stored event to consultation rows and the deliveries it prepares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from koe import jobs
from koe.app import create_app
from koe.runtime import Runtime
from models import (
    Consultation,
    ConsultationState,
    InboxEvent,
    InboxState,
    Message,
    SchoolLevel,
    Sender,
    SenderStatus,
)
from tests import line_events as le
from tests.intake import delivered_texts, deliveries, post, process


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def test_follow_welcomes_and_asks_school_level(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    assert process(client, runtime, "youth", le.follow_event(user)) == ["welcomed"]
    (d,) = deliveries(runtime)
    welcome, question = orjson.loads(d.messages_json)
    assert "だれが書いたのか、相談員（そうだんいん）にもわからない" in welcome["text"]
    assert "命があぶないとき" in welcome["text"]
    labels = [i["action"]["label"] for i in question["quickReply"]["items"]]
    assert labels == ["小学生", "中学生", "高校生", "それ以外", "答えたくない"]
    assert d.reply_token is not None and d.purpose == "welcome"
    with runtime.sessions() as s:
        sender = s.scalars(select(Sender)).one()
    assert sender.status == SenderStatus.active
    # Only a keyed pseudonym and ciphertext: the user ID is nowhere in plain form.
    assert user not in sender.pseudonym and sender.line_user_id_encrypted is not None
    assert user.encode() not in sender.line_user_id_encrypted
    assert runtime.crypto.decrypt(sender.line_user_id_encrypted).decode() == user


def test_school_level_postback_is_kept(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    process(
        client, runtime, "youth", le.follow_event(user), le.postback_event(user, "school_level=junior_high")
    )
    with runtime.sessions() as s:
        assert s.scalars(select(Sender)).one().school_level == SchoolLevel.junior_high
    assert deliveries(runtime)[-1].purpose == "school_level_thanks"
    # An unknown level is recorded and ignored, not an error.
    assert process(client, runtime, "youth", le.postback_event(user, "school_level=phd")) == [
        "skipped:unknown_school_level"
    ]


def test_messages_thread_into_one_consultation_with_one_acknowledgement(
    client: TestClient, runtime: Runtime
) -> None:
    user = le.user_id()
    process(client, runtime, "youth", le.postback_event(user, "school_level=elementary"))
    outcomes = process(
        client,
        runtime,
        "youth",
        le.text_event(user, "クラスでむしされてる"),
        le.text_event(user, "もうがっこういきたくない"),
    )
    assert outcomes == ["opened_consultation", "threaded"]
    with runtime.sessions() as s:
        consultation = s.scalars(select(Consultation)).one()
        texts = [
            m.text for m in s.scalars(select(Message).where(Message.author == "sender").order_by(Message.id))
        ]
    assert consultation.message_count == 2 and consultation.school_level == SchoolLevel.elementary
    assert texts == ["クラスでむしされてる", "もうがっこういきたくない"]
    acks = [d for d in deliveries(runtime) if d.purpose == "acknowledgement"]
    assert len(acks) == 1 and "順番にお返事" in delivered_texts(acks[0])[0]


def test_a_quiet_gap_opens_a_new_consultation(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    four_days_ago = int((datetime.now(UTC) - timedelta(days=4)).timestamp() * 1000)
    process(client, runtime, "resident", le.text_event(user, "母の介護がつらい", at_ms=four_days_ago))
    process(client, runtime, "resident", le.text_event(user, "また相談させてください"))
    with runtime.sessions() as s:
        first, second = s.scalars(select(Consultation).order_by(Consultation.id)).all()
    assert first.state == ConsultationState.closed and first.close_reason == "quiet"
    assert second.state == ConsultationState.open and second.message_count == 1
    assert len([d for d in deliveries(runtime) if d.purpose == "acknowledgement"]) == 2


def test_out_of_hours_tells_when_counsellors_are_in_and_gives_hotlines(
    client: TestClient, runtime: Runtime
) -> None:
    # A one-hour window twelve hours from now, on every day: certainly closed at this moment.
    opens = (datetime.now(UTC) + timedelta(hours=12)).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    )
    runtime.settings.hours_youth = f"mon-sun {opens:%H}:00-{(opens.hour + 1) % 24 or 24:02d}:00"
    runtime.__dict__.pop("hours", None)
    runtime.__dict__.pop("flow", None)
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "ねむれない"), le.text_event(user, "だれかいる？"))
    (d,) = deliveries(runtime)
    (text,) = delivered_texts(d)
    assert d.purpose == "after_hours"
    for hotline in ("0120-0-78310", "189", "110", "119"):
        assert hotline in text
    assert "相談員がいるのは" in text and "から、お返事するね" in text


def test_sticker_and_image_are_recorded_without_content_and_answered_kindly(
    client: TestClient, runtime: Runtime
) -> None:
    user = le.user_id()
    image = le.base_event("message", user)
    image["message"] = {"id": "555", "type": "image", "contentProvider": {"type": "line"}}
    process(client, runtime, "youth", le.sticker_event(user), image)
    with runtime.sessions() as s:
        kinds = [
            (m.kind, m.text)
            for m in s.scalars(select(Message).where(Message.author == "sender").order_by(Message.id))
        ]
    assert kinds == [("sticker", None), ("image", None)]
    first, second = deliveries(runtime)
    assert "スタンプありがとう" in delivered_texts(first)[0]
    # The photo is not opened, and the sender is told so, even right after the sticker.
    assert "写真・動画・音声・ファイルは、ここでは見たり聞いたりできない" in delivered_texts(second)[0]
    # One kind word of each sort per burst.
    process(client, runtime, "youth", le.sticker_event(user))
    assert len(deliveries(runtime)) == 2


def test_unfollow_marks_the_sender_gone(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    process(client, runtime, "youth", le.follow_event(user), le.base_event("unfollow", user))
    with runtime.sessions() as s:
        sender = s.scalars(select(Sender)).one()
    assert sender.status == SenderStatus.gone and sender.unfollowed_at is not None


def test_unsend_removes_the_text_but_keeps_the_message(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    message = le.text_event(user, "やっぱりなし")
    unsend = le.base_event("unsend", user)
    unsend["unsend"] = {"messageId": message["message"]["id"]}
    process(client, runtime, "youth", message, unsend)
    with runtime.sessions() as s:
        stored = s.scalars(select(Message).where(Message.author == "sender")).one()
    assert stored.text is None and stored.withdrawn_at is not None


def test_an_unsend_that_overtakes_its_message_still_withdraws_it(
    client: TestClient, runtime: Runtime
) -> None:
    user = le.user_id()
    message = le.text_event(user, "いまのなし")
    unsend = le.base_event("unsend", user)
    unsend["unsend"] = {"messageId": message["message"]["id"]}
    # Workers run in parallel: the unsend's job may run before the message's.
    message_row, unsend_row = post(client, runtime, "youth", message, unsend)
    assert jobs.process_inbox_event(unsend_row) == "withdrawn_before_arrival"
    assert jobs.process_inbox_event(message_row) == "opened_consultation"
    with runtime.sessions() as s:
        stored = s.scalars(select(Message).where(Message.author == "sender")).one()
    assert stored.text is None and stored.withdrawn_at is not None and stored.consultation_id is not None


def test_a_sender_still_waiting_hears_that_their_words_arrived(client: TestClient, runtime: Runtime) -> None:
    from sqlalchemy import update

    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "聞いてほしい"))
    process(client, runtime, "youth", le.text_event(user, "まだかな"))
    assert [d.purpose for d in deliveries(runtime)] == ["acknowledgement"]  # not at every message
    with runtime.sessions() as s, s.begin():
        s.execute(update(Consultation).values(acknowledged_at=datetime.now(UTC) - timedelta(minutes=25)))
    process(client, runtime, "youth", le.text_event(user, "だれかいる？"))
    assert [d.purpose for d in deliveries(runtime)] == ["acknowledgement", "still_waiting"]
    assert "ちゃんと届いているよ" in delivered_texts(deliveries(runtime)[-1])[0]


def test_standby_and_group_events_are_recorded_never_answered(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    standby = le.text_event(user, "standby", mode="standby")
    group = le.text_event(user, "group")
    group["source"] = {"type": "group", "groupId": "C" + "1" * 32, "userId": user}
    assert process(client, runtime, "youth", standby, group) == [
        "skipped:mode_standby",
        "skipped:not_one_to_one",
    ]
    assert deliveries(runtime) == []
    with runtime.sessions() as s:
        rows = list(s.scalars(select(InboxEvent)))
        assert s.scalars(select(Message)).all() == []
    assert {r.state for r in rows} == {InboxState.skipped}
    assert all(r.payload is None for r in rows)


def test_a_job_run_twice_processes_the_event_once(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    (event_id,) = post(client, runtime, "youth", le.text_event(user, "一回だけ"))
    assert jobs.process_inbox_event(event_id) == "opened_consultation"
    assert jobs.process_inbox_event(event_id) == "already_handled"
    with runtime.sessions() as s:
        assert len(s.scalars(select(Message).where(Message.author == "sender")).all()) == 1
        row = s.get(InboxEvent, event_id)
        assert row is not None and row.state == InboxState.done and row.payload is None and row.attempts == 1
    assert len(deliveries(runtime)) == 1


def test_a_failing_job_reports_the_kind_of_error_never_the_message(
    client: TestClient, runtime: Runtime
) -> None:
    from sqlalchemy import update

    (event_id,) = post(client, runtime, "youth", le.text_event(le.user_id(), "ひみつのはなし"))
    with runtime.sessions() as s, s.begin():
        s.execute(update(InboxEvent).where(InboxEvent.id == event_id).values(payload=b"not a ciphertext"))
    with pytest.raises(jobs.JobFailed) as info:
        jobs.process_inbox_event(event_id)
    assert "InvalidToken" in str(info.value) and "not a ciphertext" not in str(info.value)
    with runtime.sessions() as s:
        row = s.get(InboxEvent, event_id)
        assert row is not None and row.state == InboxState.pending and row.attempts == 1  # kept for a retry
