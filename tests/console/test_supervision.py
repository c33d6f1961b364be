"""Supervisors: active chats and loads, 定型文, the referral directory (and the bot's use of it)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from koe.app import create_app
from koe.runtime import Runtime
from models import CannedResponse, ConsultationNote, NoteKind, Role, SupportResource
from tests import line_events as le
from tests.console.helpers import login, make_user, pupil_writes
from tests.intake import close_desk_now, delivered_texts, deliveries, process


def client_for(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt))


@pytest.fixture
def pupil(runtime: Runtime) -> TestClient:
    return client_for(runtime)


def test_overview_shows_every_active_chat_and_each_counsellors_load(
    pupil: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "sv", Role.supervisor)
    _, urgent = pupil_writes(pupil, runtime, "今から飛び降りる")
    _, calm = pupil_writes(pupil, runtime, "友達ができない")
    aoi = client_for(runtime)
    token = login(aoi, "aoi")
    aoi.post(f"/console/consultations/{urgent}/claim", data={"csrf": token})

    assert aoi.get("/console/supervisor").status_code == 403
    sv = client_for(runtime)
    sv_token = login(sv, "sv")
    body = sv.get("/console/supervisor/body").text
    pages, loads = body.split('class="loads"', 1)
    # The urgent message paged everyone (no roster yet); aoi's claim answered the page.
    assert "aoiさん（担当）" in pages and "応答済み" in pages and "当番なし" in pages
    load_row = loads.split("aoiさん", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td><td>1</td>" in load_row.replace(" ", "")  # one case, and it is urgent
    assert "未担当：1件" in body
    assert f'data-consultation="{urgent}"' in body and f'data-consultation="{calm}"' in body

    # The supervisor watches aoi's chat and leaves a note for aoi; aoi sees it, the pupil never does.
    watched = sv.get(f"/console/consultations/{urgent}")
    assert watched.status_code == 200 and 'id="reply-text"' not in watched.text
    sv.post(f"/console/consultations/{urgent}/notes", data={"csrf": sv_token, "body": "189への通告も検討を"})
    with runtime.sessions() as s:
        note = s.scalars(select(ConsultationNote)).one()
    assert note.kind == NoteKind.supervision
    assert "189への通告も検討を" in aoi.get(f"/console/consultations/{urgent}").text


def test_canned_responses_are_kept_by_supervisors_and_offered_in_the_reply_box(
    pupil: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "sv", Role.supervisor)
    sv = client_for(runtime)
    sv_token = login(sv, "sv")
    refused = sv.post("/console/canned", data={"csrf": sv_token, "title": "", "body": "x"})
    assert refused.status_code in (400, 422)
    sv.post(
        "/console/canned",
        data={
            "csrf": sv_token,
            "title": "はじめのあいさつ",
            "body": "話してくれてありがとう。",
            "desk": "youth",
            "active": "1",
        },
    )
    sv.post(
        "/console/canned",
        data={
            "csrf": sv_token,
            "title": "住民向け",
            "body": "ご相談ありがとうございます。",
            "desk": "resident",
            "active": "1",
        },
    )
    with runtime.sessions() as s:
        assert len(s.scalars(select(CannedResponse)).all()) == 2

    aoi = client_for(runtime)
    token = login(aoi, "aoi")
    assert aoi.post("/console/canned", data={"csrf": token, "title": "t", "body": "b"}).status_code == 403
    _, consultation_id = pupil_writes(pupil, runtime, "ねむれない")
    page = aoi.get(f"/console/consultations/{consultation_id}").text
    assert "はじめのあいさつ" in page and 'data-body="話してくれてありがとう。"' in page
    assert "住民向け" not in page  # another desk's


def test_directory_entries_are_suggested_and_reach_the_bots_after_hours_answer(
    pupil: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "root", Role.admin)
    admin = client_for(runtime)
    token = login(admin, "root")
    missing = admin.post("/console/resources", data={"csrf": token, "name": "どこか", "topics": ["bullying"]})
    assert missing.status_code == 400 and "電話番号かURL" in missing.text
    admin.post(
        "/console/resources",
        data={
            "csrf": token,
            "name": "いじめ相談LINE",
            "url": "https://example.jp/ijime",
            "hours": "毎日 17:00〜21:00",
            "line_available": "1",
            "desk": "youth",
            "topics": ["bullying", "friends"],
        },
    )
    admin.post(
        "/console/resources",
        data={
            "csrf": token,
            "name": "市の家計相談",
            "phone": "0120-000-000",
            "topics": ["money"],
            "desk": "resident",
        },
    )
    with runtime.sessions() as s:
        assert {r.name for r in s.scalars(select(SupportResource))} == {"いじめ相談LINE", "市の家計相談"}

    close_desk_now(runtime, "youth")
    process(pupil, runtime, "youth", le.text_event(le.user_id(), "クラスのみんなに無視されてる。毎日つらい"))
    (answer,) = deliveries(runtime)
    (text,) = delivered_texts(answer)
    assert "いじめ相談LINE https://example.jp/ijime（毎日 17:00〜21:00）" in text
    assert "家計相談" not in text and "0120-0-78310" in text

    counsellor = client_for(runtime)
    login(counsellor, "aoi")
    with runtime.sessions() as s:
        from models import Consultation

        consultation_id = s.scalars(select(Consultation.id)).one()
    page = counsellor.get(f"/console/consultations/{consultation_id}").text
    assert "つなぎ先の候補" in page and 'data-insert-text="いじめ相談LINE' in page
    assert counsellor.get("/console/resources?topic=money").text.count("市の家計相談") == 1


def test_a_directory_entry_taken_out_of_use_is_no_longer_offered(pupil: TestClient, runtime: Runtime) -> None:
    make_user(runtime, "sv", Role.supervisor)
    sv = client_for(runtime)
    token = login(sv, "sv")
    sv.post(
        "/console/resources",
        data={
            "csrf": token,
            "name": "夜の相談LINE",
            "url": "https://example.jp/line",
            "always_open": "1",
            "topics": ["loneliness"],
        },
    )
    with runtime.sessions() as s:
        resource = s.scalars(select(SupportResource)).one()
    sv.post(f"/console/resources/{resource.id}/active", data={"csrf": token})
    close_desk_now(runtime, "youth")
    process(pupil, runtime, "youth", le.text_event(le.user_id(), "話す人がだれもいない。ずっとひとり"))
    (answer,) = deliveries(runtime)
    assert "夜の相談LINE" not in delivered_texts(answer)[0]
    assert "（使っていません）" in sv.get("/console/resources").text
