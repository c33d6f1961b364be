from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdType, UTCDateTime, str_enum, utcnow


class Role(StrEnum):
    counsellor = "counsellor"
    supervisor = "supervisor"
    admin = "admin"
    board = "board"  # the education board: statistics pages only, never a message


class User(Base):
    """A console account. Counsellors are known by a display name, never linked to a sender."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where pages reach this person outside the console: an e-mail address, and chat webhook URLs (Apprise
    # URLs such as msteams://… or slack://…), kept encrypted because they carry access tokens.
    notify_email: Mapped[str | None] = mapped_column(String(254))
    notify_urls_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, so a copy of the
    database does not sign anyone in."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed sign-in, counted per account name and per address to slow down guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
