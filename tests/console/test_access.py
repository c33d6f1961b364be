"""Who can reach what: roles, other people's cases, CSRF, throttling, sessions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from koe.app import create_app
from koe.runtime import Runtime
from models import AuditEntry, Role
from tests.console.helpers import csrf_of, login, make_user, pupil_writes


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime)


def client_for(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="http://testserver")


def test_signed_out_visitors_are_sent_to_the_login_page(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    client = client_for(app)
    response = client.get("/console/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/queue"
    # An EventSource is told plainly (401) rather than redirected to a page it cannot show.
    assert client.get("/console/events", headers={"accept": "text/event-stream"}).status_code == 401


def test_session_cookie_is_httponly_and_samesite(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    form = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": "aoi", "password": "correct horse battery", "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "koe_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure

    secure = TestClient(app, base_url="https://testserver")
    form = secure.get("/console/login")
    response = secure.post(
        "/console/login",
        data={"username": "aoi", "password": "correct horse battery", "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert "Secure" in response.headers["set-cookie"]


def test_counsellor_cannot_reach_admin_pages(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    login(client, "aoi")
    assert client.get("/console/admin/users").status_code == 403
    assert client.get("/console/admin/audit").status_code == 403
    token = csrf_of(client.get("/console/queue").text)
    refused = client.post(
        "/console/admin/users",
        data={"csrf": token, "username": "eve", "password": "x" * 12, "role": "admin"},
    )
    assert refused.status_code == 403
    assert "権限がありません" in refused.text


def test_board_reads_no_message(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "board1", Role.board)
    client = client_for(app)
    _, consultation_id = pupil_writes(client, runtime, "クラスで無視されてる")
    login(client, "board1")
    assert client.get("/console/", follow_redirects=False).headers["location"] == "/console/reports"
    for path in (
        "/console/queue",
        "/console/queue/rows",
        f"/console/consultations/{consultation_id}",
        f"/console/consultations/{consultation_id}/thread",
    ):
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert "無視" not in response.text
    assert client.get("/console/events").status_code == 403
    assert client.get("/console/reports").status_code == 200


def test_another_counsellors_case_is_not_found(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "ren", Role.counsellor)
    make_user(runtime, "sv", Role.supervisor)
    pupil_client = client_for(app)
    _, consultation_id = pupil_writes(pupil_client, runtime, "部活の先輩にお金とられた")

    aoi = client_for(app)
    token = login(aoi, "aoi")
    assert (
        aoi.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token}).status_code == 200
    )

    ren = client_for(app)
    ren_token = login(ren, "ren")
    assert ren.get(f"/console/consultations/{consultation_id}").status_code == 404
    assert ren.get("/console/consultations/999999").status_code == 404
    stolen = ren.post(
        f"/console/consultations/{consultation_id}/reply", data={"csrf": ren_token, "text": "hi"}
    )
    assert stolen.status_code == 404
    # The queue still shows the case and who has it, without a way in.
    rows = ren.get("/console/queue/rows").text
    assert "aoiさん" in rows and f"/console/consultations/{consultation_id}" not in rows

    supervisor = client_for(app)
    login(supervisor, "sv")
    assert supervisor.get(f"/console/consultations/{consultation_id}").status_code == 200


def test_post_without_csrf_token_is_refused(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    _, consultation_id = pupil_writes(client, runtime, "ねむれない")
    login(client, "aoi")
    for data in ({}, {"csrf": "forged"}):
        response = client.post(f"/console/consultations/{consultation_id}/claim", data=data)
        assert response.status_code == 403
    with runtime.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "claim")).all() == []
    # The login form too: without its cookie's token, nothing is checked.
    fresh = client_for(app)
    response = fresh.post("/console/login", data={"username": "aoi", "password": "correct horse battery"})
    assert response.status_code == 403


def test_wrong_passwords_are_throttled(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    form = csrf_of(client.get("/console/login").text)
    for _ in range(5):
        wrong = client.post(
            "/console/login", data={"username": "aoi", "password": "guess-guess", "csrf": form}
        )
        assert wrong.status_code == 401
        assert "違います" in wrong.text
    # Now even the right password waits out the window.
    right = client.post(
        "/console/login", data={"username": "aoi", "password": "correct horse battery", "csrf": form}
    )
    assert right.status_code == 429
    assert "しばらくログインできません" in right.text
    assert "koe_session" not in client.cookies


def test_logout_ends_the_session(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    token = login(client, "aoi")
    stolen_cookie = client.cookies.get("koe_session")
    assert client.post("/console/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    replay = client_for(app)
    replay.cookies.set("koe_session", stolen_cookie or "", path="/console")
    assert replay.get("/console/queue", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    form = csrf_of(client.get("/console/login").text)
    response = client.post(
        "/console/login",
        data={
            "username": "aoi",
            "password": "correct horse battery",
            "csrf": form,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/"


def test_an_account_turned_off_is_signed_out_at_once(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    aoi_id = make_user(runtime, "aoi", Role.counsellor)
    make_user(runtime, "root", Role.admin)
    counsellor = client_for(app)
    login(counsellor, "aoi")
    assert counsellor.get("/console/queue").status_code == 200
    admin = client_for(app)
    token = login(admin, "root")
    assert admin.post(f"/console/admin/users/{aoi_id}/active", data={"csrf": token}).status_code == 200
    assert counsellor.get("/console/queue", follow_redirects=False).status_code == 303
    form = csrf_of(counsellor.get("/console/login").text)
    again = counsellor.post(
        "/console/login", data={"username": "aoi", "password": "correct horse battery", "csrf": form}
    )
    assert again.status_code == 401
    with runtime.sessions() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
    assert "set_user_active" in actions


def test_a_stranger_cannot_lock_a_counsellor_out_from_elsewhere(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    make_user(runtime, "aoi", Role.counsellor)
    stranger = TestClient(app, client=("203.0.113.9", 40000))
    form = csrf_of(stranger.get("/console/login").text)
    for _ in range(6):
        stranger.post("/console/login", data={"username": "aoi", "password": "guess-guess", "csrf": form})
    assert (
        stranger.post(
            "/console/login", data={"username": "aoi", "password": "correct horse battery", "csrf": form}
        ).status_code
        == 429
    )
    # aoi, at the office, still signs in.
    office = TestClient(app, client=("192.0.2.10", 40000))
    login(office, "aoi")
    assert office.get("/console/queue").status_code == 200


def test_fragments_and_the_stream_stop_when_signed_out(app, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    from counsellor_console import accounts

    make_user(runtime, "aoi", Role.counsellor)
    client = client_for(app)
    token = login(client, "aoi")
    cookie = client.cookies.get("koe_session") or ""
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    with runtime.sessions() as s:
        assert accounts.session_is_valid(s, token=cookie, now=now)
    client.post("/console/logout", data={"csrf": token})
    with runtime.sessions() as s:
        assert not accounts.session_is_valid(s, token=cookie, now=now)
    client.cookies.set("koe_session", cookie, path="/console")
    # The page's own fetch of a fragment gets 401 (the script reloads), not the sign-in page in a table.
    assert client.get("/console/queue/rows", headers={"x-koe-fragment": "1"}).status_code == 401
