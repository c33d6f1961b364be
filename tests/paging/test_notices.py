"""Pages by e-mail and chat webhook (through Apprise to real local receivers), and the one-tap link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from counsellor_console.page_notices import AckLink
from koe.app import create_app
from koe.runtime import Runtime
from koe.worker import run_worker
from models import Consultation, NoticeChannel, NoticeState, PageNotice, PageState, Role, User
from tests.console.helpers import login, make_user, pupil_writes
from tests.paging.helpers import chat_to, on_duty_now, pages
from tests.paging.receivers import Inbox, smtp_and_webhook

URGENT = "いまから線路に飛び込む。さよなら"
LINK = re.compile(r"(http://koe\.example/console/pages/ack/[\w.\-]+)")


@pytest.fixture
def receivers(runtime: Runtime) -> Iterator[tuple[Inbox, str]]:
    with smtp_and_webhook() as (inbox, smtp_port, webhook):
        runtime.settings.page_email_url = f"mailto://127.0.0.1:{smtp_port}?from=koe@example.jp&mode=insecure"
        runtime.settings.public_url = "http://koe.example"
        runtime.__dict__.pop("paging_policy", None)
        yield inbox, webhook


def set_channels(client: TestClient, token: str, user_id: int, email: str, webhook: str) -> None:
    response = client.post(
        f"/console/admin/users/{user_id}/notify",
        data={"csrf": token, "email": email, "chat_urls": webhook},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_email_and_chat_notices_carry_a_link_and_no_words(
    runtime: Runtime, receivers: tuple[Inbox, str]
) -> None:
    inbox, webhook = receivers
    duty = on_duty_now(runtime)

    make_user(runtime, "admin", Role.admin)
    admin = TestClient(create_app(runtime))
    token = login(admin, "admin")
    set_channels(admin, token, duty.primary, "hana@example.jp", webhook)
    bad = admin.post(
        f"/console/admin/users/{duty.primary}/notify",
        data={"csrf": token, "email": "not an address", "chat_urls": ""},
    )
    assert bad.status_code == 400 and "メールアドレス" in bad.text

    pupil = TestClient(create_app(runtime))
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)
    run_worker(runtime, burst=True)  # the paging queue sends the notices

    (mail,) = inbox.wait("mails", 1)
    (post,) = inbox.wait("posts", 1)
    assert mail["to"] == ["hana@example.jp"] and "緊急" in mail["subject"]
    for text in (mail["body"], post["message"]):
        assert f"#{consultation_id}" in text and "飛び込む" not in text and "さよなら" not in text
    with runtime.sessions() as s:
        notices = s.scalars(select(PageNotice).where(PageNotice.channel != NoticeChannel.console)).all()
        stored = s.scalars(select(PageNotice)).all()
    assert {n.channel for n in notices} == {NoticeChannel.email, NoticeChannel.chat}
    assert all(n.state == NoticeState.sent for n in stored)
    # The chat URL is kept encrypted: the row holds no trace of it.
    with runtime.sessions() as s:
        hana = s.get(User, duty.primary)
        assert (
            hana is not None and hana.notify_urls_encrypted and b"127.0.0.1" not in hana.notify_urls_encrypted
        )

    # Opening the link does not acknowledge (scanners open links); the button does.
    link = LINK.search(post["message"])
    assert link is not None and link.group(1) in mail["body"]
    path = link.group(1).removeprefix("http://koe.example")
    phone = TestClient(create_app(runtime))  # not signed in
    shown = phone.get(path)
    assert shown.status_code == 200 and "受けます" in shown.text and "飛び込む" not in shown.text
    assert pages(runtime)[0].state == PageState.open
    done = phone.post(path)
    assert done.status_code == 200 and "受けました" in done.text
    (page,) = pages(runtime)
    assert page.state == PageState.acknowledged and page.acknowledged_via == "link"
    assert page.acknowledged_by_id == duty.primary and page.delivered_at is not None
    with runtime.sessions() as s:  # a link may be pressed in a shared channel: it takes no case
        assert s.get(Consultation, consultation_id).assigned_to_id is None  # type: ignore[union-attr]
    again = phone.get(path)
    assert "受けた人がいます" in again.text


def test_a_notice_for_an_acknowledged_page_is_not_sent(
    runtime: Runtime, receivers: tuple[Inbox, str]
) -> None:
    inbox, webhook = receivers
    duty = on_duty_now(runtime)
    chat_to(runtime, duty.primary, webhook)
    pupil = TestClient(create_app(runtime))
    _, consultation_id = pupil_writes(pupil, runtime, URGENT)
    hana_client = TestClient(create_app(runtime))
    token = login(hana_client, "hana")
    hana_client.post(f"/console/consultations/{consultation_id}/claim", data={"csrf": token})
    run_worker(runtime, burst=True)
    with runtime.sessions() as s:
        chat = s.scalars(select(PageNotice).where(PageNotice.channel == NoticeChannel.chat)).one()
    assert chat.state == NoticeState.skipped and inbox.posts == []


def test_links_that_are_forged_or_expired_are_refused(runtime: Runtime) -> None:
    duty = on_duty_now(runtime)
    pupil = TestClient(create_app(runtime))
    pupil_writes(pupil, runtime, URGENT)
    (page,) = pages(runtime)
    signer = runtime.link_signer
    now = datetime.now(UTC)
    expired = signer.sign(AckLink(page.id, duty.primary, now - timedelta(seconds=1)))
    valid = signer.sign(AckLink(page.id, duty.primary, now + timedelta(minutes=5)))
    payload, mac = valid.split(".")
    forged = signer.sign(AckLink(page.id, duty.backup, now + timedelta(minutes=5))).split(".")[0] + "." + mac
    phone = TestClient(create_app(runtime))
    assert "有効期限" in phone.post(f"/console/pages/ack/{expired}").text
    for bad in (forged, "garbage", f"{payload}.", "a.b.c"):
        response = phone.post(f"/console/pages/ack/{bad}")
        assert response.status_code == 400 and "正しくありません" in response.text
    assert pages(runtime)[0].state == PageState.open
