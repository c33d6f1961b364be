"""Assembles the emulator: Messaging API, control API, and the pupil's chat page."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from line_emulator.config import EmulatorConfig
from line_emulator.control import build_control_router
from line_emulator.messaging_api import RequestIdMiddleware, build_messaging_router
from line_emulator.state import EmulatorState
from line_emulator.webhook import WebhookSender

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(config: EmulatorConfig) -> FastAPI:
    """A new emulator app with its own, empty, in-memory state (``app.state.emulator``)."""
    state = EmulatorState(config)
    sender = WebhookSender(state)
    app = FastAPI(
        title="Koe LINE emulator",
        description="A local stand-in for the LINE platform, for Koe's demo and tests.",
        docs_url="/emulator/docs",
        redoc_url=None,
        openapi_url="/emulator/openapi.json",
    )
    app.state.emulator = state
    app.add_middleware(RequestIdMiddleware, make_id=state.ids.request_id)
    app.include_router(build_messaging_router(state))
    app.include_router(build_control_router(state, sender))

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
