"""The emulator's own JSON API under ``/emulator/``: used by tests and by the chat page."""

from __future__ import annotations

from typing import Any, Literal, get_args

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from line_emulator.config import ChannelConfig
from line_emulator.state import FAULT_ENDPOINTS, Chat, EmulatorState, Fault
from line_emulator.webhook import ActionError, Delivery, PupilAction, WebhookSender, build_event

__all__ = [
    "FaultRequest",
    "NewUserRequest",
    "RedeliverRequest",
    "SendRequest",
    "SettingsRequest",
    "build_control_router",
]

FaultEndpoint = Literal["push", "reply", "loading", "markAsRead", "leave", "profile", "unknown", "any"]
assert set(get_args(FaultEndpoint)) == set(FAULT_ENDPOINTS)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUserRequest(_Body):
    desk: str


class SendRequest(_Body):
    desk: str
    user_id: str
    type: Literal[
        "follow",
        "unfollow",
        "text",
        "sticker",
        "image",
        "video",
        "audio",
        "file",
        "postback",
        "unsend",
        "join",
    ]
    text: str | None = None
    data: str | None = None
    display_text: str | None = None
    message_id: str | None = None
    mode: Literal["active", "standby"] = "active"
    bad_signature: bool = False
    is_unblocked: bool | None = None
    source_type: Literal["user", "group", "room"] = "user"
    group_id: str | None = None
    package_id: str | None = None
    sticker_id: str | None = None
    file_name: str | None = None
    file_size: int | None = Field(default=None, ge=0)
    duration: int | None = Field(default=None, ge=0)


class RedeliverRequest(_Body):
    webhook_event_id: str
    bad_signature: bool = False


class VerifyWebhookRequest(_Body):
    desk: str


class FaultRequest(_Body):
    endpoint: FaultEndpoint
    status: int | None = Field(default=None, ge=400, le=599)
    delay_seconds: float | None = Field(default=None, gt=0, le=120)
    count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _needs_an_effect(self) -> FaultRequest:
        if self.status is None and self.delay_seconds is None:
            raise ValueError("give status, delay_seconds, or both")
        return self


class SettingsRequest(_Body):
    reply_token_ttl_seconds: float | None = Field(default=None, ge=0)
    webhook_timeout_seconds: float | None = Field(default=None, gt=0)


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    data: dict[str, Any] = {"status": delivery.status, "latency_ms": delivery.latency_ms}
    if delivery.error is not None:
        data["error"] = delivery.error
    return data


def build_control_router(state: EmulatorState, sender: WebhookSender) -> APIRouter:
    router = APIRouter(prefix="/emulator")

    def channel_of(desk: str) -> ChannelConfig:
        channel = state.channels.get(desk)
        if channel is None:
            raise HTTPException(status_code=404, detail=f"unknown desk: {desk}")
        return channel

    def chat_of(desk: str, chat_id: str) -> Chat:
        chat = state.get_chat(desk, chat_id)
        if chat is None:
            raise HTTPException(status_code=404, detail=f"unknown user or chat for desk {desk}: {chat_id}")
        return chat

    def settings_json() -> dict[str, Any]:
        return {
            "reply_token_ttl_seconds": state.reply_token_ttl_seconds,
            "webhook_timeout_seconds": state.webhook_timeout_seconds,
        }

    @router.get("/channels")
    async def channels() -> list[dict[str, Any]]:
        return [
            {
                "desk": channel.desk,
                "bot_user_id": state.bot_user_ids[channel.desk],
                "webhook_url": channel.webhook_url,
            }
            for channel in state.channels.values()
        ]

    @router.post("/users")
    async def new_user(body: NewUserRequest) -> dict[str, Any]:
        channel_of(body.desk)
        chat = state.create_user(body.desk)
        return {"user_id": chat.chat_id}

    @router.post("/send")
    async def send(body: SendRequest) -> dict[str, Any]:
        channel = channel_of(body.desk)
        pupil = chat_of(body.desk, body.user_id)
        if pupil.kind != "user":
            raise HTTPException(status_code=422, detail="user_id must be a pupil's user ID")
        action = PupilAction(
            **body.model_dump(exclude={"desk", "user_id", "bad_signature"}),
        )
        try:
            built = build_event(state, pupil, action)
        except ActionError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        state.store_event(body.desk, built.event)
        delivery = await sender.deliver_event(channel, built.event, bad_signature=body.bad_signature)
        result: dict[str, Any] = {
            "webhook_event_id": built.event["webhookEventId"],
            **_delivery_json(delivery),
        }
        if built.message_id is not None:
            result["message_id"] = built.message_id
        if built.reply_token is not None:
            result["reply_token"] = built.reply_token
        if built.chat is not pupil:
            result["chat_id"] = built.chat.chat_id
        return result

    @router.post("/redeliver")
    async def redeliver(body: RedeliverRequest) -> dict[str, Any]:
        stored = state.get_event(body.webhook_event_id)
        if stored is None:
            raise HTTPException(status_code=404, detail=f"unknown webhook event: {body.webhook_event_id}")
        channel = channel_of(stored.desk)
        delivery = await sender.redeliver(channel, stored.event, bad_signature=body.bad_signature)
        return {"webhook_event_id": body.webhook_event_id, **_delivery_json(delivery)}

    @router.post("/verify-webhook")
    async def verify_webhook(body: VerifyWebhookRequest) -> dict[str, Any]:
        """What the console's "Verify" button does: an empty ``events`` list."""
        channel = channel_of(body.desk)
        delivery = await sender.post(
            channel,
            sender.body(body.desk, []),
            webhook_event_id=None,
            event_type=None,
            is_redelivery=False,
            bad_signature=False,
        )
        return _delivery_json(delivery)

    @router.get("/chats/{desk}/{chat_id}")
    async def chat(desk: str, chat_id: str) -> dict[str, Any]:
        channel_of(desk)
        return state.chat_view(chat_of(desk, chat_id))

    @router.get("/calls")
    async def calls(endpoint: str | None = None) -> list[dict[str, Any]]:
        with state.lock:
            return [call.to_json() for call in state.calls if endpoint is None or call.endpoint == endpoint]

    @router.get("/calls/profile-count")
    async def profile_count() -> dict[str, int]:
        return {"count": state.profile_calls}

    @router.get("/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        with state.lock:
            return [delivery.to_json() for delivery in state.deliveries]

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        with state.lock:
            return {"faults": [fault.to_json() for fault in state.faults]}

    @router.post("/faults")
    async def add_fault(body: FaultRequest) -> dict[str, Any]:
        state.add_fault(
            Fault(
                endpoint=body.endpoint, count=body.count, status=body.status, delay_seconds=body.delay_seconds
            )
        )
        return await list_faults()

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        state.clear_faults()
        return {"faults": []}

    @router.get("/settings")
    async def get_settings() -> dict[str, Any]:
        return settings_json()

    @router.post("/settings")
    async def update_settings(body: SettingsRequest) -> dict[str, Any]:
        with state.lock:
            if body.reply_token_ttl_seconds is not None:
                state.reply_token_ttl_seconds = body.reply_token_ttl_seconds
            if body.webhook_timeout_seconds is not None:
                state.webhook_timeout_seconds = body.webhook_timeout_seconds
        return settings_json()

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"ok": True}

    return router
