"""Pages: a person must answer a consultation that became urgent, within seconds, at any hour.

A page is opened in the same transaction as the risk event that calls for it, so a page can be neither
lost nor made twice. Step 0 tells the shift's primary counsellor; each step after `escalate_after` without an
acknowledgement tells again, adding the backup, then the supervisor on call, and repeats until someone
acknowledges. The page row holds the last step sent: a timer for a step already done finds nothing to do,
so duplicate or stale escalation jobs are harmless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from counsellor_console import audit
from counsellor_console.rosters import on_duty
from models import (
    RISK_ORDER,
    Consultation,
    NoticeChannel,
    NoticeState,
    Page,
    PageNotice,
    PageState,
    RiskEvent,
    RiskLevel,
    Role,
    Shift,
    User,
)

# After the supervisor has been told (step 2), e-mail and chat go out every third step only: the console's
# banner repeats each step, and a long night of unanswered notices must not bury the people or the queue.
EXTERNAL_EVERY = 3


@dataclass(frozen=True)
class PagingPolicy:
    min_risk: RiskLevel = RiskLevel.urgent
    escalate_after: timedelta = timedelta(seconds=60)
    # After an acknowledgement, further risky messages of the consultation join the page for this long.
    again_after: timedelta = timedelta(minutes=10)
    email_enabled: bool = False
    # An answered page with no reply to the sender this long after runs again (None: never).
    reply_within: timedelta | None = timedelta(minutes=10)


@dataclass(frozen=True)
class StepSent:
    """What a step created, for the caller to announce and send once it has committed."""

    page_id: int
    consultation_id: int
    risk: RiskLevel
    step: int
    next_escalation_at: datetime
    console_notice_ids: list[int]
    external_notice_ids: list[int]
    user_ids: list[int]


def calls_for_page(event: RiskEvent, policy: PagingPolicy) -> bool:
    # A level a counsellor set is theirs: they are with the case already, so it pages no one.
    return event.source == "triage" and RISK_ORDER[event.risk] >= RISK_ORDER[policy.min_risk]


def open_pages(
    session: Session, *, risk_event_ids: list[int], policy: PagingPolicy, now: datetime
) -> list[StepSent]:
    """Pages for risk events just written in this transaction. A consultation with a running page (or one
    acknowledged a moment ago) does not page again: the page counts the repeat instead."""
    if not risk_event_ids:
        return []
    events = session.scalars(select(RiskEvent).where(RiskEvent.id.in_(risk_event_ids))).all()
    sent = []
    for event in events:
        if not calls_for_page(event, policy):
            continue
        running = session.scalars(
            select(Page)
            .where(
                Page.consultation_id == event.consultation_id,
                (Page.state == PageState.open) | (Page.acknowledged_at >= now - policy.again_after),
            )
            .order_by(Page.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if running is not None:
            running.repeats += 1
            continue
        consultation = session.get(Consultation, event.consultation_id)
        assert consultation is not None
        shift = on_duty(session, consultation.desk, now)
        page = Page(
            consultation_id=event.consultation_id,
            risk_event_id=event.id,
            desk=consultation.desk,
            risk=event.risk,
            state=PageState.open,
            step=0,
            shift_id=shift.id if shift else None,
            repeats=0,
            created_at=now,
            next_escalation_at=now + policy.escalate_after,
        )
        session.add(page)
        session.flush()
        sent.append(_notify_step(session, page, shift, policy, now))
    return sent


def escalate(
    session: Session, *, page_id: int, step: int, policy: PagingPolicy, now: datetime
) -> StepSent | None:
    """Send step `step` of a page, if it is still open and its last step is the one before."""
    page = session.scalars(select(Page).where(Page.id == page_id).with_for_update()).one_or_none()
    if page is None or page.state != PageState.open or page.step != step - 1:
        return None
    page.step = step
    page.next_escalation_at = now + policy.escalate_after
    return _notify_step(session, page, on_duty(session, page.desk, now), policy, now)


def recipients(
    session: Session, shift: Shift | None, step: int, *, assignee: int | None = None
) -> list[tuple[int, str]]:
    """Who is told at this step: the primary; then the backup too; then the supervisor on call too; and at
    every step the counsellor who has the case, if anyone does. With no shift on the roster, or nobody
    active in it, every active counsellor and supervisor: a page must reach someone."""
    chain: list[tuple[int, str]] = []
    if shift is not None:
        wanted = [
            (shift.primary_user_id, "primary"),
            (shift.backup_user_id, "backup"),
            (shift.supervisor_user_id, "supervisor"),
        ]
        active = set(
            session.scalars(
                select(User.id).where(User.id.in_([u for u, _ in wanted if u]), User.active.is_(True))
            )
        )
        for user_id, role in wanted:
            if user_id in active and user_id not in {u for u, _ in chain}:
                chain.append((user_id, role))
    if not chain:
        everyone = session.scalars(
            select(User.id)
            .where(User.active.is_(True), User.role.in_([Role.counsellor, Role.supervisor]))
            .order_by(User.id)
        ).all()
        return [(user_id, "fallback") for user_id in everyone]
    people = chain[: step + 1]
    has_case = assignee is not None and assignee not in {u for u, _ in people}
    if has_case and session.scalar(select(User.active).where(User.id == assignee)):
        assert assignee is not None
        people.insert(0, (assignee, "assignee"))
    return people


def _notify_step(
    session: Session, page: Page, shift: Shift | None, policy: PagingPolicy, now: datetime
) -> StepSent:
    assignee = session.scalar(
        select(Consultation.assigned_to_id).where(Consultation.id == page.consultation_id)
    )
    people = recipients(session, shift, page.step, assignee=assignee)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([p for p, _ in people])))}
    console: list[PageNotice] = []
    outside: list[PageNotice] = []
    external = page.step <= 2 or (page.step - 2) % EXTERNAL_EVERY == 0
    for user_id, role in people:
        user = users[user_id]
        channels = [NoticeChannel.console]
        if external and policy.email_enabled and user.notify_email:
            channels.append(NoticeChannel.email)
        if external and user.notify_urls_encrypted:
            channels.append(NoticeChannel.chat)
        for channel in channels:
            notice = PageNotice(
                page_id=page.id,
                step=page.step,
                user_id=user_id,
                role=role,
                channel=channel,
                state=NoticeState.pending,
                attempts=0,
                created_at=now,
            )
            session.add(notice)
            (console if channel == NoticeChannel.console else outside).append(notice)
    session.flush()
    assert page.next_escalation_at is not None
    return StepSent(
        page_id=page.id,
        consultation_id=page.consultation_id,
        risk=page.risk,
        step=page.step,
        next_escalation_at=page.next_escalation_at,
        console_notice_ids=[n.id for n in console],
        external_notice_ids=[n.id for n in outside],
        user_ids=[p for p, _ in people],
    )


def mark_console_sent(session: Session, notice_ids: list[int], now: datetime) -> None:
    """The banner's news is out on the console's stream (each console also finds it on its next load)."""
    if notice_ids:
        session.execute(
            update(PageNotice)
            .where(PageNotice.id.in_(notice_ids), PageNotice.state == NoticeState.pending)
            .values(state=NoticeState.sent, sent_at=now, attempts=PageNotice.attempts + 1)
        )


# -- acknowledging ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    page_id: int
    consultation_id: int
    by_user_id: int | None
    via: str | None
    at: datetime | None
    just_now: bool  # False: someone had acknowledged it already

    @classmethod
    def of(cls, page: Page, *, just_now: bool) -> Acknowledgement:
        return cls(
            page_id=page.id,
            consultation_id=page.consultation_id,
            by_user_id=page.acknowledged_by_id,
            via=page.acknowledged_via,
            at=page.acknowledged_at,
            just_now=just_now,
        )


def acknowledge(
    session: Session, *, page_id: int, user: User, via: str, now: datetime
) -> Acknowledgement | None:
    page = session.scalars(select(Page).where(Page.id == page_id).with_for_update()).one_or_none()
    if page is None:
        return None
    just_now = page.state == PageState.open
    if just_now:
        _acknowledge(session, page, user, via, now)
    return Acknowledgement.of(page, just_now=just_now)


def acknowledge_consultation(
    session: Session, *, consultation_id: int, user: User, via: str, now: datetime
) -> list[int]:
    """Taking the case, replying to it or closing it answers its running pages: a person is on it."""
    pages = session.scalars(
        select(Page)
        .where(Page.consultation_id == consultation_id, Page.state == PageState.open)
        .with_for_update()
    ).all()
    for page in pages:
        _acknowledge(session, page, user, via, now)
    return [p.id for p in pages]


def _acknowledge(session: Session, page: Page, user: User, via: str, now: datetime) -> None:
    page.state = PageState.acknowledged
    page.acknowledged_at, page.acknowledged_by_id, page.acknowledged_via = now, user.id, via
    page.next_escalation_at = None
    session.execute(
        update(PageNotice)
        .where(PageNotice.page_id == page.id, PageNotice.state == NoticeState.pending)
        .values(state=NoticeState.skipped)
    )
    audit.record(
        session,
        user=user,
        action="page_ack",
        consultation_id=page.consultation_id,
        now=now,
        page_id=page.id,
        via=via,
        step=page.step,
    )


def reopen_unanswered(session: Session, *, policy: PagingPolicy, now: datetime) -> list[tuple[int, int]]:
    """Pages answered (a tap on a link in a shared channel, a claim) after which nobody replied to the sender
    in time: they run again from their next step. Returns (page, next step) for the caller to escalate."""
    if policy.reply_within is None:
        return []
    pages = session.scalars(
        select(Page)
        .join(Consultation, Consultation.id == Page.consultation_id)
        .where(
            Page.state == PageState.acknowledged,
            Page.first_reply_at.is_(None),
            Page.acknowledged_at < now - policy.reply_within,
            Consultation.state == "open",
        )
        .with_for_update(of=Page)
    ).all()
    due = []
    for page in pages:
        page.state, page.reopens = PageState.open, page.reopens + 1
        page.next_escalation_at = now
        audit.record(
            session,
            user=None,
            action="page_reopened",
            consultation_id=page.consultation_id,
            now=now,
            page_id=page.id,
            answered_by=page.acknowledged_by_id,
        )
        due.append((page.id, page.step + 1))
    return due


def was_told(session: Session, *, page_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(PageNotice.id).where(PageNotice.page_id == page_id, PageNotice.user_id == user_id).limit(1)
        )
        is not None
    )


def record_first_reply(session: Session, *, consultation_id: int, now: datetime) -> None:
    session.execute(
        update(Page)
        .where(Page.consultation_id == consultation_id, Page.first_reply_at.is_(None))
        .values(first_reply_at=now)
    )


# -- what the console shows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BannerPage:
    page_id: int
    consultation_id: int
    desk: str
    risk: RiskLevel
    step: int
    created_at: datetime
    repeats: int


def banner_for(session: Session, *, user: User, now: datetime) -> list[BannerPage]:
    """Open pages this person has been told of, oldest first. Showing them counts as delivered."""
    pages = session.scalars(
        select(Page)
        .where(
            Page.state == PageState.open,
            Page.id.in_(
                select(PageNotice.page_id).where(
                    PageNotice.user_id == user.id, PageNotice.channel == NoticeChannel.console
                )
            ),
        )
        .order_by(Page.created_at, Page.id)
    ).all()
    if pages:
        ids = [p.id for p in pages]
        session.execute(
            update(PageNotice)
            .where(
                PageNotice.page_id.in_(ids),
                PageNotice.user_id == user.id,
                PageNotice.channel == NoticeChannel.console,
                PageNotice.seen_at.is_(None),
            )
            .values(seen_at=now)
        )
        session.execute(
            update(Page).where(Page.id.in_(ids), Page.delivered_at.is_(None)).values(delivered_at=now)
        )
    return [
        BannerPage(
            page_id=p.id,
            consultation_id=p.consultation_id,
            desk=p.desk,
            risk=p.risk,
            step=p.step,
            created_at=p.created_at,
            repeats=p.repeats,
        )
        for p in pages
    ]


@dataclass(frozen=True)
class PageRecord:
    page: Page
    acknowledged_by: str | None
    paged: list[str]  # who was told, in the order of the chain


def recent_pages(session: Session, *, since: datetime) -> list[PageRecord]:
    """For the supervisor: running pages first, then the others, newest first."""
    pages = session.scalars(
        select(Page)
        .where((Page.state == PageState.open) | (Page.created_at >= since))
        .order_by((Page.state == PageState.open).desc(), Page.created_at.desc())
        .limit(200)
    ).all()
    if not pages:
        return []
    names = dict(session.execute(select(User.id, User.display_name)).tuples().all())
    told: dict[int, list[str]] = {}
    for page_id, user_id in session.execute(
        select(PageNotice.page_id, PageNotice.user_id)
        .where(PageNotice.page_id.in_([p.id for p in pages]))
        .order_by(PageNotice.step, PageNotice.id)
    ).tuples():
        people = told.setdefault(page_id, [])
        if names.get(user_id) and names[user_id] not in people:
            people.append(names[user_id])
    return [
        PageRecord(
            page=p,
            acknowledged_by=names.get(p.acknowledged_by_id) if p.acknowledged_by_id else None,
            paged=told.get(p.id, []),
        )
        for p in pages
    ]


# -- notices outside the console ------------------------------------------------------------------------

MAX_NOTICE_ATTEMPTS = 3


@dataclass(frozen=True)
class NoticeToSend:
    notice_id: int
    channel: NoticeChannel
    user_id: int
    email: str | None
    urls_encrypted: bytes | None
    page_id: int
    consultation_id: int
    desk: str
    risk: RiskLevel
    step: int
    created_at: datetime


def claim_notice(session: Session, *, notice_id: int) -> NoticeToSend | None:
    """Take a notice for sending, once per attempt; None when there is nothing to send (sent already, given
    up, or the page was acknowledged meanwhile)."""
    notice = session.scalars(
        select(PageNotice).where(PageNotice.id == notice_id).with_for_update()
    ).one_or_none()
    if notice is None or notice.state not in (NoticeState.pending, NoticeState.sending):
        return None
    page = session.get(Page, notice.page_id)
    assert page is not None
    if page.state != PageState.open:
        notice.state = NoticeState.skipped
        return None
    if notice.attempts >= MAX_NOTICE_ATTEMPTS:
        notice.state, notice.error = NoticeState.failed, "gave_up"
        return None
    user = session.get(User, notice.user_id)
    assert user is not None
    notice.state, notice.attempts = NoticeState.sending, notice.attempts + 1
    return NoticeToSend(
        notice_id=notice.id,
        channel=notice.channel,
        user_id=user.id,
        email=user.notify_email,
        urls_encrypted=user.notify_urls_encrypted,
        page_id=page.id,
        consultation_id=page.consultation_id,
        desk=page.desk,
        risk=page.risk,
        step=notice.step,
        created_at=page.created_at,
    )


def finish_notice(session: Session, *, notice_id: int, error: str | None, now: datetime) -> bool:
    """Record one attempt. Returns True when the notice may be tried again."""
    notice = session.get(PageNotice, notice_id)
    assert notice is not None
    if error is None:
        notice.state, notice.sent_at, notice.error = NoticeState.sent, now, None
        session.execute(
            update(Page)
            .where(Page.id == notice.page_id, Page.delivered_at.is_(None))
            .values(delivered_at=now)
        )
        return False
    notice.error = error[:64]
    again = notice.attempts < MAX_NOTICE_ATTEMPTS
    notice.state = NoticeState.pending if again else NoticeState.failed
    return again


def overdue_pages(session: Session, *, before: datetime) -> list[tuple[int, int]]:
    """(page, next step) for open pages whose timer should have fired by `before`: the sweeper's list."""
    rows = session.execute(
        select(Page.id, Page.step).where(Page.state == PageState.open, Page.next_escalation_at < before)
    ).tuples()
    return [(page_id, step + 1) for page_id, step in rows]


@dataclass(frozen=True)
class StaleNotices:
    """Notices of open pages not sent yet: the console's by page (to announce again), the others by ID."""

    console: dict[int, list[int]]  # page -> its console notices
    external: list[int]


def stale_notices(session: Session, *, created_before: datetime) -> StaleNotices:
    rows = session.execute(
        select(PageNotice.id, PageNotice.page_id, PageNotice.channel)
        .join(Page, Page.id == PageNotice.page_id)
        .where(
            Page.state == PageState.open,
            PageNotice.state.in_([NoticeState.pending, NoticeState.sending]),
            PageNotice.created_at < created_before,
        )
    ).tuples()
    stale = StaleNotices(console={}, external=[])
    for notice_id, page_id, channel in rows:
        if channel == NoticeChannel.console:
            stale.console.setdefault(page_id, []).append(notice_id)
        else:
            stale.external.append(notice_id)
    return stale
