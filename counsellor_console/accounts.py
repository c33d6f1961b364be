"""Console accounts: argon2 password hashes, sign-in with throttling, and server-side sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import ConsoleSession, LoginFailure, Role, User

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_PASSWORD_LENGTH = 10
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5  # from one address: then that name waits out the window there
MAX_FAILURES_PER_NAME = 20  # from anywhere: then the name waits everywhere
MAX_FAILURES_PER_ADDRESS = 20  # then that address does, whatever names it tries
SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=14)  # an evening shift and then some; then sign in again
# Compared against when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("koe-unknown-account")


class AccountError(ValueError):
    """A user cannot be created as asked; the message says why, in Japanese for the console."""


class Throttled(Exception):
    """Too many failed sign-ins for this name or address."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
    return _hasher.hash(password)


def create_user(
    session: Session, *, username: str, password: str, role: Role, display_name: str | None = None
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("ユーザー名は空白を含まない64文字以内にしてください。")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"ユーザー名「{username}」はすでに使われています。")
    user = User(
        username=username,
        display_name=(display_name or username)[:64],
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def begin_attempt(session: Session, *, username: str, address: str, now: datetime) -> None:
    """Count this sign-in as a failure before the password is even checked (the caller commits), so that
    parallel guesses all see each other; `finish_attempt` takes it back when the password is right.

    Raises Throttled when the name from this address, the name from anywhere, or the address has failed
    too often lately. The name alone gets a higher limit, so a stranger cannot lock a counsellor out."""
    attempt = LoginFailure(username=username[:64], address=address[:64], at=now)
    session.add(attempt)
    session.flush()
    since = now - THROTTLE_WINDOW
    recent = LoginFailure.at >= since
    here = session.scalar(
        select(func.count()).where(
            LoginFailure.username == username[:64], LoginFailure.address == address[:64], recent
        )
    )
    anywhere = session.scalar(select(func.count()).where(LoginFailure.username == username[:64], recent))
    from_address = session.scalar(select(func.count()).where(LoginFailure.address == address[:64], recent))
    if (
        (here or 0) > MAX_FAILURES_PER_ACCOUNT
        or (anywhere or 0) > MAX_FAILURES_PER_NAME
        or (from_address or 0) > MAX_FAILURES_PER_ADDRESS
    ):
        raise Throttled


def finish_attempt(session: Session, *, username: str, password: str, now: datetime) -> User | None:
    """The user if the password is right (their recorded failures are cleared); None if not."""
    user = session.scalar(select(User).where(User.username == username))
    if _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None and user.active:
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = now
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        return user
    return None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class SignedIn:
    user: User
    session: ConsoleSession


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, user: User, now: datetime) -> str:
    """A new signed-in session; returns the cookie's token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_MAX,
        )
    )
    return token


def _find(session: Session, token: str) -> ConsoleSession | None:
    return session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))


def _user_if_live(session: Session, row: ConsoleSession, now: datetime) -> User | None:
    """The session's user while the session is neither ended, past its limit, idle too long, nor its
    account turned off."""
    if row.ended_at is not None or now >= row.expires_at or now - row.last_seen_at > SESSION_IDLE:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def session_is_valid(session: Session, *, token: str, now: datetime) -> bool:
    """Read-only check for long-lived requests (the live stream), which must not keep a session alive."""
    row = _find(session, token)
    return row is not None and _user_if_live(session, row, now) is not None


def resume_session(session: Session, *, token: str, now: datetime, touch: bool = True) -> SignedIn | None:
    """The signed-in user of a live session. `touch=False` for the page's own polling (live fragments, the
    pager): only what the person does keeps a session from going idle."""
    row = _find(session, token)
    if row is None:
        return None
    user = _user_if_live(session, row, now)
    if user is None:
        if row.ended_at is None and now < row.expires_at and now - row.last_seen_at > SESSION_IDLE:
            row.ended_at = now  # idle too long: this token never signs in again
        return None
    if touch and now - row.last_seen_at > timedelta(minutes=1):  # a write per minute, not per request
        row.last_seen_at = now
    return SignedIn(user=user, session=row)


def end_session(session: Session, *, token: str, now: datetime) -> None:
    row = _find(session, token)
    if row is not None and row.ended_at is None:
        row.ended_at = now


def set_active(session: Session, *, user: User, active: bool, now: datetime) -> None:
    """Turning an account off also ends its sessions at once."""
    user.active = active
    if not active:
        for row in session.scalars(
            select(ConsoleSession).where(ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None))
        ):
            row.ended_at = now


def constant_time_equal(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
