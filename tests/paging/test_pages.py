"""Pages in the database and the console: who is told at each step, what stops the chain, and what can never
happen twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from counsellor_console import paging
from koe import jobs
from koe.app import create_app
from koe.queues import PAGING
from koe.runtime import Runtime
from koe.worker import run_worker
from models import (
    AuditEntry,
    Consultation,
    ConsultationState,
    NoticeState,
    Page,
    PageNotice,
    PageState,
    RiskLevel,
    Role,
    User,
)
from tests import line_events as le
from tests.console.helpers import login, make_user, pupil_writes
from tests.intake import close_desk_now, delivered_texts, deliveries, process
from tests.paging.helpers import on_duty_now, pages, shift_now, told

URGENT = "もう無理。今夜飛び降りる"


def client_for(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt))


@pytest.fixture
def pupil(runtime: Runtime) -> TestClient:
    return client_for(runtime)


def test_an_urgent_message_pages_the_primary_at_once_and_sets_the_timer(
    pupil: TestClient, runtime: Runtime
) -> None:
    duty = on_duty_now(runtime)
    pubsub = runtime.redis.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(jobs.EVENTS_CHANNEL)
    pubsub.get_message(timeout=1)
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)

    (page,) = pages(runtime)
    assert page.consultation_id == consultation_id and page.state == PageState.open and page.step == 0
    assert page.shift_id == duty.shift and page.risk == RiskLevel.urgent
    assert told(runtime, page.id) == {0: {duty.primary}}
    first = orjson.loads(pubsub.get_message(timeout=2)["data"])
    assert first == {
        "type": "page",
        "page_id": page.id,
        "consultation_id": consultation_id,
        "risk": "urgent",
        "step": 0,
    }
    with runtime.sessions() as s:
        notice = s.scalars(select(PageNotice)).one()
    assert notice.state == NoticeState.sent and notice.sent_at is not None  # on the console's stream
    # The next step waits on RQ's scheduler, due when the page has had its minute.
    registry = runtime.queues.queue(PAGING).scheduled_job_registry
    assert registry.get_job_ids() == [f"page-{page.id}-step-1"]
    due = registry.get_scheduled_time(f"page-{page.id}-step-1")
    assert page.next_escalation_at is not None
    assert abs((due - page.next_escalation_at).total_seconds()) < 1
    assert timedelta(seconds=59) < page.next_escalation_at - page.created_at <= timedelta(seconds=60)


def test_escalation_adds_the_backup_then_the_supervisor_and_repeats(
    pupil: TestClient, runtime: Runtime
) -> None:
    duty = on_duty_now(runtime)
    pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)

    assert jobs.escalate_page(page.id, 1) == "step_1"
    assert jobs.escalate_page(page.id, 2) == "step_2"
    assert jobs.escalate_page(page.id, 3) == "step_3"
    everyone = {duty.primary, duty.backup, duty.supervisor}
    assert told(runtime, page.id) == {
        0: {duty.primary},
        1: {duty.primary, duty.backup},
        2: everyone,
        3: everyone,  # and again, every minute, until someone answers
    }
    # A duplicate timer, or one left over from an earlier step, does nothing.
    assert jobs.escalate_page(page.id, 3) == "nothing_to_do"
    assert jobs.escalate_page(page.id, 1) == "nothing_to_do"
    assert jobs.escalate_page(page.id, 5) == "nothing_to_do"
    (page,) = pages(runtime)
    assert page.step == 3
    assert sum(len(people) for people in told(runtime, page.id).values()) == 9


def test_acknowledging_in_the_console_stops_the_chain_and_takes_the_case(
    pupil: TestClient, runtime: Runtime
) -> None:
    duty = on_duty_now(runtime)
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    jobs.escalate_page(page.id, 1)

    ren = client_for(runtime)
    token = login(ren, "ren")  # the backup, told at step 1
    banner = ren.get("/console/pages/banner")
    assert f'data-page="{page.id}"' in banner.text and "受けます" in banner.text
    response = ren.post(f"/console/pages/{page.id}/ack", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/consultations/{consultation_id}"

    (page,) = pages(runtime)
    assert page.state == PageState.acknowledged and page.acknowledged_by_id == duty.backup
    assert page.acknowledged_via == "console" and page.next_escalation_at is None
    assert page.delivered_at is not None  # the banner was on ren's screen
    with runtime.sessions() as s:
        consultation = s.get(Consultation, consultation_id)
        assert consultation is not None and consultation.assigned_to_id == duty.backup
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.consultation_id == consultation_id)
        ).all()
    assert "page_ack" in actions and "claim" in actions
    assert jobs.escalate_page(page.id, 2) == "nothing_to_do"
    assert told(runtime, page.id) == {0: {duty.primary}, 1: {duty.primary, duty.backup}}
    assert 'data-page="' not in ren.get("/console/pages/banner").text


def test_a_page_is_acknowledged_only_by_someone_it_reached(pupil: TestClient, runtime: Runtime) -> None:
    on_duty_now(runtime)
    pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    outsider = client_for(runtime)
    make_user(runtime, "yui", Role.counsellor)
    token = login(outsider, "yui")
    assert 'data-page="' not in outsider.get("/console/pages/banner").text
    assert outsider.post(f"/console/pages/{page.id}/ack", data={"csrf": token}).status_code == 404
    assert outsider.post(f"/console/pages/{page.id}/ack", data={"csrf": "forged"}).status_code == 403
    assert pages(runtime)[0].state == PageState.open


def test_replying_answers_the_page_and_records_the_first_reply(pupil: TestClient, runtime: Runtime) -> None:
    duty = on_duty_now(runtime)
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)
    hana = client_for(runtime)
    token = login(hana, "hana")
    hana.post(
        f"/console/consultations/{consultation_id}/reply",
        data={"csrf": token, "text": "ここにいるよ。話してくれてありがとう"},
    )
    (page,) = pages(runtime)
    assert page.state == PageState.acknowledged and page.acknowledged_via == "reply"
    assert page.acknowledged_by_id == duty.primary and page.first_reply_at is not None


def test_more_urgent_messages_join_the_running_page(pupil: TestClient, runtime: Runtime) -> None:
    on_duty_now(runtime)
    user, _ = pupil_writes(pupil, runtime, URGENT)
    pupil_writes(pupil, runtime, "薬を全部飲んだ", user=user)
    (page,) = pages(runtime)
    assert page.repeats == 1 and page.state == PageState.open


def test_with_nobody_on_the_roster_everyone_active_is_paged(pupil: TestClient, runtime: Runtime) -> None:
    ids = {
        make_user(runtime, name, role) for name, role in (("aoi", Role.counsellor), ("sv", Role.supervisor))
    }
    make_user(runtime, "admin", Role.admin)
    make_user(runtime, "board", Role.board)
    pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    assert page.shift_id is None and told(runtime, page.id) == {0: ids}


def test_high_pages_only_when_configured(runtime: Runtime) -> None:
    on_duty_now(runtime)
    client = client_for(runtime)
    process(client, runtime, "youth", le.text_event(le.user_id(), "消えたい"))
    assert pages(runtime) == []
    runtime.settings.page_min_risk = "high"
    runtime.__dict__.pop("paging_policy", None)
    process(client, runtime, "youth", le.text_event(le.user_id(), "消えたい"))
    (page,) = pages(runtime)
    assert page.risk == RiskLevel.high


def test_a_counsellors_own_raise_pages_no_one(pupil: TestClient, runtime: Runtime) -> None:
    on_duty_now(runtime)
    _, consultation_id = pupil_writes(pupil, runtime, "友達ができない")
    hana = client_for(runtime)
    token = login(hana, "hana")
    hana.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    hana.post(f"/console/consultations/{consultation_id}/risk", data={"csrf": token, "risk": "urgent"})
    with runtime.sessions() as s:
        assert s.get(Consultation, consultation_id).risk == RiskLevel.urgent  # type: ignore[union-attr]
    assert pages(runtime) == []


def test_the_sweeper_runs_a_lost_timer_once(pupil: TestClient, runtime: Runtime) -> None:
    duty = on_duty_now(runtime)
    pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    runtime.queues.queue(PAGING).scheduled_job_registry.remove(f"page-{page.id}-step-1")  # the timer is lost
    with runtime.sessions() as s, s.begin():
        found = s.get(Page, page.id)
        assert found is not None
        found.next_escalation_at = datetime.now(UTC) - timedelta(seconds=10)

    assert jobs.sweep()["page_timers"] == 1
    run_worker(runtime, burst=True)
    assert told(runtime, page.id)[1] == {duty.primary, duty.backup}
    # Swept again at once: the page's timer is in the future now, so nothing is due.
    assert jobs.sweep()["page_timers"] == 0
    run_worker(runtime, burst=True)
    assert set(told(runtime, page.id)) == {0, 1}


def test_out_of_hours_the_on_call_person_is_paged_and_the_sender_gets_the_hotlines(
    pupil: TestClient, runtime: Runtime
) -> None:
    close_desk_now(runtime, "youth")
    night = make_user(runtime, "yoru", Role.counsellor)
    shift_now(runtime, "youth", primary=night, on_call=True)
    pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    assert told(runtime, page.id) == {0: {night}}
    (hotlines,) = [d for d in deliveries(runtime) if d.purpose == "urgent_hotlines"]
    assert "0120-0-78310" in delivered_texts(hotlines)[0]


def test_the_counsellor_who_has_the_case_is_paged_and_only_they_or_a_supervisor_can_answer(
    pupil: TestClient, runtime: Runtime
) -> None:
    duty = on_duty_now(runtime)
    aoi = make_user(runtime, "aoi", Role.counsellor)  # not on the roster
    user, consultation_id = pupil_writes(pupil, runtime, "部活のことで話したい")
    aoi_client = client_for(runtime)
    aoi_token = login(aoi_client, "aoi")
    aoi_client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": aoi_token})
    pupil_writes(pupil, runtime, URGENT, user=user)
    (page,) = pages(runtime)
    assert told(runtime, page.id) == {0: {aoi, duty.primary}}

    hana = client_for(runtime)
    token = login(hana, "hana")
    refused = hana.post(f"/console/pages/{page.id}/ack", data={"csrf": token})
    assert refused.status_code == 409 and "ほかの相談員が担当" in refused.text
    assert pages(runtime)[0].state == PageState.open  # the chain goes on: aoi and the supervisor will hear
    aoi_client.post(f"/console/pages/{page.id}/ack", data={"csrf": aoi_token})
    assert pages(runtime)[0].acknowledged_by_id == aoi


def test_a_page_follows_its_consultation_when_merged(pupil: TestClient, runtime: Runtime) -> None:
    on_duty_now(runtime)
    user = le.user_id()
    process(pupil, runtime, "youth", le.text_event(user, "部活のことで相談したい"))
    with runtime.sessions() as s, s.begin():
        s.execute(update(Consultation).values(last_message_at=datetime.now(UTC) - timedelta(days=7)))
    process(pupil, runtime, "youth", le.text_event(user, URGENT))
    with runtime.sessions() as s, s.begin():
        first, second = s.scalars(select(Consultation).order_by(Consultation.id)).all()
        first.state = ConsultationState.open
    (page,) = pages(runtime)
    assert page.consultation_id == second.id
    sv = client_for(runtime)
    token = login(sv, "sv")
    sv.post(f"/console/consultations/{first.id}/merge", data={"csrf": token, "other_id": second.id})
    (page,) = pages(runtime)
    assert page.consultation_id == first.id and page.state == PageState.open
    sv.post(f"/console/consultations/{first.id}/close", data={"csrf": token, "outcome": "resolved"})
    (page,) = pages(runtime)
    assert page.state == PageState.acknowledged and page.acknowledged_via == "close"


def test_an_answered_page_with_no_reply_runs_again(pupil: TestClient, runtime: Runtime) -> None:
    duty = on_duty_now(runtime)
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    with runtime.sessions() as s, s.begin():  # the primary answered on a link, eleven minutes ago
        hana = s.get(User, duty.primary)
        assert hana is not None
        paging.acknowledge(
            s, page_id=page.id, user=hana, via="link", now=datetime.now(UTC) - timedelta(minutes=11)
        )
    assert jobs.sweep()["pages_reopened"] == 1
    run_worker(runtime, burst=True)
    (page,) = pages(runtime)
    assert page.state == PageState.open and page.reopens == 1 and page.step == 1
    assert told(runtime, page.id)[1] == {duty.primary, duty.backup}
    assert jobs.sweep()["pages_reopened"] == 0  # open again: escalating, not reopened twice

    # Once someone replies, an answered page stays answered.
    ren = client_for(runtime)
    token = login(ren, "ren")
    ren.post(f"/console/consultations/{consultation_id}/reply", data={"csrf": token, "text": "ここにいるよ"})
    with runtime.sessions() as s, s.begin():
        found = s.get(Page, page.id)
        assert found is not None and found.state == PageState.acknowledged
        found.acknowledged_at = datetime.now(UTC) - timedelta(hours=1)
    assert jobs.sweep()["pages_reopened"] == 0


def test_the_sweeper_announces_a_page_whose_news_never_went_out(pupil: TestClient, runtime: Runtime) -> None:
    duty = on_duty_now(runtime)
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    with runtime.sessions() as s, s.begin():  # as if Redis had been away when the page was made
        notice = s.scalars(select(PageNotice)).one()
        notice.state, notice.sent_at = NoticeState.pending, None
        notice.created_at = datetime.now(UTC) - timedelta(seconds=30)
    pubsub = runtime.redis.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(jobs.EVENTS_CHANNEL)
    pubsub.get_message(timeout=1)
    assert jobs.sweep()["console_notices"] == 1
    news = orjson.loads(pubsub.get_message(timeout=2)["data"])
    assert news == {
        "type": "page",
        "page_id": page.id,
        "consultation_id": consultation_id,
        "risk": "urgent",
        "step": 0,
    }
    with runtime.sessions() as s:
        notice = s.scalars(select(PageNotice)).one()
    assert notice.state == NoticeState.sent and notice.user_id == duty.primary
    assert jobs.sweep()["console_notices"] == 0
