"""The queue's order and the work on one consultation: reply, notes, close, corrections, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from koe import jobs
from koe.app import create_app
from koe.runtime import Runtime
from models import (
    AuditEntry,
    Consultation,
    ConsultationNote,
    ConsultationState,
    Delivery,
    Message,
    MessageAuthor,
    Referral,
    RiskEvent,
    RiskLevel,
    Role,
    TriageCorrection,
)
from tests import line_events as le
from tests.console.helpers import login, make_user, pupil_writes, user_id
from tests.intake import process


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def _set(rt: Runtime, consultation_id: int, **values: object) -> None:
    with rt.sessions() as s, s.begin():
        s.execute(update(Consultation).where(Consultation.id == consultation_id).values(**values))


def test_queue_puts_the_most_dangerous_first_then_the_longest_waiting(
    client: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, low_old = pupil_writes(client, runtime, "あしたの遠足たのしみ")
    _, medium = pupil_writes(client, runtime, "仲間はずれが続いててつらい。毎日しんどい")
    _, urgent = pupil_writes(client, runtime, "もう無理。今夜飛び降りる")
    _, low_new = pupil_writes(client, runtime, "しゅくだいおわらない")
    _, high = pupil_writes(client, runtime, "お父さんに毎日なぐられてる。あざだらけ")
    with runtime.sessions() as s:
        risks = {cid: risk for cid, risk in s.execute(select(Consultation.id, Consultation.risk))}
    assert risks[urgent] == RiskLevel.urgent and risks[high] == RiskLevel.high
    assert risks[low_old] == RiskLevel.low and risks[low_new] == RiskLevel.low
    # Make the waiting order plain: the older low case has waited an hour longer.
    with runtime.sessions() as s, s.begin():
        s.execute(
            update(Message)
            .where(Message.consultation_id == low_old)
            .values(sent_at=datetime.now(UTC) - timedelta(hours=1))
        )

    login(client, "aoi")
    rows = client.get("/console/queue/rows").text
    order = [int(part.split('"', 1)[0]) for part in rows.split('data-consultation="')[1:]]
    assert order[:2] == [urgent, high]
    assert order.index(medium) < order.index(low_old) < order.index(low_new)
    assert "緊急" in rows and "希死念慮・自傷" in rows and "小学生" not in rows


def test_reply_goes_out_through_the_outbound_queue_and_is_audited(
    client: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "友達とけんかした。なかなおりしたい")
    token = login(client, "aoi")
    page = client.get(f"/console/consultations/{consultation_id}")
    assert page.status_code == 200 and "なかなおりしたい" in page.text

    response = client.post(
        f"/console/consultations/{consultation_id}/reply",
        data={"csrf": token, "text": "話してくれてありがとう。<b>どんなけんか</b>だったか教えてくれる？"},
    )
    assert response.status_code == 200
    with runtime.sessions() as s:
        reply = s.scalars(select(Message).where(Message.author == MessageAuthor.counsellor)).one()
        delivery = s.get(Delivery, reply.delivery_id)
        c = s.get(Consultation, consultation_id)
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.consultation_id == consultation_id)
        ).all()
    assert delivery is not None and delivery.purpose == "counsellor_reply" and delivery.reply_token is None
    assert reply.author_user_id == user_id(runtime, "aoi")
    assert c is not None and c.assigned_to_id == user_id(runtime, "aoi") and c.first_reply_at is not None
    assert actions.count("view") >= 2 and "reply" in actions
    # The job is on the outbound queue with the delivery's own ID.
    assert runtime.queues.queue("outbound").fetch_job(f"delivery-{delivery.id}") is not None
    # The counsellor's words are shown as text, not as markup.
    assert "&lt;b&gt;どんなけんか&lt;/b&gt;" in response.text
    # No words in the audit log.
    with runtime.sessions() as s:
        details = [orjson.dumps(d).decode() for d in s.scalars(select(AuditEntry.detail))]
    assert not any("けんか" in d for d in details)


def test_empty_or_too_long_replies_are_refused_with_a_reason(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "ねむれない")
    token = login(client, "aoi")
    for text, reason in (("   ", "入力してください"), ("あ" * 5001, "5000文字まで")):
        response = client.post(
            f"/console/consultations/{consultation_id}/reply", data={"csrf": token, "text": text}
        )
        assert response.status_code in (409, 422)
        if response.status_code == 409:
            assert reason in response.text
    with runtime.sessions() as s:
        assert s.scalars(select(Delivery).where(Delivery.purpose == "counsellor_reply")).all() == []


def test_close_with_outcome_and_referrals(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "お母さんに毎日たたかれる")
    token = login(client, "aoi")
    client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    missing = client.post(
        f"/console/consultations/{consultation_id}/close", data={"csrf": token, "outcome": "referred"}
    )
    assert missing.status_code == 409 and "つないだ先を選んでください" in missing.text

    done = client.post(
        f"/console/consultations/{consultation_id}/close",
        data={
            "csrf": token,
            "outcome": "referred",
            "referrals": ["child_guidance", "school"],
            "referral_note": "担任と共有",
        },
    )
    assert done.status_code == 200 and "児童相談所" in done.text
    with runtime.sessions() as s:
        c = s.get(Consultation, consultation_id)
        referrals = s.scalars(select(Referral.destination).order_by(Referral.id)).all()
    assert c is not None and c.state == ConsultationState.closed and c.outcome == "referred"
    assert [str(r) for r in referrals] == ["child_guidance", "school"]
    # Closed: it leaves the queue, and replies are refused.
    assert f'data-consultation="{consultation_id}"' not in client.get("/console/queue/rows").text
    late = client.post(
        f"/console/consultations/{consultation_id}/reply", data={"csrf": token, "text": "まだいる？"}
    )
    assert late.status_code == 409 and "終了しています" in late.text


def test_notes_are_private_and_never_sent(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "クラスでひとりぼっち")
    token = login(client, "aoi")
    client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    before = len(list(_deliveries(runtime)))
    client.post(
        f"/console/consultations/{consultation_id}/notes", data={"csrf": token, "body": "明日も様子を見る"}
    )
    with runtime.sessions() as s:
        note = s.scalars(select(ConsultationNote)).one()
    assert note.body == "明日も様子を見る" and len(list(_deliveries(runtime))) == before
    assert "明日も様子を見る" in client.get(f"/console/consultations/{consultation_id}").text


def _deliveries(rt: Runtime) -> list[Delivery]:
    with rt.sessions() as s:
        return list(s.scalars(select(Delivery)))


def test_counsellor_risk_sticks_until_a_riskier_message_arrives(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    user, consultation_id = pupil_writes(client, runtime, "毎日なぐられてる")
    token = login(client, "aoi")
    # Only the counsellor who has the case changes its level.
    refused = client.post(
        f"/console/consultations/{consultation_id}/risk", data={"csrf": token, "risk": "low"}
    )
    assert refused.status_code == 409 and "担当してから" in refused.text
    client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    client.post(f"/console/consultations/{consultation_id}/risk", data={"csrf": token, "risk": "medium"})
    process(client, runtime, "youth", le.text_event(user, "きょうは給食おいしかった"))
    with runtime.sessions() as s:
        c = s.get(Consultation, consultation_id)
    assert c is not None and c.risk == RiskLevel.medium and c.risk_source == "counsellor"

    process(client, runtime, "youth", le.text_event(user, "いまから屋上から飛び降りる"))
    with runtime.sessions() as s:
        c = s.get(Consultation, consultation_id)
        events = s.scalars(select(RiskEvent).where(RiskEvent.consultation_id == consultation_id)).all()
    assert c is not None and c.risk == RiskLevel.urgent and c.risk_source == "triage"
    assert events[-1].risk == RiskLevel.urgent


def test_raising_the_risk_by_hand_is_an_event_paging_reads(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "あしたテスト")
    token = login(client, "aoi")
    client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    client.post(f"/console/consultations/{consultation_id}/risk", data={"csrf": token, "risk": "urgent"})
    with runtime.sessions() as s:
        event = s.scalars(select(RiskEvent).where(RiskEvent.consultation_id == consultation_id)).one()
    assert event.risk == RiskLevel.urgent and event.source == "counsellor" and event.message_id is None


def test_corrections_are_kept_for_retraining(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "部活やめたい")
    token = login(client, "aoi")
    client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    with runtime.sessions() as s:
        message_id = s.scalars(select(Message.id).where(Message.author == MessageAuthor.sender)).one()
    url = f"/console/consultations/{consultation_id}/messages/{message_id}/correction"
    refused = client.post(url, data={"csrf": token, "risk": "low", "topics": ["other", "school"]})
    assert refused.status_code == 409 and "その他" in refused.text
    client.post(url, data={"csrf": token, "risk": "medium", "topics": ["school", "mental_health"]})
    with runtime.sessions() as s:
        correction = s.scalars(select(TriageCorrection)).one()
    assert correction.topics == ["school", "mental_health"] and correction.risk == RiskLevel.medium
    # A message of another consultation cannot be corrected through this one.
    _, other_id = pupil_writes(client, runtime, "ねむれない")
    with runtime.sessions() as s:
        foreign = s.scalars(select(Message.id).where(Message.consultation_id == other_id)).first()
    response = client.post(
        f"/console/consultations/{consultation_id}/messages/{foreign}/correction",
        data={"csrf": token, "risk": "low", "topics": ["school"]},
    )
    assert response.status_code == 403


def test_evidence_is_highlighted_and_message_html_is_shown_as_text(
    client: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "<script>alert(1)</script>今夜しにたい")
    login(client, "aoi")
    html = client.get(f"/console/consultations/{consultation_id}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>" in html


def test_a_supervisor_assigns_and_a_counsellor_transfers(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "ren", Role.counsellor)
    make_user(runtime, "sv", Role.supervisor)
    _, consultation_id = pupil_writes(client, runtime, "家に帰りたくない")
    sv = TestClient(create_app(runtime))
    token = login(sv, "sv")
    sv.post(
        f"/console/consultations/{consultation_id}/assign",
        data={"csrf": token, "to_user_id": user_id(runtime, "aoi")},
    )
    aoi = TestClient(create_app(runtime))
    aoi_token = login(aoi, "aoi")
    aoi.post(
        f"/console/consultations/{consultation_id}/assign",
        data={"csrf": aoi_token, "to_user_id": user_id(runtime, "ren")},
    )
    with runtime.sessions() as s:
        c = s.get(Consultation, consultation_id)
        actions = s.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.in_(["assign", "transfer"]))
            .order_by(AuditEntry.id)
        ).all()
    assert c is not None and c.assigned_to_id == user_id(runtime, "ren")
    assert actions == ["assign", "transfer"]
    assert aoi.get(f"/console/consultations/{consultation_id}").status_code == 404


def test_admin_reads_the_audit_log(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "root", Role.admin)
    _, consultation_id = pupil_writes(client, runtime, "いじめられてる")
    counsellor = TestClient(create_app(runtime))
    login(counsellor, "aoi")
    counsellor.get(f"/console/consultations/{consultation_id}")
    admin = TestClient(create_app(runtime))
    login(admin, "root")
    page = admin.get("/console/admin/audit").text
    assert "aoi" in page and "view" in page
    assert "いじめられてる" not in page  # the log names the case, never its words
    # Admins manage accounts but do not read consultations.
    assert admin.get(f"/console/consultations/{consultation_id}").status_code == 403


def test_koe_user_add_reads_the_password_from_stdin(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from koe import cli

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["user", "add", "mika", "--role", "supervisor"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "add", "kai", "--role", "counsellor"]) == 1
    client = TestClient(create_app(runtime))
    login(client, "mika", "a long enough password")
    assert client.get("/console/queue").status_code == 200


def test_announcements_carry_ids_only(client: TestClient, runtime: Runtime) -> None:
    pubsub = runtime.redis.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(jobs.EVENTS_CHANNEL)
    pubsub.get_message(timeout=1)
    pupil_writes(client, runtime, "ひみつの話があります")
    message = pubsub.get_message(timeout=2)
    assert message is not None
    payload = orjson.loads(message["data"])
    assert payload["type"] == "consultation_changed" and set(payload) == {"type", "consultation_id"}


def test_a_withdrawn_message_leaves_no_words_in_the_console(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    user = le.user_id()
    event = le.text_event(user, "お父さんに毎日なぐられてる。あざだらけ")
    process(client, runtime, "youth", event)
    unsend = le.base_event("unsend", user)
    unsend["unsend"] = {"messageId": event["message"]["id"]}
    process(client, runtime, "youth", unsend)
    with runtime.sessions() as s:
        consultation_id = s.scalars(select(Consultation.id)).one()
        from models import MessageTriage

        evidence = s.scalars(select(MessageTriage.evidence)).one()
    assert all(e["matched"] is None for e in evidence)
    assert all(e["label"] is None for e in evidence if e["kind"] == "term")
    login(client, "aoi")
    html = client.get(f"/console/consultations/{consultation_id}/thread").text
    assert "送信を取り消しました" in html
    for word in ("父", "なぐ", "殴", "あざ"):
        assert word not in html


def test_typing_shows_the_loading_animation_only_for_the_counsellor_who_has_the_case(
    client: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    _, consultation_id = pupil_writes(client, runtime, "きいてほしいことがある")
    token = login(client, "aoi")
    url = f"/console/consultations/{consultation_id}/typing"
    assert client.post(url).status_code == 403  # no CSRF token
    assert client.post(url, headers={"x-csrf-token": token}).status_code == 409  # not theirs yet
    client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    assert client.post(url, headers={"x-csrf-token": token}).status_code == 204
    assert client.post(url, headers={"x-csrf-token": token}).status_code == 204  # collapses into one job
    queue = runtime.queues.queue("outbound")
    assert queue.fetch_job(f"typing-{consultation_id}") is not None
    assert [j for j in queue.job_ids if j.startswith("typing-")] == [f"typing-{consultation_id}"]
