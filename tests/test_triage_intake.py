"""Triage wired into intake: every text is triaged in the worker, consultations take their highest risk, and
an urgent message gets the 24-hour hotlines at once, at any hour, and raises a risk event."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.risk import raise_risk
from koe import jobs
from koe.app import create_app
from koe.runtime import Runtime
from models import Consultation, Message, MessageTriage, Page, RiskEvent, RiskLevel
from tests import line_events as le
from tests.intake import close_desk_now, delivered_texts, deliveries, post, process
from triage import TriageResult


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def consultation(rt: Runtime) -> Consultation:
    with rt.sessions() as s:
        return s.scalars(select(Consultation)).one()


def test_urgent_message_out_of_hours_gets_hotlines_at_once_and_raises_an_event(
    client: TestClient, runtime: Runtime
) -> None:
    close_desk_now(runtime, "youth")
    pubsub = runtime.redis.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(jobs.EVENTS_CHANNEL)
    pubsub.get_message(timeout=1)  # the subscription confirmation
    process(client, runtime, "youth", le.text_event(le.user_id(), "もうむり。今夜飛び降りる"))

    (d,) = deliveries(runtime)
    assert d.purpose == "urgent_hotlines" and d.reply_token is not None
    first, when = delivered_texts(d)
    for number in ("0120-0-78310", "189", "110", "119"):
        assert number in first
    assert "相談員がいるのは" in when
    c = consultation(runtime)
    assert c.risk == RiskLevel.urgent and "suicide_selfharm" in (c.topics or [])
    with runtime.sessions() as s:
        (event,) = s.scalars(select(RiskEvent)).all()
        triage_row = s.scalars(select(MessageTriage)).one()
    assert event.risk == RiskLevel.urgent and event.previous_risk is None
    assert triage_row.model_version.startswith("triage-")
    assert any(e["kind"] == "rule" for e in triage_row.evidence)
    news = []
    while (announced := pubsub.get_message(timeout=2)) is not None:
        news.append(orjson.loads(announced["data"]))
    # The page goes out first (someone must come), then the news for the queues.
    with runtime.sessions() as s:
        (page,) = s.scalars(select(Page)).all()
    assert news[0] == {
        "type": "page",
        "page_id": page.id,
        "consultation_id": c.id,
        "risk": "urgent",
        "step": 0,
    }
    assert {
        "type": "risk_raised",
        "risk_event_id": event.id,
        "consultation_id": c.id,
        "risk": "urgent",
    } in news


def test_a_later_message_raises_the_consultation_at_once(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "ともだちと遊ぶ約束した、たのしみ"))
    before = consultation(runtime).risk
    assert before in (RiskLevel.low, RiskLevel.medium)
    process(client, runtime, "youth", le.text_event(user, "もう消えたい"))
    assert consultation(runtime).risk == RiskLevel.high
    with runtime.sessions() as s:
        risks = [e.risk for e in s.scalars(select(RiskEvent).order_by(RiskEvent.id))]
        assert len(s.scalars(select(MessageTriage)).all()) == 2
    assert risks[-1] == RiskLevel.high


def test_a_counsellors_level_sticks_until_a_riskier_message(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "しにたい"))
    with runtime.sessions() as s, s.begin():
        c = s.scalars(select(Consultation)).one()
        # A counsellor talked with them and judged the risk lower.
        c.risk, c.risk_source = RiskLevel.medium, "counsellor"
    process(client, runtime, "youth", le.text_event(user, "きいてくれてありがとう"))
    assert consultation(runtime).risk == RiskLevel.medium  # earlier messages do not undo the counsellor
    process(client, runtime, "youth", le.text_event(user, "やっぱり今夜死ぬ。薬を全部飲んだ"))
    c = consultation(runtime)
    assert (c.risk, c.risk_source) == (RiskLevel.urgent, "triage")


def test_raise_risk_never_lowers() -> None:
    c = Consultation(id=1, risk=RiskLevel.high)

    class NoSession:
        def add(self, _: object) -> None:
            raise AssertionError("nothing to record")

    assert raise_risk(NoSession(), consultation=c, risk=RiskLevel.medium, message_id=None, now=None) is None  # type: ignore[arg-type]
    assert c.risk == RiskLevel.high


def test_a_withdrawn_message_keeps_its_triage_not_its_words(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    message = le.text_event(user, "今夜飛び降りる")
    unsend = le.base_event("unsend", user)
    unsend["unsend"] = {"messageId": message["message"]["id"]}
    message_row, unsend_row = post(client, runtime, "youth", message, unsend)
    jobs.process_inbox_event(unsend_row)
    jobs.process_inbox_event(message_row)
    with runtime.sessions() as s:
        stored = s.scalars(select(Message).where(Message.author == "sender")).one()
        triage_row = s.scalars(select(MessageTriage)).one()
    assert stored.text is None and triage_row.risk == RiskLevel.urgent
    assert all(e["matched"] is None for e in triage_row.evidence)
    assert consultation(runtime).risk == RiskLevel.urgent


def test_every_urgent_message_raises_an_event_even_when_the_consultation_is_urgent(
    client: TestClient, runtime: Runtime
) -> None:
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "こんにちは"))
    process(client, runtime, "youth", le.text_event(user, "今夜飛び降りる"))
    process(client, runtime, "youth", le.text_event(user, "さっき薬を全部飲んだ"))
    with runtime.sessions() as s:
        risks = [e.risk for e in s.scalars(select(RiskEvent).order_by(RiskEvent.id))]
    # One event for each urgent message, so that paging hears of both; never one for low risk.
    assert risks[-2:] == [RiskLevel.urgent, RiskLevel.urgent]
    assert risks.count(RiskLevel.urgent) == 2 and RiskLevel.low not in risks


def test_a_model_failure_still_keeps_the_message_and_answers_urgent_danger(
    client: TestClient, runtime: Runtime
) -> None:
    import dataclasses

    def broken(_text: str, _desk: str) -> TriageResult:
        raise RuntimeError("model files unreadable")

    runtime.__dict__["flow"] = dataclasses.replace(runtime.flow, triage=broken)
    process(client, runtime, "youth", le.text_event(le.user_id(), "今夜飛び降りる"))
    with runtime.sessions() as s:
        stored = s.scalars(select(Message).where(Message.author == "sender")).one()
        triage_row = s.scalars(select(MessageTriage)).one()
    assert stored.text == "今夜飛び降りる"
    assert (triage_row.model_version, triage_row.risk) == ("safety-rules-only", RiskLevel.urgent)
    assert deliveries(runtime)[0].purpose == "urgent_hotlines"


def test_an_unsend_takes_the_words_out_of_the_evidence_too(client: TestClient, runtime: Runtime) -> None:
    user = le.user_id()
    message = le.text_event(user, "今夜飛び降りる")
    process(client, runtime, "youth", message)
    with runtime.sessions() as s:
        assert any(e["matched"] for e in s.scalars(select(MessageTriage)).one().evidence)
    unsend = le.base_event("unsend", user)
    unsend["unsend"] = {"messageId": message["message"]["id"]}
    process(client, runtime, "youth", unsend)
    with runtime.sessions() as s:
        row = s.scalars(select(MessageTriage)).one()
    assert row.risk == RiskLevel.urgent and row.evidence
    assert all(e["matched"] is None and e["span"] is None for e in row.evidence)
    assert "飛び降り" not in orjson.dumps(row.evidence).decode()
