"""`koe user add NAME --role ROLE`: console accounts from the command line (the password from stdin)."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime

from counsellor_console import accounts, audit
from koe.runtime import Runtime
from models import Role


def read_password(prompt_if_tty: bool = True) -> str:
    """The password from standard input (one line), or asked for twice at a terminal."""
    if sys.stdin.isatty() and prompt_if_tty:
        first = getpass.getpass("パスワード（10文字以上）: ")
        if getpass.getpass("もう一度: ") != first:
            raise accounts.AccountError("2回入力したパスワードが一致しません。")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def add_user(rt: Runtime, *, username: str, role: Role, display_name: str | None, password: str) -> int:
    with rt.sessions() as session, session.begin():
        user = accounts.create_user(
            session, username=username, password=password, role=role, display_name=display_name
        )
        audit.record(
            session, user=None, action="add_user", now=datetime.now(UTC), user_id=user.id, role=str(role)
        )
        return user.id
