"""Driving the console as a browser does over HTTP: sign in with the login form's CSRF cookie, keep the
session cookie, and send each form's CSRF token back."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from counsellor_console import accounts
from koe.runtime import Runtime
from models import Consultation, Role, User
from tests import line_events as le
from tests.intake import process

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_user(rt: Runtime, name: str, role: Role, password: str = PASSWORD) -> int:
    with rt.sessions() as s, s.begin():
        return accounts.create_user(
            s, username=name, password=password, role=role, display_name=f"{name}さん"
        ).id


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in; returns the CSRF token of the signed-in session."""
    form = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": name, "password": password, "csrf": csrf_of(form.text), "next": "/console/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/console/", follow_redirects=True)
    return csrf_of(home.text)


def pupil_writes(client: TestClient, rt: Runtime, text: str, user: str | None = None) -> tuple[str, int]:
    """A pupil's LINE message through the webhook and the worker; returns (LINE user, consultation id)."""
    user = user or le.user_id()
    process(client, rt, "youth", le.text_event(user, text))
    with rt.sessions() as s:
        consultation_id = s.scalars(
            select(Consultation.id).order_by(Consultation.last_message_at.desc(), Consultation.id.desc())
        ).first()
    assert consultation_id is not None
    return user, consultation_id


def user_id(rt: Runtime, name: str) -> int:
    with rt.sessions() as s:
        found = s.scalar(select(User.id).where(User.username == name))
    assert found is not None
    return found
