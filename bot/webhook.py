"""`POST /line/webhook/{desk}`: verify, store durably, ring the doorbell, answer LINE within milliseconds.

Never calls LINE and never does slow work here: the worker does that from the stored row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from linebot.v3.webhook import SignatureValidator
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.inbox import MalformedWebhook, parse_webhook_body
from bot.inbox_writer import InboxWriter

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
    writer: InboxWriter,
    max_body_bytes: int,
    observe: Callable[[str, int, float], None] = lambda desk, status, seconds: None,
    looks_urgent: Callable[[dict[str, Any]], bool] = lambda raw: False,
) -> APIRouter:
    router = APIRouter()
    validators = {desk: SignatureValidator(secret) for desk, secret in channel_secrets.items()}

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
            events = parse_webhook_body(body)
        except MalformedWebhook as exc:
            return _error(400, str(exc))
        events = [replace(e, urgent_hint=True) if looks_urgent(e.raw) else e for e in events]
        try:
            new_ids = await writer.store(desk, events) if events else []
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
