"""The LINE Messaging API endpoints Koe uses, answering the way api.line.me does."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from line_emulator.config import ChannelConfig
from line_emulator.state import CallRecord, EmulatorState
from line_emulator.validation import body_error, validate_messages

__all__ = ["REQUEST_ID_SCOPE_KEY", "RequestIdMiddleware", "build_messaging_router"]

REQUEST_ID_SCOPE_KEY = "line_emulator.request_id"
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
_FAULT_MESSAGES = {
    400: "Bad request",
    401: _AUTH_FAILED,
    403: "Access to this API is not available for your account",
    404: "Not found",
    409: "The retry key is already accepted",
    429: "The API rate limit has been exceeded. Try again later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class RequestIdMiddleware:
    """Gives every response an ``X-Line-Request-Id`` header, as LINE does."""

    def __init__(self, app: ASGIApp, make_id: Callable[[], str]) -> None:
        self.app = app
        self.make_id = make_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.make_id()
        scope[REQUEST_ID_SCOPE_KEY] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-line-request-id" for name, _ in headers):
                    headers.append((b"x-line-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


@dataclass
class ApiCall:
    """One authenticated Messaging API request, handed to an endpoint's processor."""

    channel: ChannelConfig
    body: dict[str, Any]
    retry_key: str | None
    request_id: str
    path_params: dict[str, str]


@dataclass
class ApiResult:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    target: str | None = None


Processor = Callable[[ApiCall], ApiResult]


def _error(status: int, message: str, **extra: Any) -> ApiResult:
    return ApiResult(status=status, body={"message": message, **extra})


def _details_error(details: list[dict[str, str]]) -> ApiResult:
    return ApiResult(status=400, body=body_error(details))


def _as_bool(body: dict[str, Any], key: str, details: list[dict[str, str]]) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        details.append({"message": "must be a boolean", "property": key})
        return False
    return value


def _required_string(body: dict[str, Any], key: str, details: list[dict[str, str]]) -> str | None:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        details.append({"message": "must be specified", "property": key})
        return None
    return value


def build_messaging_router(state: EmulatorState) -> APIRouter:
    router = APIRouter()
    # Tasks still running after their client hung up (see ``run_call``); kept so they finish.
    pending: set[asyncio.Task[ApiResult]] = set()

    async def run_call(
        request: Request, endpoint: str, processor: Processor, *, has_body: bool = True
    ) -> Response:
        request_id = str(request.scope.get(REQUEST_ID_SCOPE_KEY) or state.ids.request_id())
        received_at = datetime.now(UTC)
        raw = await request.body()
        retry_key = request.headers.get("x-line-retry-key")
        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        channel = state.channel_for_access_token(token.strip()) if scheme.lower() == "bearer" else None

        async def work() -> ApiResult:
            result = await _process()
            state.record_call(
                CallRecord(
                    endpoint=endpoint,
                    status=result.status,
                    at=received_at,
                    desk=channel.desk if channel else None,
                    request_id=request_id,
                    retry_key=retry_key,
                    target=result.target,
                )
            )
            return result

        async def _process() -> ApiResult:
            if channel is None:
                return _error(401, _AUTH_FAILED)
            fault = state.take_fault(endpoint)
            if fault is not None and fault.delay_seconds:
                await asyncio.sleep(fault.delay_seconds)
            if fault is not None and fault.status is not None:
                return _error(fault.status, _FAULT_MESSAGES.get(fault.status, "Error"))
            body: Any = {}
            if has_body:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return _error(400, "The request body could not be parsed as JSON")
                if not isinstance(body, dict):
                    return _error(400, "The request body could not be parsed as JSON")
            call = ApiCall(
                channel=channel,
                body=body,
                retry_key=retry_key,
                request_id=request_id,
                path_params=dict(request.path_params),
            )
            with state.lock:
                return processor(call)

        # Like LINE, a request that was received is carried out even when the client gives up
        # waiting (e.g. Koe timing out during a "slow LINE" delay fault): shield the work.
        task = asyncio.ensure_future(work())
        pending.add(task)
        task.add_done_callback(pending.discard)
        result = await asyncio.shield(task)
        return JSONResponse(result.body, status_code=result.status, headers=result.headers)

    # -- processors ------------------------------------------------------------------------

    def reply(call: ApiCall) -> ApiResult:
        details: list[dict[str, str]] = []
        token = _required_string(call.body, "replyToken", details)
        messages: Any = call.body.get("messages")
        details.extend(validate_messages(messages))
        quiet = _as_bool(call.body, "notificationDisabled", details)
        if details:
            return _details_error(details)
        assert token is not None
        chat = state.consume_reply_token(call.channel.desk, token)
        if chat is None:
            return _error(400, "Invalid reply token")
        sent = state.add_bot_messages(chat, messages, "reply", notification_disabled=quiet)
        return ApiResult(status=200, body={"sentMessages": sent}, target=chat.chat_id)

    def push(call: ApiCall) -> ApiResult:
        desk = call.channel.desk
        if call.retry_key is not None and not _UUID_RE.match(call.retry_key):
            return _error(400, "The value for the 'X-Line-Retry-Key' header is invalid")
        details: list[dict[str, str]] = []
        to = _required_string(call.body, "to", details)
        messages: Any = call.body.get("messages")
        details.extend(validate_messages(messages))
        quiet = _as_bool(call.body, "notificationDisabled", details)
        if details:
            return _details_error(details)
        assert to is not None
        if call.retry_key is not None:
            accepted = state.find_retry(desk, call.retry_key)
            if accepted is not None:
                return ApiResult(
                    status=409,
                    body={
                        "message": "The retry key is already accepted",
                        "sentMessages": accepted.sent_messages,
                    },
                    headers={"x-line-accepted-request-id": accepted.request_id},
                    target=to,
                )
        chat = state.get_chat(desk, to)
        if chat is None:
            return ApiResult(status=400, body={"message": "Failed to send messages"}, target=to)
        # LINE answers 200 for a pupil who is not (or no longer) a friend but never shows it.
        delivered = chat.following if chat.kind == "user" else not chat.bot_left
        sent = state.add_bot_messages(
            chat, messages, "push", delivered=delivered, notification_disabled=quiet
        )
        if call.retry_key is not None:
            state.accept_retry(desk, call.retry_key, call.request_id, sent)
        return ApiResult(status=200, body={"sentMessages": sent}, target=to)

    def loading(call: ApiCall) -> ApiResult:
        details: list[dict[str, str]] = []
        chat_id = _required_string(call.body, "chatId", details)
        seconds = call.body.get("loadingSeconds", 20)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
            details.append(
                {"message": "must be a multiple of 5 between 5 and 60", "property": "loadingSeconds"}
            )
        if details:
            return _details_error(details)
        assert chat_id is not None
        chat = state.get_chat(call.channel.desk, chat_id)
        if chat is None or chat.kind != "user":
            return ApiResult(status=400, body={"message": "Invalid chatId"}, target=chat_id)
        state.start_loading(chat, seconds)
        return ApiResult(status=202, body={}, target=chat_id)

    def mark_as_read(call: ApiCall) -> ApiResult:
        details: list[dict[str, str]] = []
        token = _required_string(call.body, "markAsReadToken", details)
        if details:
            return _details_error(details)
        assert token is not None
        if not state.mark_as_read(call.channel.desk, token):
            return _error(400, "Invalid markAsReadToken")
        return ApiResult(status=200, body={})

    def leave(kind: str) -> Processor:
        def process(call: ApiCall) -> ApiResult:
            chat_id = call.path_params[f"{kind}Id"]
            chat = state.get_chat(call.channel.desk, chat_id)
            if chat is not None:
                chat.bot_left = True
            return ApiResult(status=200, body={}, target=chat_id)

        return process

    def profile(call: ApiCall) -> ApiResult:
        return ApiResult(
            status=403,
            body={"message": "Koe must never call the profile API"},
            target=call.path_params["userId"],
        )

    def unknown(call: ApiCall) -> ApiResult:
        return _error(404, "Not found")

    # -- routes ----------------------------------------------------------------------------

    @router.post("/v2/bot/message/reply")
    async def reply_route(request: Request) -> Response:
        return await run_call(request, "reply", reply)

    @router.post("/v2/bot/message/push")
    async def push_route(request: Request) -> Response:
        return await run_call(request, "push", push)

    @router.post("/v2/bot/chat/loading/start")
    async def loading_route(request: Request) -> Response:
        return await run_call(request, "loading", loading)

    @router.post("/v2/bot/chat/markAsRead")
    async def mark_as_read_route(request: Request) -> Response:
        return await run_call(request, "markAsRead", mark_as_read)

    @router.post("/v2/bot/group/{groupId}/leave")
    async def leave_group_route(request: Request) -> Response:
        return await run_call(request, "leave", leave("group"), has_body=False)

    @router.post("/v2/bot/room/{roomId}/leave")
    async def leave_room_route(request: Request) -> Response:
        return await run_call(request, "leave", leave("room"), has_body=False)

    @router.get("/v2/bot/profile/{userId}")
    async def profile_route(request: Request) -> Response:
        state.count_profile_call()
        return await run_call(request, "profile", profile, has_body=False)

    @router.api_route("/v2/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def unknown_route(request: Request) -> Response:
        return await run_call(request, "unknown", unknown, has_body=False)

    return router
