"""`koe roster add | list | remove` and `koe user notify`: rosters and where pages go, without the console.
Times are Asia/Tokyo, as people read them."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from counsellor_console import rosters
from counsellor_console.notify_settings import NotifySettingsError, set_notify
from counsellor_console.timefmt import TOKYO
from koe.runtime import Runtime
from models import User


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = sub.add_parser("roster", help="who is on duty: shifts per desk (Asia/Tokyo times)")
    actions = roster.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a shift")
    add.add_argument("--desk", required=True, choices=rosters.DESKS)
    add.add_argument("--start", required=True, help='"2026-11-24 17:00"')
    add.add_argument("--end", required=True, help='"22:00" or "2026-11-25 09:00" (before start: next day)')
    add.add_argument("--primary", required=True, help="user name paged first")
    add.add_argument("--backup", help="user name paged next")
    add.add_argument("--supervisor", help="supervisor on call, paged last")
    add.add_argument("--on-call", action="store_true", help="an out-of-hours on-call shift")
    listing = actions.add_parser("list", help="the shifts of a week")
    listing.add_argument("--desk", choices=rosters.DESKS)
    listing.add_argument("--week", help="YYYY-Www (default: this week)")
    remove = actions.add_parser("remove", help="remove a shift by its ID")
    remove.add_argument("shift_id", type=int)


def add_notify_parser(
    user_sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    notify = user_sub.add_parser("notify", help="where this person's pages go besides the console")
    notify.add_argument("name")
    notify.add_argument("--email", help='e-mail address ("" to remove)')
    notify.add_argument(
        "--chat", action="append", help="an Apprise URL (msteams://, slack://, json://…); repeatable"
    )
    notify.add_argument("--clear-chat", action="store_true", help="remove the chat URLs")
    return notify


class CliError(Exception):
    pass


def run_roster(rt: Runtime, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        with rt.sessions() as session, session.begin():
            if args.action == "add":
                shift = rosters.add_shift(session, form=_form(session, args), by=None, now=now)
                print(
                    f"シフト {shift.id} を追加しました: {_when(shift.starts_at)}〜{_when(shift.ends_at)}"
                    f"（{args.desk}）"
                )
            elif args.action == "remove":
                if not rosters.remove_shift(session, shift_id=args.shift_id, by=None, now=now):
                    raise CliError(
                        f"シフト {args.shift_id} はありません。'koe roster list' で ID を確かめてください。"
                    )
                print(f"シフト {args.shift_id} を消しました。")
            else:
                _print_week(session, args, now)
    except (rosters.RosterError, CliError) as exc:
        print(f"できませんでした: {exc}", file=sys.stderr)
        return 1
    return 0


def run_notify(rt: Runtime, args: argparse.Namespace) -> int:
    try:
        with rt.sessions() as session, session.begin():
            target = _user(session, args.name)
            set_notify(
                session,
                target=target,
                email=args.email,
                chat_urls=[] if args.clear_chat else args.chat,
                encrypt=rt.crypto.encrypt,
                by=None,
                now=datetime.now(UTC),
            )
            email = target.notify_email or "なし"
            chat = "あり" if target.notify_urls_encrypted else "なし"
    except (NotifySettingsError, CliError) as exc:
        print(f"できませんでした: {exc}", file=sys.stderr)
        return 1
    print(f"「{args.name}」の呼び出し先: メール {email}、チャット {chat}")
    return 0


def _form(session: Session, args: argparse.Namespace) -> rosters.ShiftForm:
    starts = _parse_local(args.start, None)
    ends = _parse_local(args.end, starts.date())
    if ends <= starts:
        ends += timedelta(days=1)
    if ends - starts > rosters.MAX_SHIFT:
        raise rosters.RosterError("1つのシフトは24時間までです。分けて登録してください。")
    return rosters.ShiftForm(
        desk=args.desk,
        day=starts.date(),
        start=starts.time(),
        end=ends.time(),
        primary=_user(session, args.primary).id,
        backup=_user(session, args.backup).id if args.backup else None,
        supervisor=_user(session, args.supervisor).id if args.supervisor else None,
        on_call=args.on_call,
    )


def _parse_local(value: str, day: date | None) -> datetime:
    text = value.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    if day is not None:
        try:
            return datetime.combine(day, datetime.strptime(text, "%H:%M").time())
        except ValueError:
            pass
    raise rosters.RosterError(f'「{value}」を日時として読めません。"2026-11-24 17:00" の形で書いてください。')


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise CliError(f"ユーザー「{name}」はいません。'koe user add' で作ってください。")
    return user


def _print_week(session: Session, args: argparse.Namespace, now: datetime) -> None:
    monday = rosters.parse_week(args.week, now.astimezone(TOKYO).date())
    names = dict(session.execute(select(User.id, User.username)).tuples().all())
    shifts = rosters.shifts_between(session, args.desk, monday, monday + timedelta(days=7))
    print(f"{rosters.iso_week(monday)}（{monday} からの週）: {len(shifts)} 件")
    for s in shifts:
        print(
            f"  {s.id:>5}  {s.desk:<8} {_when(s.starts_at)}〜{_when(s.ends_at)}"
            f"  担当 {names.get(s.primary_user_id)}  予備 {_name(names, s.backup_user_id)}"
            f"  SV {_name(names, s.supervisor_user_id)}{'  オンコール' if s.on_call else ''}"
        )


def _name(names: dict[int, str], user_id: int | None) -> str:
    return names.get(user_id, "-") if user_id is not None else "-"


def _when(value: datetime) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
