"""RQ job entry points. Each takes a row ID, checks the row's state first, and commits at its own boundary."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

import orjson
from redis.exceptions import RedisError
from sqlalchemy import select

from bot import inbox, outbound
from bot.conversation import handle_event
from counsellor_console import page_notices, paging
from counsellor_console.live import EVENTS_CHANNEL as EVENTS_CHANNEL
from koe.runtime import Runtime, get_runtime
from models import (
    Consultation,
    ConsultationState,
    Delivery,
    InboxState,
    NoticeChannel,
    Page,
    RiskEvent,
    Sender,
    SenderStatus,
)

log = logging.getLogger("koe.jobs")

DELIVERY_SWEEP_BACKOFF = 60  # seconds


class DeliveryNotYetSent(Exception):
    """Raised so that RQ retries the job later with backoff (LINE was unreachable or answered 5xx/429)."""


class NoticeNotYetSent(Exception):
    """Raised so that RQ tries an e-mail or chat notice again (the page escalates meanwhile anyway)."""


class JobFailed(Exception):
    """What RQ sees of any other error: the kind and where, never the text (which may quote a message)."""


P = ParamSpec("P")
R = TypeVar("R")


def _sanitized(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (DeliveryNotYetSent, NoticeNotYetSent, JobFailed):
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised, without its message
            # RQ logs and stores the exception it is given: it gets the kind and the place, not the text.
            where = traceback.extract_tb(exc.__traceback__)[-1]
            place = f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}"
            raise JobFailed(f"{type(exc).__name__} at {place} in {fn.__name__}{args}") from None

    return run


@_sanitized
def process_inbox_event(event_id: int) -> str:
    rt = get_runtime()
    now = datetime.now(UTC)
    with rt.sessions() as session, session.begin():
        attempt = inbox.claim(session, event_id)
    if attempt is None:
        return "already_handled"
    if attempt > rt.settings.max_job_attempts:
        with rt.sessions() as session, session.begin():
            inbox.give_up(session, event_id, now=now)
        log.error("inbox event gave up after attempts event_id=%s attempts=%s", event_id, attempt - 1)
        return "gave_up"

    with rt.sessions() as session, session.begin():
        row = inbox.lock_pending(session, event_id)
        if row is None:
            return "already_handled"
        assert row.payload is not None
        event = orjson.loads(rt.crypto.decrypt(row.payload))
        handled = handle_event(session, row, event, rt.flow, now)
        inbox.finish(row, state=handled.state, outcome=handled.outcome, now=now)
        # In the same transaction as the risk event: a page can be neither lost nor made twice.
        pages = paging.open_pages(
            session, risk_event_ids=handled.risk_event_ids, policy=rt.paging_policy, now=now
        )
    if pages:
        try:
            dispatch_pages(rt, pages)
        except Exception as exc:  # noqa: BLE001 - the rows are committed: the sweeper finishes the job
            log.warning("could not dispatch pages (%s); the sweeper will", type(exc).__name__)
    log.info(
        "inbox event handled event_id=%s type=%s outcome=%s deliveries=%s",
        event_id,
        row.event_type,
        handled.outcome,
        handled.delivery_ids,
    )
    if handled.risk_event_ids:
        announce_risk_events(rt, handled.risk_event_ids)
    if handled.consultation_id is not None:
        announce(rt, [{"type": "consultation_changed", "consultation_id": handled.consultation_id}])
    if handled.leave_chat is not None:
        kind, chat_id = handled.leave_chat
        result = rt.line.leave(row.desk, kind, chat_id)
        log.info("left a %s chat event_id=%s status=%s", kind, event_id, result.status)
    if handled.delivery_ids:
        try:
            rt.queues.enqueue_deliveries(handled.delivery_ids)
        except Exception:  # noqa: BLE001 - the sweeper sends pending deliveries if Redis hiccups here
            log.warning("could not enqueue deliveries %s; the sweeper will", handled.delivery_ids)
    return handled.outcome if handled.state != InboxState.skipped else f"skipped:{handled.outcome}"


def announce(rt: Runtime, payloads: list[dict[str, object]]) -> bool:
    """News for live views: IDs and levels only. The rows are the truth, so a Redis hiccup loses nothing."""
    try:
        for payload in payloads:
            rt.redis.publish(EVENTS_CHANNEL, orjson.dumps(payload))
    except RedisError as exc:
        log.warning("could not announce %s updates (%s)", len(payloads), type(exc).__name__)
        return False
    return True


def dispatch_pages(rt: Runtime, steps: list[paging.StepSent]) -> None:
    """After the commit of a page's step: the consoles hear of it at once, e-mail and chat notices go to
    the paging queue, and the timer for the next step is set. Whatever fails here (Redis away), the
    sweeper finds in the rows and does again."""
    for sent in steps:
        published = announce(rt, [_page_news(sent.page_id, sent.consultation_id, sent.risk, sent.step)])
        log.info(
            "page step sent page_id=%s consultation_id=%s step=%s people=%s external=%s",
            sent.page_id,
            sent.consultation_id,
            sent.step,
            len(sent.user_ids),
            len(sent.external_notice_ids),
        )
        if published:
            with rt.sessions() as session, session.begin():
                paging.mark_console_sent(session, sent.console_notice_ids, datetime.now(UTC))
        try:
            rt.queues.enqueue_page_notices(sent.external_notice_ids)
            rt.queues.schedule_escalation(sent.page_id, sent.step + 1, sent.next_escalation_at)
        except RedisError as exc:
            log.warning(
                "page %s: could not queue its notices or timer (%s); the sweeper will",
                sent.page_id,
                type(exc).__name__,
            )


def _page_news(page_id: int, consultation_id: int, risk: str, step: int) -> dict[str, object]:
    return {
        "type": "page",
        "page_id": page_id,
        "consultation_id": consultation_id,
        "risk": str(risk),
        "step": step,
    }


@_sanitized
def escalate_page(page_id: int, step: int) -> str:
    """A page's timer: nobody acknowledged, so tell again and tell more people. A duplicate or stale timer
    (the step was sent already, or the page was acknowledged) does nothing."""
    rt = get_runtime()
    with rt.sessions() as session, session.begin():
        sent = paging.escalate(
            session, page_id=page_id, step=step, policy=rt.paging_policy, now=datetime.now(UTC)
        )
    if sent is None:
        return "nothing_to_do"
    dispatch_pages(rt, [sent])
    return f"step_{step}"


@_sanitized
def send_page_notice(notice_id: int) -> str:
    """One e-mail or chat notice of a page, with its one-tap acknowledgement link."""
    rt = get_runtime()
    now = datetime.now(UTC)
    with rt.sessions() as session, session.begin():
        notice = paging.claim_notice(session, notice_id=notice_id)
    if notice is None:
        return "nothing_to_do"
    urls = _notice_urls(rt, notice)
    if not urls:
        error: str | None = "no_address"
    else:
        link = rt.link_signer.sign(
            page_notices.AckLink(
                notice.page_id, notice.user_id, now + timedelta(minutes=rt.settings.page_link_minutes)
            )
        )
        title, body = page_notices.notice_text(
            desk=notice.desk,
            consultation_id=notice.consultation_id,
            risk=str(notice.risk),
            step=notice.step,
            created_at=notice.created_at,
            link=f"{rt.settings.public_url.rstrip('/')}/console/pages/ack/{link}",
        )
        try:
            error = None if page_notices.send(urls, title=title, body=body) else "not_accepted"
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded and retried
            error = type(exc).__name__
    with rt.sessions() as session, session.begin():
        again = paging.finish_notice(session, notice_id=notice_id, error=error, now=datetime.now(UTC))
    log.info("page notice notice_id=%s channel=%s outcome=%s", notice_id, notice.channel, error or "sent")
    if error and again:
        raise NoticeNotYetSent(f"notice {notice_id}: {error}")
    return error or "sent"


def _notice_urls(rt: Runtime, notice: paging.NoticeToSend) -> list[str]:
    if notice.channel == NoticeChannel.email:
        base = rt.settings.page_email_url
        return [page_notices.email_url(base, notice.email)] if base and notice.email else []
    if notice.channel == NoticeChannel.chat and notice.urls_encrypted:
        urls = orjson.loads(rt.crypto.decrypt(notice.urls_encrypted))
        return [u for u in urls if isinstance(u, str)]
    return []


def announce_risk_events(rt: Runtime, event_ids: list[int]) -> None:
    """Tell live views (and, with paging, the pager) that consultations became riskier. The rows are the
    truth; this is only the news, so a Redis hiccup here loses nothing."""
    with rt.sessions() as session:
        events = session.scalars(select(RiskEvent).where(RiskEvent.id.in_(event_ids))).all()
    announce(
        rt,
        [
            {
                "type": "risk_raised",
                "risk_event_id": e.id,
                "consultation_id": e.consultation_id,
                "risk": e.risk,
            }
            for e in events
        ],
    )
    for e in events:
        log.info("risk raised consultation_id=%s risk=%s event_id=%s", e.consultation_id, e.risk, e.id)


@_sanitized
def deliver(delivery_id: int) -> str:
    rt = get_runtime()
    settings = rt.settings
    with rt.sessions() as session, session.begin():
        attempt = outbound.begin_attempt(
            session,
            delivery_id,
            crypto=rt.crypto,
            now=datetime.now(UTC),
            reply_token_max_age=timedelta(seconds=settings.reply_token_max_age_seconds),
        )
    if attempt is None:
        return "nothing_to_do"
    result = outbound.send(rt.line, attempt)
    with rt.sessions() as session, session.begin():
        outcome = outbound.record_result(
            session,
            attempt,
            result,
            now=datetime.now(UTC),
            give_up_after=timedelta(hours=settings.delivery_give_up_hours),
        )
        consultation_id = session.scalar(select(Delivery.consultation_id).where(Delivery.id == delivery_id))
    if consultation_id is not None and outcome != outbound.SendOutcome.retry:
        announce(rt, [{"type": "delivery", "consultation_id": consultation_id, "delivery_id": delivery_id}])
    log.info(
        "delivery attempt delivery_id=%s method=%s status=%s outcome=%s",
        delivery_id,
        attempt.method,
        result.status,
        outcome,
    )
    if outcome == outbound.SendOutcome.retry:
        if attempt.method == outbound.Method.reply and result.status == 400:
            return deliver(delivery_id)  # the token was refused: push at once, no need to wait
        raise DeliveryNotYetSent(f"delivery {delivery_id}: LINE status {result.status}")
    return str(outcome)


@_sanitized
def show_typing(consultation_id: int) -> str:
    """The "…" animation in the sender's LINE while their counsellor writes. Best effort: nothing is
    retried, since a late animation would only mislead."""
    rt = get_runtime()
    with rt.sessions() as session:
        row = session.execute(
            select(Sender.desk, Sender.line_user_id_encrypted, Sender.status, Sender.channel)
            .join(Consultation, Consultation.sender_id == Sender.id)
            .where(Consultation.id == consultation_id, Consultation.state == ConsultationState.open)
        ).one_or_none()
    if (
        row is None
        or row.line_user_id_encrypted is None
        or row.status != SenderStatus.active
        or row.channel != "line"
    ):
        return "nothing_to_do"
    user_id = rt.crypto.decrypt(row.line_user_id_encrypted).decode()
    result = rt.line.show_loading(row.desk, user_id, seconds=TYPING_SECONDS)
    log.info("typing shown consultation_id=%s status=%s", consultation_id, result.status)
    return f"status_{result.status}"


TYPING_SECONDS = 20


def sweep() -> dict[str, int]:
    """Bring back work whose job never ran or died with its worker: rows still pending after a while."""
    rt = get_runtime()
    from koe import queues

    now = datetime.now(UTC)
    before = now - timedelta(seconds=rt.settings.sweep_after_seconds)
    with rt.sessions() as session:
        event_ids = inbox.stale_pending_ids(session, received_before=before)
        # LINE down for long: after RQ's own retries, try again once a minute, not at every sweep.
        delivery_ids = outbound.pending_ids(
            session,
            created_before=before,
            last_attempt_before=now - timedelta(seconds=DELIVERY_SWEEP_BACKOFF),
        )
    requeued_events = sum(
        rt.queues.requeue_stale(queues.INTAKE, queues.PROCESS_INBOX_EVENT, i, f"inbox-{i}", now=now)
        for i in event_ids
    )
    requeued_deliveries = sum(
        rt.queues.requeue_stale(queues.OUTBOUND, queues.DELIVER, i, f"delivery-{i}", now=now)
        for i in delivery_ids
    )
    return {"inbox_events": requeued_events, "deliveries": requeued_deliveries, **sweep_pages(rt, now)}


PAGE_TIMER_GRACE = timedelta(seconds=3)
NOTICE_GRACE = timedelta(seconds=5)


def sweep_pages(rt: Runtime, now: datetime) -> dict[str, int]:
    """Pages whose timer did not fire (its worker died, Redis lost it) escalate now; notices that never went
    out go again. The escalation job itself refuses a step already sent, so this can never double a page."""
    from koe import queues

    with rt.sessions() as session, session.begin():
        reopened = paging.reopen_unanswered(session, policy=rt.paging_policy, now=now)
    for page_id, step in reopened:
        log.warning("page answered but no reply to the sender in time: paging again page_id=%s", page_id)
        rt.queues.requeue_stale(
            queues.PAGING,
            queues.ESCALATE_PAGE,
            (page_id, step),
            f"page-{page_id}-step-{step}-reopened",
            now=now,
        )
    with rt.sessions() as session:
        overdue = paging.overdue_pages(session, before=now - PAGE_TIMER_GRACE)
        stale = paging.stale_notices(session, created_before=now - NOTICE_GRACE)
        unannounced = (
            session.scalars(select(Page).where(Page.id.in_(stale.console))).all() if stale.console else []
        )
    for page_id, step in overdue:
        rt.queues.requeue_stale(
            queues.PAGING, queues.ESCALATE_PAGE, (page_id, step), f"page-{page_id}-step-{step}-swept", now=now
        )
    console_ids = [i for ids in stale.console.values() for i in ids]
    if unannounced and announce(
        rt, [_page_news(p.id, p.consultation_id, p.risk, p.step) for p in unannounced]
    ):
        with rt.sessions() as session, session.begin():
            paging.mark_console_sent(session, console_ids, now)
    requeued_notices = sum(
        rt.queues.requeue_stale(queues.PAGING, queues.SEND_PAGE_NOTICE, i, f"notice-{i}", now=now)
        for i in stale.external
    )
    return {
        "page_timers": len(overdue),
        "pages_reopened": len(reopened),
        "console_notices": len(console_ids),
        "page_notices": requeued_notices,
    }
