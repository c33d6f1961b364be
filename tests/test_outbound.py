"""Outbound delivery to LINE: reply while the token is young, push with a retry key otherwise, retries on
5xx and timeouts, and exactly one message on the pupil's screen whatever crashes in between."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from koe import jobs
from koe.runtime import Runtime
from models import Delivery, DeliveryState, InboxEvent
from tests.intake import deliveries
from tests.line_platform import LinePlatform, line_platform


@pytest.fixture
def line(runtime: Runtime) -> Iterator[LinePlatform]:
    with line_platform(runtime) as platform:
        yield platform


def one_delivery(line: LinePlatform, *, by_push: bool = False) -> tuple[str, int]:
    """A pupil follows and writes; intake runs; the acknowledgement is prepared but not yet sent.

    `by_push`: Koe takes every reply token as too old, so the delivery goes by push.
    """
    if by_push:
        line.rt.settings.reply_token_max_age_seconds = 0
    pupil = line.new_pupil()
    assert line.send(pupil, "follow")["status"] == 200
    assert line.send(pupil, "text", text="きいてほしいことがある")["status"] == 200
    with line.rt.sessions() as s:
        event_ids = s.scalars(select(InboxEvent.id).order_by(InboxEvent.id)).all()
    for event_id in event_ids:
        jobs.process_inbox_event(event_id)
    welcome, ack = deliveries(line.rt)
    assert (welcome.purpose, ack.purpose) == ("welcome", "acknowledgement")
    return pupil, ack.id


def state_of(rt: Runtime, delivery_id: int) -> Delivery:
    with rt.sessions() as s:
        d = s.get(Delivery, delivery_id)
        assert d is not None
        return d


def as_if_crashed_before_recording(rt: Runtime, delivery_id: int) -> None:
    """The worker died after LINE accepted but before the row said so: the row is as the attempt left it."""
    with rt.sessions() as s, s.begin():
        d = s.get(Delivery, delivery_id)
        assert d is not None
        d.state = DeliveryState.pending
        if d.method == "reply":
            d.reply_attempted_at, d.method = d.delivered_at, None
        d.delivered_at = None


def acks_on_screen(line: LinePlatform, pupil: str) -> int:
    return sum("順番にお返事" in m.get("text", "") for m in line.bot_messages(pupil))


def test_young_token_replies(line: LinePlatform) -> None:
    pupil, delivery_id = one_delivery(line)
    assert jobs.deliver(delivery_id) == "delivered"
    d = state_of(line.rt, delivery_id)
    assert (d.state, d.method, d.last_status) == (DeliveryState.delivered, "reply", 200)
    (ack,) = line.bot_messages(pupil)  # the welcome is not sent in these tests
    assert ack["sent_via"] == "reply"
    assert jobs.deliver(delivery_id) == "nothing_to_do"


def test_old_token_pushes_with_a_retry_key(line: LinePlatform) -> None:
    _pupil, delivery_id = one_delivery(line, by_push=True)
    assert jobs.deliver(delivery_id) == "delivered"
    d = state_of(line.rt, delivery_id)
    assert d.method == "push"
    calls = line.http.get("/emulator/calls", params={"endpoint": "push"}).json()
    assert [c["retry_key"] for c in calls] == [d.retry_key]


def test_server_errors_are_retried_then_delivered_once(line: LinePlatform) -> None:
    pupil, delivery_id = one_delivery(line, by_push=True)
    line.fault(endpoint="push", status=500, count=2)
    for _ in range(2):
        with pytest.raises(jobs.DeliveryNotYetSent):
            jobs.deliver(delivery_id)
        assert state_of(line.rt, delivery_id).state == DeliveryState.pending
    assert jobs.deliver(delivery_id) == "delivered"
    assert state_of(line.rt, delivery_id).attempts == 3
    assert acks_on_screen(line, pupil) == 1


def test_push_after_a_crash_is_answered_409_and_counts_as_delivered(line: LinePlatform) -> None:
    pupil, delivery_id = one_delivery(line, by_push=True)
    assert jobs.deliver(delivery_id) == "delivered"
    as_if_crashed_before_recording(line.rt, delivery_id)
    assert jobs.deliver(delivery_id) == "delivered"
    d = state_of(line.rt, delivery_id)
    assert d.last_status == 409
    assert acks_on_screen(line, pupil) == 1


def test_young_token_refused_after_our_own_attempt_means_it_got_through(line: LinePlatform) -> None:
    pupil, delivery_id = one_delivery(line)
    assert jobs.deliver(delivery_id) == "delivered"
    as_if_crashed_before_recording(line.rt, delivery_id)
    assert jobs.deliver(delivery_id) == "delivered"
    d = state_of(line.rt, delivery_id)
    assert (d.method, d.last_status) == ("reply", 400)
    assert acks_on_screen(line, pupil) == 1  # not pushed a second time


def test_a_reply_refused_with_5xx_is_not_taken_as_delivered_later(line: LinePlatform) -> None:
    pupil, delivery_id = one_delivery(line)
    line.fault(endpoint="reply", status=500, count=1)
    with pytest.raises(jobs.DeliveryNotYetSent):
        jobs.deliver(delivery_id)
    # LINE answered, so the first reply's outcome is known: it did not deliver. Expire the token at LINE.
    line.http.post("/emulator/settings", json={"reply_token_ttl_seconds": 0}).raise_for_status()
    assert jobs.deliver(delivery_id) == "delivered"
    assert state_of(line.rt, delivery_id).method == "push"
    assert acks_on_screen(line, pupil) == 1


def test_a_delivery_is_given_up_only_after_a_day(line: LinePlatform) -> None:
    from datetime import UTC, datetime, timedelta

    _pupil, delivery_id = one_delivery(line, by_push=True)
    line.fault(endpoint="push", status=503, count=10)
    for _ in range(3):  # many failures within the day: still pending
        with pytest.raises(jobs.DeliveryNotYetSent):
            jobs.deliver(delivery_id)
    assert state_of(line.rt, delivery_id).state == DeliveryState.pending
    with line.rt.sessions() as s, s.begin():
        s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(created_at=datetime.now(UTC) - timedelta(hours=25))
        )
    assert jobs.deliver(delivery_id) == "failed"


def test_token_refused_on_first_use_falls_back_to_push(line: LinePlatform) -> None:
    # LINE considers the token expired although Koe thought it young (clocks differ, LINE was slow).
    line.http.post("/emulator/settings", json={"reply_token_ttl_seconds": 0}).raise_for_status()
    pupil, delivery_id = one_delivery(line)
    assert jobs.deliver(delivery_id) == "delivered"
    d = state_of(line.rt, delivery_id)
    assert d.method == "push"
    assert [m["sent_via"] for m in line.bot_messages(pupil)] == ["push"]


def test_timeout_is_retried_and_the_message_arrives_once(line: LinePlatform) -> None:
    line.rt.settings.line_timeout_seconds = 0.5
    line.rt.__dict__.pop("line", None)
    pupil, delivery_id = one_delivery(line, by_push=True)
    # LINE is slow but does deliver: Koe gives up waiting, and its retry must not deliver twice.
    line.fault(endpoint="push", delay_seconds=1.5, count=1)
    with pytest.raises(jobs.DeliveryNotYetSent):
        jobs.deliver(delivery_id)
    assert state_of(line.rt, delivery_id).last_error == "timeout"
    import time

    time.sleep(1.5)
    assert jobs.deliver(delivery_id) == "delivered"
    assert state_of(line.rt, delivery_id).last_status == 409
    assert acks_on_screen(line, pupil) == 1


def test_a_refused_message_fails_for_good(line: LinePlatform) -> None:
    _pupil, delivery_id = one_delivery(line, by_push=True)
    line.fault(endpoint="push", status=403, count=1)
    assert jobs.deliver(delivery_id) == "failed"
    assert state_of(line.rt, delivery_id).state == DeliveryState.failed
    assert jobs.deliver(delivery_id) == "nothing_to_do"


def test_loading_animation_and_mark_as_read_reach_line(line: LinePlatform) -> None:
    pupil = line.new_pupil()
    line.send(pupil, "text", text="いま話せる？")
    assert line.rt.line.show_loading("youth", pupil, 10).status == 202
    assert line.http.get(f"/emulator/chats/youth/{pupil}").json()["loading"] is True
    # The token travels to Koe inside the webhook event; here we take it from the emulator's side.
    token = next(
        t for t, (_desk, chat, _m) in line.emulator.state.mark_as_read_tokens.items() if chat == pupil
    )
    assert line.rt.line.mark_as_read("youth", token).ok
    assert line.chat(pupil)[0]["read"] is True
