"""Calls to the LINE Messaging API, through the official SDK. The base URL is the only thing that changes
between LINE itself and the local emulator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)


@dataclass(frozen=True)
class LineResult:
    """What LINE answered: an HTTP status, or None when no answer came (timeout, connection refused)."""

    status: int | None
    error: str | None = None  # LINE's own error message, or the kind of transport failure

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class LineApi:
    def __init__(self, *, base_url: str, access_tokens: Mapping[str, str], timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._apis: dict[str, MessagingApi] = {}
        for desk, token in access_tokens.items():
            config = Configuration(host=base_url.rstrip("/"), access_token=token)
            # Retries are Koe's decision (with the row's state and retry key), not urllib3's.
            config.retries = False
            self._apis[desk] = MessagingApi(ApiClient(config))

    def reply(self, desk: str, reply_token: str, messages: list[dict[str, Any]]) -> LineResult:
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        return self._call(
            lambda api: api.reply_message_with_http_info(request, _request_timeout=self._timeout), desk
        )

    def push(self, desk: str, to: str, messages: list[dict[str, Any]], retry_key: str) -> LineResult:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        return self._call(
            lambda api: api.push_message_with_http_info(
                request, x_line_retry_key=retry_key, _request_timeout=self._timeout
            ),
            desk,
        )

    def show_loading(self, desk: str, chat_id: str, seconds: int = 20) -> LineResult:
        request = ShowLoadingAnimationRequest(chat_id=chat_id, loading_seconds=seconds)
        return self._call(
            lambda api: api.show_loading_animation_with_http_info(request, _request_timeout=self._timeout),
            desk,
        )

    def mark_as_read(self, desk: str, mark_as_read_token: str) -> LineResult:
        request = MarkMessagesAsReadByTokenRequest(mark_as_read_token=mark_as_read_token)
        return self._call(
            lambda api: api.mark_messages_as_read_by_token_with_http_info(
                request, _request_timeout=self._timeout
            ),
            desk,
        )

    def leave(self, desk: str, chat_kind: str, chat_id: str) -> LineResult:
        """Leave a group or room chat: those are not consultations."""
        if chat_kind == "group":
            return self._call(
                lambda api: api.leave_group_with_http_info(chat_id, _request_timeout=self._timeout), desk
            )
        return self._call(
            lambda api: api.leave_room_with_http_info(chat_id, _request_timeout=self._timeout), desk
        )

    def _call(self, fn: Any, desk: str) -> LineResult:
        try:
            response = fn(self._apis[desk])
        except ApiException as exc:
            return LineResult(status=exc.status, error=_line_error_message(exc.body))
        except urllib3.exceptions.TimeoutError:
            return LineResult(status=None, error="timeout")
        except urllib3.exceptions.HTTPError as exc:
            return LineResult(status=None, error=type(exc).__name__)
        return LineResult(status=response.status_code)


def _line_error_message(body: Any) -> str | None:
    if not body:
        return None
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        return None
    return str(message)[:200] if message else None
