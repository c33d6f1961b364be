"""A desk with someone on duty now: a primary counsellor, a backup and a supervisor on call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from counsellor_console import rosters
from counsellor_console.notify_settings import set_notify
from counsellor_console.timefmt import TOKYO
from koe.runtime import Runtime
from models import Page, PageNotice, Role, User
from tests.console.helpers import make_user


@dataclass(frozen=True)
class Duty:
    primary: int
    backup: int
    supervisor: int
    shift: int


def on_duty_now(rt: Runtime, desk: str = "youth") -> Duty:
    primary = make_user(rt, "hana", Role.counsellor)
    backup = make_user(rt, "ren", Role.counsellor)
    supervisor = make_user(rt, "sv", Role.supervisor)
    shift = shift_now(rt, desk, primary=primary, backup=backup, supervisor=supervisor)
    return Duty(primary, backup, supervisor, shift)


def shift_now(
    rt: Runtime,
    desk: str,
    *,
    primary: int,
    backup: int | None = None,
    supervisor: int | None = None,
    on_call: bool = False,
) -> int:
    """A shift from an hour ago to three hours from now."""
    now = datetime.now(UTC)
    starts = (now - timedelta(hours=1)).astimezone(TOKYO)
    ends = (now + timedelta(hours=3)).astimezone(TOKYO)
    with rt.sessions() as s, s.begin():
        return rosters.add_shift(
            s,
            form=rosters.ShiftForm(
                desk=desk,
                day=starts.date(),
                start=starts.time().replace(second=0, microsecond=0),
                end=ends.time().replace(second=0, microsecond=0),
                primary=primary,
                backup=backup,
                supervisor=supervisor,
                on_call=on_call,
            ),
            by=None,
            now=now,
        ).id


def chat_to(rt: Runtime, user_id: int, webhook: str) -> None:
    """This person's pages go to a chat webhook too."""
    with rt.sessions() as s, s.begin():
        person = s.get(User, user_id)
        assert person is not None
        set_notify(
            s,
            target=person,
            email=None,
            chat_urls=[webhook],
            encrypt=rt.crypto.encrypt,
            by=None,
            now=datetime.now(UTC),
        )


def pages(rt: Runtime) -> list[Page]:
    with rt.sessions() as s:
        return list(s.scalars(select(Page).order_by(Page.id)))


def told(rt: Runtime, page_id: int) -> dict[int, set[int]]:
    """Step -> the people told (by the console) at that step."""
    with rt.sessions() as s:
        rows = s.execute(
            select(PageNotice.step, PageNotice.user_id).where(
                PageNotice.page_id == page_id, PageNotice.channel == "console"
            )
        ).all()
    steps: dict[int, set[int]] = {}
    for step, user_id in rows:
        steps.setdefault(step, set()).add(user_id)
    return steps
