"""The audit log: written in the same transaction as the view or change it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEntry, User


def record(
    session: Session,
    *,
    user: User | None,
    action: str,
    now: datetime,
    consultation_id: int | None = None,
    **detail: Any,
) -> None:
    """IDs, codes and levels only: never the words of a message or a note."""
    session.add(
        AuditEntry(
            at=now,
            user_id=user.id if user else None,
            action=action,
            consultation_id=consultation_id,
            detail=detail,
        )
    )
