"""`POST /line/webhook/{desk}`: verify, store durably, ring the doorbell, answer LINE within milliseconds.

Never calls LINE and never does slow work here: the worker does that from the stored row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from linebot.v3.webhook import SignatureValidator
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bot.identity import SenderCrypto
from bot.inbox import MalformedWebhook, parse_webhook_body, store_events

log = logging.getLogger("koe.webhook")


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise BodyTooLarge
    return bytes(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_webhook_router(
    *,
    channel_secrets: Mapping[str, str],
    session_factory: Callable[[], sessionmaker[Session]],
    crypto: Callable[[], SenderCrypto],
    enqueue_inbox: Callable[[list[int]], None],
    max_body_bytes: int,
    observe: Callable[[str, int, float], None] = lambda desk, status, seconds: None,
) -> APIRouter:
    """The router takes what it needs as callables, resolved per request, so the app can wire them lazily."""
    router = APIRouter()
    validators = {desk: SignatureValidator(secret) for desk, secret in channel_secrets.items()}

    def store_and_enqueue(desk: str, body: bytes) -> list[int]:
        events = parse_webhook_body(body)
        now = datetime.now(UTC)
        with session_factory()() as session, session.begin():
            new_ids = store_events(session, desk=desk, events=events, crypto=crypto(), now=now)
        # Only after the commit: a job must never run before its row exists.
        if new_ids:
            enqueue_inbox(new_ids)
        return new_ids

    @router.post("/line/webhook/{desk}")
    async def line_webhook(desk: str, request: Request) -> Response:
        started = time.perf_counter()
        response = await _handle(desk, request)
        if desk in validators:
            observe(desk, response.status_code, time.perf_counter() - started)
        return response

    async def _handle(desk: str, request: Request) -> Response:
        validator = validators.get(desk)
        if validator is None:
            return _error(404, f"unknown desk {desk!r}")
        try:
            body = await _read_body(request, max_body_bytes)
        except BodyTooLarge:
            return _error(413, f"webhook body larger than {max_body_bytes} bytes")
        signature = request.headers.get("x-line-signature")
        if not signature:
            return _error(400, "missing X-Line-Signature")
        try:
            valid = validator.validate(body.decode("utf-8"), signature)
        except UnicodeDecodeError:
            valid = False
        if not valid:
            log.warning("webhook signature rejected desk=%s", desk)
            return _error(400, "invalid X-Line-Signature")
        try:
            new_ids = await run_in_threadpool(store_and_enqueue, desk, body)
        except MalformedWebhook as exc:
            return _error(400, str(exc))
        except (OperationalError, DBAPIError) as exc:
            # The type only: a database error's text can carry statement parameters.
            log.error(
                "webhook could not store events desk=%s error=%s; LINE will redeliver",
                desk,
                type(exc).__name__,
            )
            return JSONResponse(
                {"error": "storage unavailable, please retry"}, status_code=503, headers={"Retry-After": "5"}
            )
        log.debug("webhook stored desk=%s new_rows=%s", desk, new_ids)
        return Response(status_code=200, content=b"{}", media_type="application/json")

    return router
