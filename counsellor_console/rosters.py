"""Rosters: who is on duty for each desk, shift by shift, edited in the console's week view and by
`koe roster`. Times are entered and shown in Asia/Tokyo and stored in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, select, text, update
from sqlalchemy.orm import Session

from counsellor_console import audit
from counsellor_console.timefmt import TOKYO
from models import Page, Role, Shift, User

DESKS = ("youth", "resident")
MAX_SHIFT = timedelta(hours=24)  # a form (a day, a start, an end) cannot say more; `koe roster` checks it


class RosterError(ValueError):
    """The shift cannot be saved; the message (Japanese) says why and what to change."""


@dataclass(frozen=True)
class ShiftForm:
    desk: str
    day: date  # the day the shift starts, in Tokyo
    start: time
    end: time  # at or before `start`: the shift ends the next day (a night on call)
    primary: int
    backup: int | None = None
    supervisor: int | None = None
    on_call: bool = False


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(value: str | None, today: date) -> date:
    """`2026-W48` (ISO week) to its Monday; anything else, this week's Monday."""
    if value:
        try:
            year, week = value.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            pass
    return week_start(today)


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def span(form: ShiftForm) -> tuple[datetime, datetime]:
    starts = datetime.combine(form.day, form.start, tzinfo=TOKYO)
    ends = datetime.combine(form.day, form.end, tzinfo=TOKYO)
    if ends <= starts:
        ends += timedelta(days=1)
    return starts.astimezone(UTC), ends.astimezone(UTC)


def _person(session: Session, user_id: int | None, *, roles: tuple[Role, ...], what: str) -> User | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.role not in roles:
        raise RosterError(f"{what}に選べるのは有効な{'・'.join(_ROLE_NAMES[r] for r in roles)}だけです。")
    return user


_ROLE_NAMES = {Role.counsellor: "相談員", Role.supervisor: "スーパーバイザー"}


def add_shift(session: Session, *, form: ShiftForm, by: User | None, now: datetime) -> Shift:
    if form.desk not in DESKS:
        raise RosterError("窓口を選んでください。")
    starts, ends = span(form)  # at most MAX_SHIFT, by the form's shape
    staff = (Role.counsellor, Role.supervisor)
    _person(session, form.primary, roles=staff, what="担当")
    _person(session, form.backup, roles=staff, what="予備")
    _person(session, form.supervisor, roles=(Role.supervisor,), what="オンコールのスーパーバイザー")
    if form.backup is not None and form.backup == form.primary:
        raise RosterError("担当と予備には別の人を選んでください。")
    _one_editor_per_desk(session, form.desk)
    clash = session.scalars(
        select(Shift).where(Shift.desk == form.desk, Shift.starts_at < ends, Shift.ends_at > starts).limit(1)
    ).first()
    if clash is not None:
        raise RosterError(
            f"この時間は別のシフト（{_local(clash.starts_at)}〜{_local(clash.ends_at)}）と重なっています。"
            "先にそのシフトを消すか、時間を変えてください。"
        )
    shift = Shift(
        desk=form.desk,
        starts_at=starts,
        ends_at=ends,
        primary_user_id=form.primary,
        backup_user_id=form.backup,
        supervisor_user_id=form.supervisor,
        on_call=form.on_call,
        created_by_id=by.id if by else None,
        created_at=now,
    )
    session.add(shift)
    session.flush()
    audit.record(session, user=by, action="add_shift", now=now, shift_id=shift.id, desk=form.desk)
    return shift


def _one_editor_per_desk(session: Session, desk: str) -> None:
    """Two supervisors adding shifts at once must not both pass the overlap check: on PostgreSQL, a
    transaction-level lock per desk (SQLite takes its write lock at BEGIN already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x6B6F6500 + DESKS.index(desk)})


def remove_shift(session: Session, *, shift_id: int, by: User | None, now: datetime) -> bool:
    shift = session.get(Shift, shift_id)
    if shift is None:
        return False
    # Pages keep their history; they only forget which shift they were sent under.
    session.execute(update(Page).where(Page.shift_id == shift_id).values(shift_id=None))
    session.execute(delete(Shift).where(Shift.id == shift_id))
    audit.record(session, user=by, action="remove_shift", now=now, shift_id=shift_id, desk=shift.desk)
    return True


def copy_week(session: Session, *, desk: str, from_monday: date, by: User | None, now: datetime) -> int:
    """The week after `from_monday` gets that week's shifts, one week later; shifts that would overlap
    one already there are left out. Returns how many were added."""
    added = 0
    for shift in shifts_between(session, desk, from_monday, from_monday + timedelta(days=7)):
        if shift.starts_at.astimezone(TOKYO).date() < from_monday:
            continue  # last Sunday's night: it belongs to the week before
        starts = shift.starts_at.astimezone(TOKYO) + timedelta(days=7)
        ends = shift.ends_at.astimezone(TOKYO) + timedelta(days=7)
        form = ShiftForm(
            desk=desk,
            day=starts.date(),
            start=starts.time(),
            end=ends.time(),
            primary=shift.primary_user_id,
            backup=shift.backup_user_id,
            supervisor=shift.supervisor_user_id,
            on_call=shift.on_call,
        )
        try:
            with session.begin_nested():
                add_shift(session, form=form, by=by, now=now)
            added += 1
        except RosterError:
            continue
    return added


def shifts_between(session: Session, desk: str | None, first: date, until: date) -> list[Shift]:
    """Shifts that touch the Tokyo days [first, until)."""
    starts = datetime.combine(first, time(0), tzinfo=TOKYO)
    ends = datetime.combine(until, time(0), tzinfo=TOKYO)
    query = select(Shift).where(Shift.starts_at < ends, Shift.ends_at > starts)
    if desk:
        query = query.where(Shift.desk == desk)
    return list(session.scalars(query.order_by(Shift.desk, Shift.starts_at)))


def on_duty(session: Session, desk: str, at: datetime) -> Shift | None:
    return session.scalars(
        select(Shift)
        .where(and_(Shift.desk == desk, Shift.starts_at <= at, Shift.ends_at > at))
        .order_by(Shift.starts_at.desc())
        .limit(1)
    ).first()


def _local(value: datetime) -> str:
    return value.astimezone(TOKYO).strftime("%m/%d %H:%M")
