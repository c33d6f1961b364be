"""Who may see and do what. The rules live here so that every route asks the same questions."""

from __future__ import annotations

from models import Consultation, ConsultationState, Role, User

READS_MESSAGES = {Role.counsellor, Role.supervisor}
MANAGES_ACCOUNTS = {Role.admin}
READS_STATISTICS = {Role.board, Role.supervisor, Role.admin}


def may_read_messages(user: User) -> bool:
    return user.role in READS_MESSAGES


def may_open(user: User, consultation: Consultation) -> bool:
    """Supervisors see every consultation. A counsellor sees an open one nobody has taken or that is theirs,
    and the ones they handled; not a colleague's case."""
    if user.role == Role.supervisor:
        return True
    if user.role != Role.counsellor:
        return False
    if consultation.assigned_to_id == user.id:
        return True
    return consultation.state == ConsultationState.open and consultation.assigned_to_id is None


def may_assign_others(user: User) -> bool:
    return user.role == Role.supervisor
