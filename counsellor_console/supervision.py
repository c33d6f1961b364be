"""The supervisor's overview: every active chat and each counsellor's load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from counsellor_console.queue import QueueRow, open_queue
from models import RISK_ORDER, RiskLevel, Role, User


@dataclass(frozen=True)
class Load:
    user: User
    open_cases: int
    urgent_or_high: int
    longest_wait: datetime | None  # the earliest unanswered message among their cases


def counsellor_loads(session: Session, rows: list[QueueRow]) -> list[Load]:
    staff = session.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_([Role.counsellor, Role.supervisor]))
        .order_by(User.display_name)
    ).all()
    loads = []
    for user in staff:
        mine = [r for r in rows if r.assigned_to_id == user.id]
        waits = [r.waiting_since for r in mine if r.waiting_since is not None]
        loads.append(
            Load(
                user=user,
                open_cases=len(mine),
                urgent_or_high=sum(
                    1 for r in mine if r.risk and RISK_ORDER[r.risk] >= RISK_ORDER[RiskLevel.high]
                ),
                longest_wait=min(waits) if waits else None,
            )
        )
    return sorted(loads, key=lambda load: (-load.open_cases, load.user.display_name))


def overview(session: Session) -> tuple[list[QueueRow], list[Load]]:
    rows = open_queue(session)
    return rows, counsellor_loads(session, rows)
