"""Merging two consultations of one worry, and splitting one where a new worry began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from koe.app import create_app
from koe.runtime import Runtime
from models import AuditEntry, Consultation, ConsultationState, Message, MessageAuthor, RiskLevel, Role
from tests import line_events as le
from tests.console.helpers import login, make_user
from tests.intake import process


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def _consultations(rt: Runtime) -> list[Consultation]:
    with rt.sessions() as s:
        return list(s.scalars(select(Consultation).order_by(Consultation.id)))


def test_merge_brings_the_other_consultations_messages_and_risk(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "部活のことで相談したい"))
    # A week later the same pupil writes again: a second consultation, the same worry.
    with runtime.sessions() as s, s.begin():
        s.execute(update(Consultation).values(last_message_at=datetime.now(UTC) - timedelta(days=7)))
    process(client, runtime, "youth", le.text_event(user, "先輩に毎日なぐられてる"))
    first, second = _consultations(runtime)
    assert second.risk == RiskLevel.high and first.risk == RiskLevel.low

    # Reopen the first (the quiet gap closed it) to show the merge of two open cases.
    with runtime.sessions() as s, s.begin():
        s.execute(
            update(Consultation).where(Consultation.id == first.id).values(state=ConsultationState.open)
        )
    token = login(client, "aoi")
    client.post(f"/console/consultations/{first.id}/claim", data={"csrf": token})
    page = client.get(f"/console/consultations/{first.id}").text
    assert "相談をまとめる" in page and f'value="{second.id}"' in page
    client.post(f"/console/consultations/{first.id}/merge", data={"csrf": token, "other_id": second.id})

    first, second = _consultations(runtime)
    assert second.state == ConsultationState.closed and second.merged_into_id == first.id
    assert first.risk == RiskLevel.high and first.message_count == 2
    with runtime.sessions() as s:
        texts = s.scalars(
            select(Message.text).where(
                Message.consultation_id == first.id, Message.author == MessageAuthor.sender
            )
        ).all()
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "merge")).one()
    assert set(texts) == {"部活のことで相談したい", "先輩に毎日なぐられてる"}
    # The merged one leaves the queue; a second merge of it is refused.
    assert f'data-consultation="{second.id}"' not in client.get("/console/queue/rows").text
    again = client.post(
        f"/console/consultations/{first.id}/merge", data={"csrf": token, "other_id": second.id}
    )
    assert again.status_code == 409


def test_merging_another_senders_consultation_is_refused(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    process(client, runtime, "youth", le.text_event(le.user_id(), "ねむれない"))
    process(client, runtime, "youth", le.text_event(le.user_id(), "ともだちがいない"))
    a, b = _consultations(runtime)
    token = login(client, "aoi")
    client.post(f"/console/consultations/{a.id}/claim", data={"csrf": token})
    response = client.post(f"/console/consultations/{a.id}/merge", data={"csrf": token, "other_id": b.id})
    assert response.status_code == 409 and "同じ相談者" in response.text
    assert all(c.merged_into_id is None for c in _consultations(runtime))


def test_split_moves_the_later_messages_to_a_new_consultation(client: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "数学のテストが不安"))
    process(client, runtime, "youth", le.text_event(user, "あと、お父さんに毎晩なぐられてる"))
    process(client, runtime, "youth", le.text_event(user, "あざがある"))
    (c,) = _consultations(runtime)
    # Hit every night: high, or urgent if the model reads "every night" as tonight too.
    assert c.risk in (RiskLevel.high, RiskLevel.urgent)
    token = login(client, "aoi")
    client.post(f"/console/consultations/{c.id}/claim", data={"csrf": token})
    with runtime.sessions() as s:
        ids = s.scalars(
            select(Message.id)
            .where(Message.author == MessageAuthor.sender)
            .order_by(Message.sent_at, Message.id)
        ).all()
    refused = client.post(f"/console/consultations/{c.id}/messages/{ids[0]}/split", data={"csrf": token})
    assert refused.status_code == 409 and "最初のメッセージ" in refused.text

    response = client.post(
        f"/console/consultations/{c.id}/messages/{ids[1]}/split", data={"csrf": token}, follow_redirects=False
    )
    assert response.status_code == 303
    old, new = _consultations(runtime)
    assert response.headers["location"] == f"/console/consultations/{new.id}"
    assert old.message_count == 1 and new.message_count == 2
    assert old.risk == RiskLevel.low and new.risk == c.risk  # each keeps the highest of its own messages
    assert "study_career" in (old.topics or []) and "abuse" in (new.topics or [])
    with runtime.sessions() as s:
        moved = s.scalars(select(Message.consultation_id).where(Message.id.in_(ids[1:]))).all()
    assert set(moved) == {new.id}


def test_a_counsellors_level_survives_a_split_and_closed_cases_are_not_merged(
    client: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    user = le.user_id()
    process(client, runtime, "youth", le.text_event(user, "きょうは雨"))
    process(client, runtime, "youth", le.text_event(user, "あしたも雨かな"))
    (c,) = _consultations(runtime)
    token = login(client, "aoi")
    client.post(f"/console/consultations/{c.id}/claim", data={"csrf": token})
    client.post(f"/console/consultations/{c.id}/risk", data={"csrf": token, "risk": "urgent"})
    with runtime.sessions() as s:
        second = s.scalars(
            select(Message.id).where(Message.author == MessageAuthor.sender).order_by(Message.id.desc())
        ).first()
    client.post(f"/console/consultations/{c.id}/messages/{second}/split", data={"csrf": token})
    old, new = _consultations(runtime)
    assert old.risk == RiskLevel.urgent and new.risk == RiskLevel.urgent
    assert old.risk_source == new.risk_source == "counsellor"

    client.post(f"/console/consultations/{new.id}/close", data={"csrf": token, "outcome": "resolved"})
    refused = client.post(f"/console/consultations/{old.id}/merge", data={"csrf": token, "other_id": new.id})
    assert refused.status_code == 409 and "終了した相談" in refused.text
