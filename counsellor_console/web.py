"""The console's HTTP routes under /console: server-rendered pages, small fragments for live refresh, and
a Server-Sent Events stream. Each request is one transaction, committed at the end of the route."""

import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from counsellor_console import accounts, audit, canned, casework, directory, live, paging, rosters
from counsellor_console.access import may_assign_others, may_open
from counsellor_console.accounts import SignedIn
from counsellor_console.conversation import load_thread
from counsellor_console.labels import (
    DELIVERY_LABELS,
    DESK_LABELS,
    OUTCOME_LABELS,
    REFERRAL_LABELS,
    RISK_LABELS,
    ROLE_LABELS,
    SCHOOL_LEVEL_LABELS,
    topic_label,
)
from counsellor_console.notify_settings import NotifySettingsError, set_notify
from counsellor_console.page_notices import LinkExpired, LinkInvalid
from counsellor_console.queue import open_queue
from counsellor_console.services import ConsoleServices
from counsellor_console.supervision import overview
from counsellor_console.timefmt import TOKYO, seconds_between, tokyo, waited
from models import AuditEntry, Consultation, Outcome, Page, ReferralDestination, RiskLevel, Role, Shift, User
from triage.labels import TOPICS

log = logging.getLogger("koe.console")

HERE = Path(__file__).parent
SESSION_COOKIE = "koe_session"
LOGIN_CSRF_COOKIE = "koe_login_csrf"
CSRF_HEADER = "x-csrf-token"
FRAGMENT_HEADER = "x-koe-fragment"  # sent by console.js when it fetches a part of a page


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals.update(
        RISK_LABELS=RISK_LABELS,
        DESK_LABELS=DESK_LABELS,
        SCHOOL_LEVEL_LABELS=SCHOOL_LEVEL_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        OUTCOME_LABELS=OUTCOME_LABELS,
        REFERRAL_LABELS=REFERRAL_LABELS,
        DELIVERY_LABELS=DELIVERY_LABELS,
        TOPICS=TOPICS,
        topic_label=topic_label,
        may_assign_others=may_assign_others,
        ACK_VIA=ACK_VIA,
        seconds_between=seconds_between,
    )
    env.filters["tokyo"] = tokyo
    env.filters["waited"] = waited
    return templates


def build_console_router(services: ConsoleServices) -> APIRouter:
    templates = _templates()
    router = APIRouter(prefix="/console")

    def db() -> Iterator[Session]:
        with services.sessions()() as session:
            yield session

    Db = Annotated[Session, Depends(db)]

    def signed_in(request: Request, session: Db) -> SignedIn:
        token = request.cookies.get(SESSION_COOKIE)
        polled = bool(request.headers.get(FRAGMENT_HEADER))
        found = accounts.resume_session(session, token=token, now=_now(), touch=not polled) if token else None
        if found is None:
            raise LoginRequired(request.url.path)
        session.commit()  # last_seen_at
        request.state.user = found.user
        request.state.csrf = found.session.csrf_token
        if request.method == "POST":
            sent = request.headers.get(CSRF_HEADER) or getattr(request.state, "form_csrf", None)
            if not sent or not accounts.constant_time_equal(sent, found.session.csrf_token):
                raise HTTPException(403, "フォームの有効期限が切れました。ページを読み込み直してください。")
        return found

    async def form_csrf(request: Request) -> None:
        request.state.form_csrf = None
        if request.method == "POST":
            form = await request.form()
            value = form.get("csrf")
            request.state.form_csrf = value if isinstance(value, str) else None

    Current = Annotated[SignedIn, Depends(signed_in)]

    def role_in(*roles: Role) -> Any:
        def check(current: Current) -> SignedIn:
            if current.user.role not in roles:
                raise HTTPException(403, "このページを見る権限がありません。")
            return current

        return Depends(check)

    Reader = Annotated[SignedIn, role_in(Role.counsellor, Role.supervisor)]
    Supervisor = Annotated[SignedIn, role_in(Role.supervisor)]
    Admin = Annotated[SignedIn, role_in(Role.admin)]
    Board = Annotated[SignedIn, role_in(Role.board, Role.supervisor, Role.admin)]

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("user", getattr(request.state, "user", None))
        context.setdefault("csrf", getattr(request.state, "csrf", ""))
        return templates.TemplateResponse(request, name, context, status_code=status)

    def consultation_or_404(
        session: Session, user: User, consultation_id: int, *, lock: bool
    ) -> Consultation:
        """Another desk's, another counsellor's or a non-existent case all answer the same 404."""
        consultation = (
            casework.lock_consultation(session, consultation_id)
            if lock
            else session.get(Consultation, consultation_id)
        )
        if consultation is None or not may_open(user, consultation):
            raise HTTPException(404, "相談が見つかりません。")
        return consultation

    # -- signing in ---------------------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/console/") -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", csrf=token, next=_safe_next(next), error=None)
        _set_cookie(
            request,
            response,
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            always_secure=services.always_secure_cookies,
        )
        return response

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request,
        session: Db,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        csrf: Annotated[str, Form(max_length=64)] = "",
        next: Annotated[str, Form(max_length=300)] = "/console/",
    ) -> Response:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not accounts.constant_time_equal(csrf, expected):
            raise HTTPException(403, "フォームの有効期限が切れました。ページを読み込み直してください。")
        address = request.client.host if request.client else "unknown"
        now = _now()
        try:
            accounts.begin_attempt(session, username=username, address=address, now=now)
        except accounts.Throttled:
            session.rollback()  # a refused try is not counted: it must not lengthen anyone's wait
            log.warning("console sign-in throttled")
            return page(
                request,
                "login.html",
                status=429,
                csrf=expected,
                next=_safe_next(next),
                error="ログインの失敗が続いたため、しばらくログインできません。15分ほど待ってからもう一度試してください。",
            )
        session.commit()
        user = accounts.finish_attempt(session, username=username, password=password, now=now)
        if user is None:
            return page(
                request,
                "login.html",
                status=401,
                csrf=expected,
                next=_safe_next(next),
                error="ユーザー名またはパスワードが違います。",
            )
        token = accounts.start_session(session, user=user, now=now)
        audit.record(session, user=user, action="login", now=now)
        session.commit()
        response = RedirectResponse(_safe_next(next), status_code=303)
        _set_cookie(
            request,
            response,
            SESSION_COOKIE,
            token,
            max_age=int(accounts.SESSION_MAX.total_seconds()),
            always_secure=services.always_secure_cookies,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return response

    @router.post("/logout", dependencies=[Depends(form_csrf)])
    def logout(request: Request, session: Db, current: Current) -> Response:
        now = _now()
        accounts.end_session(session, token=request.cookies.get(SESSION_COOKIE, ""), now=now)
        audit.record(session, user=current.user, action="logout", now=now)
        session.commit()
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response

    @router.get("/")
    def home(current: Current) -> Response:
        role = current.user.role
        target = {Role.admin: "/console/admin/users", Role.board: "/console/reports"}.get(
            role, "/console/queue"
        )
        return RedirectResponse(target, status_code=303)

    # -- the queue ----------------------------------------------------------------------------------------

    @router.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request, session: Db, current: Reader) -> HTMLResponse:
        return page(request, "queue.html", rows=open_queue(session), now=_now())

    @router.get("/queue/rows", response_class=HTMLResponse)
    def queue_rows(request: Request, session: Db, current: Reader) -> HTMLResponse:
        return page(request, "_queue_rows.html", rows=open_queue(session), now=_now())

    def supervisor_context(session: Session) -> dict[str, Any]:
        rows, loads = overview(session)
        now = _now()
        pages = paging.recent_pages(session, since=now - timedelta(days=7))
        return {"rows": rows, "loads": loads, "pages": pages, "now": now}

    @router.get("/supervisor", response_class=HTMLResponse)
    def supervisor_page(request: Request, session: Db, current: Supervisor) -> HTMLResponse:
        return page(request, "supervisor.html", **supervisor_context(session))

    @router.get("/supervisor/body", response_class=HTMLResponse)
    def supervisor_body(request: Request, session: Db, current: Supervisor) -> HTMLResponse:
        return page(request, "_supervisor_body.html", **supervisor_context(session))

    # -- pages: the banner, acknowledging in the console and by a notice's link ----------------------------

    @router.get("/pages/banner", response_class=HTMLResponse)
    def pager_banner(request: Request, session: Db, current: Reader) -> HTMLResponse:
        now = _now()
        pages = paging.banner_for(session, user=current.user, now=now)
        session.commit()  # shown on a screen: delivered
        return page(request, "_pager.html", pages=pages, now=now)

    def _acknowledge(
        session: Session, user: User, page_id: int, via: str, *, take: bool
    ) -> paging.Acknowledgement:
        """Acknowledge a page for a person who can work on its case; with `take`, also take the case when
        nobody has it (the console's "受けます"). Someone who cannot open the case (a colleague has it) cannot
        stop the chain: the one who has it, and the supervisor, are still being paged."""
        now = _now()
        consultation_id = session.scalar(select(Page.consultation_id).where(Page.id == page_id))
        if consultation_id is None:
            raise HTTPException(404, "呼び出しが見つかりません。")
        # The consultation first, then the page: the order the worker and casework lock them in.
        consultation = casework.lock_consultation(session, consultation_id)
        if consultation is None or (not may_open(user, consultation) and consultation.state == "open"):
            raise HTTPException(
                409,
                "この相談はほかの相談員が担当しています。担当の人かスーパーバイザーが応えます。"
                "急ぐときはスーパーバイザーに知らせてください。",
            )
        ack = paging.acknowledge(session, page_id=page_id, user=user, via=via, now=now)
        assert ack is not None
        announce: list[dict[str, object]] = []
        if ack.just_now:
            announce.append(
                {"type": "page_acknowledged", "page_id": page_id, "consultation_id": ack.consultation_id}
            )
            if (
                take
                and consultation.assigned_to_id is None
                and consultation.state == "open"
                and (user.role == Role.counsellor)
            ):
                announce += casework.claim(session, user=user, consultation=consultation, now=now).announce
        session.commit()
        services.publish(announce)
        return ack

    @router.post("/pages/{page_id}/ack", dependencies=[Depends(form_csrf)])
    def acknowledge_page(request: Request, session: Db, current: Reader, page_id: int) -> Response:
        told = paging.was_told(session, page_id=page_id, user_id=current.user.id)
        if not told and current.user.role != Role.supervisor:
            raise HTTPException(404, "呼び出しが見つかりません。")
        ack = _acknowledge(session, current.user, page_id, "console", take=True)
        return RedirectResponse(f"/console/consultations/{ack.consultation_id}", status_code=303)

    def _link_page(session: Session, token: str) -> tuple[Page | None, User | None, str | None]:
        try:
            link = services.link_signer.read(token, now=_now())
        except LinkExpired:
            return (
                None,
                None,
                "リンクの有効期限が切れています。コンソールにログインして、呼び出しに応えてください。",
            )
        except LinkInvalid:
            return (
                None,
                None,
                "リンクが正しくありません。届いた通知のリンクをそのまま開くか、コンソールにログインしてください。",
            )
        found, person = session.get(Page, link.page_id), session.get(User, link.user_id)
        if found is None or person is None or not person.active:
            return None, None, "この呼び出しは見つかりません。コンソールにログインして確かめてください。"
        return found, person, None

    @router.get("/pages/ack/{token}", response_class=HTMLResponse)
    def link_ack_form(request: Request, session: Db, token: str) -> HTMLResponse:
        """Opening the link never acknowledges: mail scanners and chat previews open links by themselves."""
        found, _person, problem = _link_page(session, token)
        if found is None:
            return page(request, "pages_ack.html", status=400, problem=problem)
        answered = found.acknowledged_at is not None
        ack = paging.Acknowledgement.of(found, just_now=False) if answered else None
        return page(
            request,
            "pages_ack.html",
            page=found,
            ack=ack,
            ack_by=_display_name(session, found.acknowledged_by_id),
            problem=None,
            confirm=False,
        )

    @router.post("/pages/ack/{token}", response_class=HTMLResponse)
    def link_ack(request: Request, session: Db, token: str) -> HTMLResponse:
        found, person, problem = _link_page(session, token)
        if found is None or person is None:
            return page(request, "pages_ack.html", status=400, problem=problem)
        # A link may be pressed in a shared chat channel: it answers the page but takes no case.
        ack = _acknowledge(session, person, found.id, "link", take=False)
        return page(
            request,
            "pages_ack.html",
            page=found,
            ack=ack,
            ack_by=_display_name(session, ack.by_user_id),
            problem=None,
            confirm=ack.just_now,
        )

    # -- rosters ------------------------------------------------------------------------------------------

    RosterReader = Annotated[SignedIn, role_in(Role.counsellor, Role.supervisor, Role.admin)]
    RosterEditor = Annotated[SignedIn, role_in(Role.supervisor, Role.admin)]

    def roster_page(
        request: Request,
        session: Session,
        current: SignedIn,
        desk: str,
        week: str | None,
        *,
        status: int = 200,
        error: str | None = None,
        notice: str | None = None,
    ) -> HTMLResponse:
        desk = desk if desk in rosters.DESKS else "youth"
        now = _now()
        today = now.astimezone(TOKYO).date()
        monday = rosters.parse_week(week, today)
        shifts = rosters.shifts_between(session, desk, monday, monday + timedelta(days=7))
        days = []
        for offset in range(7):
            day = monday + timedelta(days=offset)
            days.append(
                {
                    "label": f"{day.month}/{day.day}（{'月火水木金土日'[day.weekday()]}）",
                    "today": day == today,
                    "shifts": [s for s in shifts if s.starts_at.astimezone(TOKYO).date() == day],
                }
            )
        staff = session.scalars(
            select(User)
            .where(User.active.is_(True), User.role.in_([Role.counsellor, Role.supervisor]))
            .order_by(User.role, User.display_name)
        ).all()
        return page(
            request,
            "rosters.html",
            status=status,
            desk=desk,
            desks=rosters.DESKS,
            monday=monday,
            week=rosters.iso_week(monday),
            prev_week=rosters.iso_week(monday - timedelta(days=7)),
            next_week=rosters.iso_week(monday + timedelta(days=7)),
            days=days,
            names=dict(session.execute(select(User.id, User.display_name)).tuples().all()),
            now_shift=rosters.on_duty(session, desk, now),
            staff=staff,
            supervisors=[u for u in staff if u.role == Role.supervisor],
            editable=current.user.role in (Role.supervisor, Role.admin),
            error=error,
            notice=notice,
        )

    @router.get("/rosters", response_class=HTMLResponse)
    def rosters_page(
        request: Request, session: Db, current: RosterReader, desk: str = "youth", week: str | None = None
    ) -> HTMLResponse:
        return roster_page(request, session, current, desk, week)

    @router.post("/rosters", response_class=HTMLResponse, dependencies=[Depends(form_csrf)])
    def add_shift(
        request: Request,
        session: Db,
        current: RosterEditor,
        desk: Annotated[str, Form(max_length=16)],
        day: Annotated[date, Form()],
        start: Annotated[time, Form()],
        end: Annotated[time, Form()],
        primary: Annotated[int, Form()],
        backup: Annotated[str, Form(max_length=20)] = "",
        supervisor: Annotated[str, Form(max_length=20)] = "",
        on_call: Annotated[str, Form(max_length=4)] = "",
        week: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        form = rosters.ShiftForm(
            desk=desk,
            day=day,
            start=start,
            end=end,
            primary=primary,
            backup=int(backup) if backup.isdigit() else None,
            supervisor=int(supervisor) if supervisor.isdigit() else None,
            on_call=bool(on_call),
        )
        try:
            rosters.add_shift(session, form=form, by=current.user, now=_now())
        except rosters.RosterError as exc:
            session.rollback()
            return roster_page(request, session, current, desk, week, status=400, error=str(exc))
        session.commit()
        return RedirectResponse(
            f"/console/rosters?desk={desk}&week={rosters.iso_week(rosters.week_start(day))}", status_code=303
        )

    @router.post("/rosters/{shift_id}/delete", dependencies=[Depends(form_csrf)])
    def remove_shift(
        request: Request,
        session: Db,
        current: RosterEditor,
        shift_id: int,
        week: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        removed = session.get(Shift, shift_id)
        if removed is None:
            raise HTTPException(404, "シフトが見つかりません。")
        desk = removed.desk
        rosters.remove_shift(session, shift_id=shift_id, by=current.user, now=_now())
        session.commit()
        return RedirectResponse(f"/console/rosters?desk={desk}&week={quote(week)}", status_code=303)

    @router.post("/rosters/copy", response_class=HTMLResponse, dependencies=[Depends(form_csrf)])
    def copy_week(
        request: Request,
        session: Db,
        current: RosterEditor,
        desk: Annotated[str, Form(max_length=16)],
        week: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        monday = rosters.parse_week(week, _now().astimezone(TOKYO).date())
        added = rosters.copy_week(
            session, desk=desk, from_monday=monday - timedelta(days=7), by=current.user, now=_now()
        )
        session.commit()
        return roster_page(
            request,
            session,
            current,
            desk,
            week,
            notice=f"前の週から{added}件のシフトを写しました（重なるものは写していません）。",
        )

    @router.get("/events")
    def events(request: Request, current: Reader) -> StreamingResponse:
        token = request.cookies.get(SESSION_COOKIE, "")

        def check() -> bool:
            with services.sessions()() as session:
                return accounts.session_is_valid(session, token=token, now=_now())

        async def still_signed_in() -> bool:
            return await run_in_threadpool(check)

        return StreamingResponse(
            live.stream(
                services.redis_url(), disconnected=request.is_disconnected, still_signed_in=still_signed_in
            ),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # -- one consultation ---------------------------------------------------------------------------------

    def _view(request: Request, session: Db, current: SignedIn, consultation_id: int) -> dict[str, Any]:
        consultation = consultation_or_404(session, current.user, consultation_id, lock=False)
        audit.record(session, user=current.user, action="view", consultation_id=consultation.id, now=_now())
        session.commit()
        return {"c": consultation, "thread": load_thread(session, consultation), "now": _now()}

    def _full_page(
        request: Request,
        session: Session,
        current: SignedIn,
        consultation_id: int,
        *,
        error: str | None = None,
    ) -> HTMLResponse:
        """The conversation with its side panel; the live refresh fetches only the thread."""
        context = _view(request, session, current, consultation_id)
        consultation: Consultation = context["c"]
        staff = session.scalars(
            select(User).where(User.active.is_(True), User.role.in_([Role.counsellor, Role.supervisor]))
        ).all()
        return page(
            request,
            "consultation.html",
            status=409 if error else 200,
            error=error,
            **context,
            staff=staff,
            outcomes=list(Outcome),
            destinations=list(ReferralDestination),
            canned=canned.active_for(session, consultation.desk),
            suggested=directory.suggestions(
                session, desk=consultation.desk, topics=consultation.topics or []
            ),
            as_reply_text=directory.as_reply_text,
            siblings=casework.mergeable(session, current.user, consultation),
        )

    @router.get("/consultations/{consultation_id}", response_class=HTMLResponse)
    def consultation_page(
        request: Request, session: Db, current: Reader, consultation_id: int
    ) -> HTMLResponse:
        return _full_page(request, session, current, consultation_id)

    @router.get("/consultations/{consultation_id}/thread", response_class=HTMLResponse)
    def consultation_thread(
        request: Request, session: Db, current: Reader, consultation_id: int
    ) -> HTMLResponse:
        return page(request, "_thread.html", **_view(request, session, current, consultation_id))

    def act(
        request: Request, session: Session, current: SignedIn, consultation_id: int, action: Any
    ) -> Response:
        """Run one casework action in this request's transaction; commit, then announce and enqueue."""
        now = _now()
        consultation = consultation_or_404(session, current.user, consultation_id, lock=True)
        try:
            done: casework.Done = action(consultation, now)
        except casework.NotAllowed:
            session.rollback()
            raise HTTPException(403, "この操作をする権限がありません。") from None
        except casework.CaseworkError as exc:
            session.rollback()
            return _full_page(request, session, current, consultation_id, error=str(exc))
        session.commit()
        if done.delivery_ids:
            try:
                services.enqueue_deliveries(done.delivery_ids)
            except Exception:  # noqa: BLE001 - the sweeper sends pending deliveries if Redis hiccups
                log.warning("could not enqueue deliveries %s; the sweeper will", done.delivery_ids)
        services.publish(done.announce)
        return RedirectResponse(f"/console/consultations/{consultation_id}", status_code=303)

    CsrfForm = Depends(form_csrf)

    @router.post("/consultations/{consultation_id}/claim", dependencies=[CsrfForm])
    def claim(request: Request, session: Db, current: Reader, consultation_id: int) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.claim(session, user=current.user, consultation=c, now=now),
        )

    @router.post("/consultations/{consultation_id}/assign", dependencies=[CsrfForm])
    def assign(
        request: Request,
        session: Db,
        current: Reader,
        consultation_id: int,
        to_user_id: Annotated[int, Form()],
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.assign(
                session, user=current.user, consultation=c, to_user_id=to_user_id, now=now
            ),
        )

    @router.post("/consultations/{consultation_id}/reply", dependencies=[CsrfForm])
    def reply(
        request: Request,
        session: Db,
        current: Reader,
        consultation_id: int,
        text: Annotated[str, Form(max_length=20000)],
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.reply(session, user=current.user, consultation=c, text=text, now=now),
        )

    @router.post("/consultations/{consultation_id}/typing", status_code=204)
    def typing(request: Request, session: Db, current: Reader, consultation_id: int) -> Response:
        """The counsellor who has the case is writing: the sender's LINE shows the "…" animation."""
        consultation = consultation_or_404(session, current.user, consultation_id, lock=False)
        if consultation.assigned_to_id != current.user.id or consultation.state != "open":
            return Response(status_code=409)
        try:
            services.enqueue_typing(consultation.id)
        except Exception:  # noqa: BLE001 - only an animation: never an error for the counsellor
            log.warning("could not enqueue the typing animation consultation_id=%s", consultation.id)
        return Response(status_code=204)

    @router.post("/consultations/{consultation_id}/notes", dependencies=[CsrfForm])
    def note(
        request: Request,
        session: Db,
        current: Reader,
        consultation_id: int,
        body: Annotated[str, Form(max_length=20000)],
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.add_note(session, user=current.user, consultation=c, body=body, now=now),
        )

    @router.post("/consultations/{consultation_id}/close", dependencies=[CsrfForm])
    def close(
        request: Request,
        session: Db,
        current: Reader,
        consultation_id: int,
        outcome: Annotated[Outcome, Form()],
        referrals: Annotated[list[ReferralDestination] | None, Form()] = None,
        referral_note: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.close(
                session,
                user=current.user,
                consultation=c,
                outcome=outcome,
                referrals=referrals or [],
                referral_note=referral_note,
                now=now,
            ),
        )

    @router.post("/consultations/{consultation_id}/merge", dependencies=[CsrfForm])
    def merge(
        request: Request, session: Db, current: Reader, consultation_id: int, other_id: Annotated[int, Form()]
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.merge(
                session, user=current.user, consultation=c, other_id=other_id, now=now
            ),
        )

    @router.post("/consultations/{consultation_id}/messages/{message_id}/split", dependencies=[CsrfForm])
    def split(
        request: Request, session: Db, current: Reader, consultation_id: int, message_id: int
    ) -> Response:
        created: list[int] = []

        def run(c: Consultation, now: datetime) -> casework.Done:
            done, new_id = casework.split(
                session, user=current.user, consultation=c, from_message_id=message_id, now=now
            )
            created.append(new_id)
            return done

        response = act(request, session, current, consultation_id, run)
        if created and response.status_code == 303:
            return RedirectResponse(f"/console/consultations/{created[0]}", status_code=303)
        return response

    @router.post("/consultations/{consultation_id}/risk", dependencies=[CsrfForm])
    def set_risk(
        request: Request,
        session: Db,
        current: Reader,
        consultation_id: int,
        risk: Annotated[RiskLevel, Form()],
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.set_risk(session, user=current.user, consultation=c, risk=risk, now=now),
        )

    @router.post("/consultations/{consultation_id}/messages/{message_id}/correction", dependencies=[CsrfForm])
    def correct(
        request: Request,
        session: Db,
        current: Reader,
        consultation_id: int,
        message_id: int,
        risk: Annotated[RiskLevel, Form()],
        topics: Annotated[list[str] | None, Form()] = None,
    ) -> Response:
        return act(
            request,
            session,
            current,
            consultation_id,
            lambda c, now: casework.correct_message(
                session,
                user=current.user,
                consultation=c,
                message_id=message_id,
                topics=topics or [],
                risk=risk,
                now=now,
            ),
        )

    # -- 定型文 ---------------------------------------------------------------------------------------------

    @router.get("/canned", response_class=HTMLResponse)
    def canned_page(request: Request, session: Db, current: Reader) -> HTMLResponse:
        return page(request, "canned.html", responses=canned.all_responses(session), error=None)

    def save_canned(
        request: Request,
        session: Session,
        current: SignedIn,
        *,
        response_id: int | None,
        title: str,
        body: str,
        desk: str,
        active: str,
    ) -> Response:
        try:
            canned.save(
                session,
                user=current.user,
                now=_now(),
                title=title,
                body=body,
                desk=desk or None,
                active=bool(active),
                response_id=response_id,
            )
        except casework.CaseworkError as exc:
            session.rollback()
            responses = canned.all_responses(session)
            return page(request, "canned.html", status=400, responses=responses, error=str(exc))
        session.commit()
        return RedirectResponse("/console/canned", status_code=303)

    @router.post("/canned", dependencies=[CsrfForm])
    def add_canned(
        request: Request,
        session: Db,
        current: Supervisor,
        title: Annotated[str, Form(max_length=200)],
        body: Annotated[str, Form(max_length=20000)],
        desk: Annotated[str, Form(max_length=16)] = "",
        active: Annotated[str, Form(max_length=4)] = "",
    ) -> Response:
        return save_canned(
            request, session, current, response_id=None, title=title, body=body, desk=desk, active=active
        )

    @router.post("/canned/{response_id}", dependencies=[CsrfForm])
    def edit_canned(
        request: Request,
        session: Db,
        current: Supervisor,
        response_id: int,
        title: Annotated[str, Form(max_length=200)],
        body: Annotated[str, Form(max_length=20000)],
        desk: Annotated[str, Form(max_length=16)] = "",
        active: Annotated[str, Form(max_length=4)] = "",
    ) -> Response:
        return save_canned(
            request,
            session,
            current,
            response_id=response_id,
            title=title,
            body=body,
            desk=desk,
            active=active,
        )

    # -- the referral directory ------------------------------------------------------------------------

    Directory = Annotated[SignedIn, role_in(Role.counsellor, Role.supervisor, Role.admin)]
    DirectoryEditor = Annotated[SignedIn, role_in(Role.supervisor, Role.admin)]

    @router.get("/resources", response_class=HTMLResponse)
    def resources_page(request: Request, session: Db, current: Directory, topic: str = "") -> HTMLResponse:
        chosen = topic if topic in TOPICS else None
        found = directory.listing(session, topic=chosen)
        return page(request, "resources.html", resources=found, topic=chosen, error=None)

    @router.post("/resources", dependencies=[CsrfForm])
    def add_resource(
        request: Request,
        session: Db,
        current: DirectoryEditor,
        name: Annotated[str, Form(max_length=200)],
        topics: Annotated[list[str] | None, Form()] = None,
        phone: Annotated[str, Form(max_length=40)] = "",
        url: Annotated[str, Form(max_length=300)] = "",
        hours: Annotated[str, Form(max_length=120)] = "",
        always_open: Annotated[str, Form(max_length=4)] = "",
        ages: Annotated[str, Form(max_length=60)] = "",
        languages: Annotated[str, Form(max_length=200)] = "",
        line_available: Annotated[str, Form(max_length=4)] = "",
        chat_available: Annotated[str, Form(max_length=4)] = "",
        desk: Annotated[str, Form(max_length=16)] = "",
        note: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        form = directory.ResourceForm(
            name=name,
            desk=desk if desk in ("youth", "resident") else None,
            topics=topics or [],
            phone=phone,
            url=url,
            hours=hours,
            always_open=bool(always_open),
            ages=ages,
            languages=languages,
            line_available=bool(line_available),
            chat_available=bool(chat_available),
            note=note,
        )
        try:
            directory.save(session, user=current.user, now=_now(), form=form)
        except casework.CaseworkError as exc:
            session.rollback()
            found = directory.listing(session)
            return page(request, "resources.html", status=400, resources=found, topic=None, error=str(exc))
        session.commit()
        return RedirectResponse("/console/resources", status_code=303)

    @router.post("/resources/{resource_id}/active", dependencies=[CsrfForm])
    def toggle_resource(
        request: Request,
        session: Db,
        current: DirectoryEditor,
        resource_id: int,
        active: Annotated[str, Form(max_length=4)] = "",
    ) -> Response:
        if not directory.set_active(
            session, user=current.user, now=_now(), resource_id=resource_id, active=bool(active)
        ):
            raise HTTPException(404, "つなぎ先が見つかりません。")
        session.commit()
        return RedirectResponse("/console/resources", status_code=303)

    # -- administration and the board -----------------------------------------------------------------

    @router.get("/admin/audit", response_class=HTMLResponse)
    def audit_log(request: Request, session: Db, current: Admin, before: int | None = None) -> HTMLResponse:
        query = select(AuditEntry, User.username).outerjoin(User, User.id == AuditEntry.user_id)
        if before:
            query = query.where(AuditEntry.id < before)
        rows = session.execute(query.order_by(AuditEntry.id.desc()).limit(200)).all()
        audit.record(session, user=current.user, action="read_audit", now=_now())
        session.commit()
        return page(request, "audit.html", rows=rows)

    @router.get("/admin/users", response_class=HTMLResponse)
    def users_page(request: Request, session: Db, current: Admin) -> HTMLResponse:
        users = session.scalars(select(User).order_by(User.role, User.username)).all()
        return page(request, "users.html", users=users, roles=list(Role), error=None, created=None)

    @router.post("/admin/users", response_class=HTMLResponse, dependencies=[CsrfForm])
    def add_user(
        request: Request,
        session: Db,
        current: Admin,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        role: Annotated[Role, Form()],
        display_name: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        try:
            user = accounts.create_user(
                session, username=username, password=password, role=role, display_name=display_name or None
            )
        except accounts.AccountError as exc:
            session.rollback()
            users = session.scalars(select(User).order_by(User.role, User.username)).all()
            return page(
                request, "users.html", status=400, users=users, roles=list(Role), error=str(exc), created=None
            )
        audit.record(
            session, user=current.user, action="add_user", now=_now(), user_id=user.id, role=str(role)
        )
        session.commit()
        return RedirectResponse("/console/admin/users", status_code=303)

    @router.post("/admin/users/{user_id}/active", dependencies=[CsrfForm])
    def toggle_user(
        request: Request,
        session: Db,
        current: Admin,
        user_id: int,
        active: Annotated[str, Form(max_length=4)] = "",
    ) -> Response:
        target = session.get(User, user_id)
        if target is None:
            raise HTTPException(404, "アカウントが見つかりません。")
        if target.id == current.user.id and not active:
            raise HTTPException(409, "自分のアカウントは無効にできません。")
        accounts.set_active(session, user=target, active=bool(active), now=_now())
        audit.record(
            session,
            user=current.user,
            action="set_user_active",
            now=_now(),
            user_id=target.id,
            active=bool(active),
        )
        session.commit()
        return RedirectResponse("/console/admin/users", status_code=303)

    @router.post("/admin/users/{user_id}/notify", response_class=HTMLResponse, dependencies=[CsrfForm])
    def user_notify(
        request: Request,
        session: Db,
        current: Admin,
        user_id: int,
        email: Annotated[str, Form(max_length=254)] = "",
        chat_urls: Annotated[str, Form(max_length=5000)] = "",
        clear_chat: Annotated[str, Form(max_length=4)] = "",
    ) -> Response:
        target = session.get(User, user_id)
        if target is None:
            raise HTTPException(404, "アカウントが見つかりません。")
        urls = chat_urls.splitlines()
        try:
            set_notify(
                session,
                target=target,
                email=email,
                chat_urls=[] if clear_chat else (urls if any(u.strip() for u in urls) else None),
                encrypt=services.encrypt,
                by=current.user,
                now=_now(),
            )
        except NotifySettingsError as exc:
            session.rollback()
            users = session.scalars(select(User).order_by(User.role, User.username)).all()
            return page(
                request, "users.html", status=400, users=users, roles=list(Role), error=str(exc), created=None
            )
        session.commit()
        return RedirectResponse("/console/admin/users", status_code=303)

    @router.get("/reports", response_class=HTMLResponse)
    def reports(request: Request, current: Board) -> HTMLResponse:
        return page(request, "reports.html")

    return router


def install_console(app: Any, services: ConsoleServices) -> None:
    """The router, its static files, and the answers for signed-out visitors and refusals."""
    from fastapi import FastAPI
    from starlette.exceptions import HTTPException as StarletteHTTPException

    assert isinstance(app, FastAPI)
    app.include_router(build_console_router(services))
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    templates = _templates()

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        # The live stream, the page's own fetches of fragments, and forms: a plain 401, which the script
        # turns into a reload (and so the sign-in page); a redirect would put the sign-in page in a table.
        if (
            request.headers.get("accept", "").startswith("text/event-stream")
            or request.headers.get(FRAGMENT_HEADER)
            or request.method != "GET"
        ):
            return Response(status_code=401)
        return RedirectResponse(f"/console/login?next={quote(exc.next_path)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def console_errors(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/console"):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and not exc.detail.isascii()
            else _DEFAULT_ERRORS.get(exc.status_code, "問題が起きました。ページを読み込み直してください。")
        )
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": exc.status_code, "detail": detail, "user": None},
            status_code=exc.status_code,
        )

    @app.middleware("http")
    async def console_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if request.url.path.startswith("/console"):
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
            )
        return response


ACK_VIA = {
    "console": "コンソール",
    "link": "通知のリンク",
    "claim": "担当",
    "reply": "返信",
    "close": "終了",
}


def _display_name(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.display_name).where(User.id == user_id)) if user_id else None


_DEFAULT_ERRORS = {
    403: "このページを見る権限がありません。",
    404: "ページが見つかりません。",
    405: "この操作はできません。",
    422: "入力に足りないところがあります。もう一度確かめてください。",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _safe_next(next_path: str) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    if next_path.startswith("/console") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return "/console/"


def _set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int, always_secure: bool
) -> None:
    # Strict: nothing outside the console links into it with the session (a link from elsewhere lands on
    # the sign-in page), so another site cannot make a counsellor "view" a case.
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=always_secure or request.url.scheme == "https",
    )
