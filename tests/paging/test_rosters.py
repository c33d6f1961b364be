"""Rosters: shifts that do not overlap, nights that cross midnight, the week view and `koe roster`."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from counsellor_console import rosters
from counsellor_console.timefmt import TOKYO
from koe.app import create_app
from koe.cli import main
from koe.runtime import Runtime
from models import Role, Shift
from tests.console.helpers import login, make_user

MONDAY = date(2026, 11, 23)


def form(primary: int, start: time, end: time, **extra: object) -> rosters.ShiftForm:
    return rosters.ShiftForm(desk="youth", day=MONDAY, start=start, end=end, primary=primary, **extra)  # type: ignore[arg-type]


def test_shifts_cross_midnight_do_not_overlap_and_say_who_is_on_duty(runtime: Runtime) -> None:
    hana = make_user(runtime, "hana", Role.counsellor)
    ren = make_user(runtime, "ren", Role.counsellor)
    sv = make_user(runtime, "sv", Role.supervisor)
    now = datetime.now(UTC)
    with runtime.sessions() as s, s.begin():
        evening = rosters.add_shift(
            s, form=form(hana, time(17), time(22), backup=ren, supervisor=sv), by=None, now=now
        )
        night = rosters.add_shift(
            s, form=form(ren, time(22), time(9), supervisor=sv, on_call=True), by=None, now=now
        )
        assert night.ends_at.astimezone(TOKYO) == datetime(2026, 11, 24, 9, 0, tzinfo=TOKYO)
        for clash in (form(hana, time(21), time(23)), form(hana, time(8), time(18))):
            with pytest.raises(rosters.RosterError, match="重なって"):
                rosters.add_shift(s, form=clash, by=None, now=now)
        with pytest.raises(rosters.RosterError, match="スーパーバイザー"):
            rosters.add_shift(s, form=form(hana, time(9), time(10), supervisor=ren), by=None, now=now)
        with pytest.raises(rosters.RosterError, match="別の人"):
            rosters.add_shift(s, form=form(hana, time(9), time(10), backup=hana), by=None, now=now)
        at = datetime(2026, 11, 24, 3, 0, tzinfo=TOKYO)
        assert rosters.on_duty(s, "youth", at) == night
        assert rosters.on_duty(s, "youth", datetime(2026, 11, 23, 17, 0, tzinfo=TOKYO)) == evening
        assert rosters.on_duty(s, "youth", datetime(2026, 11, 23, 16, 59, tzinfo=TOKYO)) is None
        assert rosters.on_duty(s, "resident", at) is None
        # Copying the week: both shifts a week later, and copying twice adds nothing more.
        assert rosters.copy_week(s, desk="youth", from_monday=MONDAY, by=None, now=now) == 2
        assert rosters.copy_week(s, desk="youth", from_monday=MONDAY, by=None, now=now) == 0
        assert rosters.on_duty(s, "youth", datetime(2026, 12, 1, 3, 0, tzinfo=TOKYO)) is not None


def test_the_week_view_edits_for_supervisors_and_reads_for_counsellors(runtime: Runtime) -> None:
    hana = make_user(runtime, "hana", Role.counsellor)
    make_user(runtime, "sv", Role.supervisor)
    sv = TestClient(create_app(runtime))
    token = login(sv, "sv")
    week = sv.get("/console/rosters?desk=youth&week=2026-W48")
    assert week.status_code == 200 and "11/23（月）" in week.text and "11/29（日）" in week.text
    added = sv.post(
        "/console/rosters",
        data={
            "csrf": token,
            "desk": "youth",
            "day": "2026-11-25",
            "start": "22:00",
            "end": "09:00",
            "primary": str(hana),
            "on_call": "1",
            "week": "2026-W48",
        },
        follow_redirects=True,
    )
    assert added.status_code == 200 and "22:00〜09:00（翌日）" in added.text and "オンコール" in added.text
    clash = sv.post(
        "/console/rosters",
        data={
            "csrf": token,
            "desk": "youth",
            "day": "2026-11-26",
            "start": "08:00",
            "end": "10:00",
            "primary": str(hana),
        },
    )
    assert clash.status_code == 400 and "重なっています" in clash.text

    counsellor = TestClient(create_app(runtime))
    counsellor_token = login(counsellor, "hana")
    shown = counsellor.get("/console/rosters?desk=youth&week=2026-W48")
    assert "hanaさん" in shown.text and "シフトを追加" not in shown.text
    refused = counsellor.post(
        "/console/rosters",
        data={
            "csrf": counsellor_token,
            "desk": "youth",
            "day": "2026-11-27",
            "start": "17:00",
            "end": "22:00",
            "primary": str(hana),
        },
    )
    assert refused.status_code == 403

    with runtime.sessions() as s:
        shift_id = s.scalars(select(Shift.id)).one()
    sv.post(f"/console/rosters/{shift_id}/delete", data={"csrf": token, "week": "2026-W48"})
    with runtime.sessions() as s:
        assert s.scalars(select(Shift)).all() == []


def test_koe_roster_adds_lists_and_removes(runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    make_user(runtime, "hana", Role.counsellor)
    make_user(runtime, "sv", Role.supervisor)

    def koe(*args: str) -> subprocess.CompletedProcess[str]:
        """The command line in this process, on this test's runtime (a process of its own takes seconds)."""
        status = main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out, err)

    added = koe(
        "roster",
        "add",
        "--desk",
        "resident",
        "--start",
        "2026-11-24 17:00",
        "--end",
        "09:00",
        "--primary",
        "hana",
        "--supervisor",
        "sv",
        "--on-call",
    )
    assert added.returncode == 0, added.stderr
    assert "2026-11-24 17:00〜2026-11-25 09:00" in added.stdout
    listed = koe("roster", "list", "--week", "2026-W48")
    assert listed.returncode == 0 and "担当 hana" in listed.stdout and "オンコール" in listed.stdout
    unknown = koe(
        "roster",
        "add",
        "--desk",
        "resident",
        "--start",
        "2026-11-26 17:00",
        "--end",
        "18:00",
        "--primary",
        "nobody",
    )
    assert unknown.returncode == 1 and "ユーザー「nobody」はいません" in unknown.stderr
    with runtime.sessions() as s:
        shift_id = s.scalars(select(Shift.id)).one()
    assert koe("roster", "remove", str(shift_id)).returncode == 0
    assert koe("roster", "remove", str(shift_id)).returncode == 1
    notify = koe("user", "notify", "hana", "--email", "hana@example.jp")
    assert notify.returncode == 0 and "hana@example.jp" in notify.stdout
