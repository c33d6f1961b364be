"""The web process: webhooks, the counsellor console, health, metrics (and, as it lands, the web chat)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from bot.inbox_writer import InboxWriter
from bot.urgent_hint import looks_urgent
from bot.webhook import build_webhook_router
from counsellor_console.services import ConsoleServices
from counsellor_console.web import install_console
from koe.jobs import announce
from koe.queues import ALL_QUEUES
from koe.runtime import Runtime, get_runtime, set_runtime
from koe.settings import DESKS
from triage.labels import Risk

log = logging.getLogger("koe.web")


def create_app(runtime: Runtime | None = None) -> FastAPI:
    rt = runtime or get_runtime()
    set_runtime(rt)
    settings = rt.settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()
        rt.close()

    app = FastAPI(title="Koe", lifespan=lifespan, docs_url=None, redoc_url=None)

    writer = InboxWriter(
        sessions=lambda: rt.sessions,
        crypto=lambda: rt.crypto,
        enqueue=lambda ids, urgent: rt.queues.enqueue_inbox(ids, urgent=urgent),
    )

    registry = CollectorRegistry()
    latency = Histogram(
        "koe_webhook_seconds",
        "Time to verify, store and enqueue a LINE webhook",
        ["desk", "status"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    )
    depth = Gauge("koe_queue_depth", "Jobs waiting in each RQ queue", ["queue"], registry=registry)

    app.include_router(
        build_webhook_router(
            channel_secrets={desk: settings.channel_secret(desk) for desk in DESKS},
            writer=writer,
            max_body_bytes=settings.max_webhook_body_bytes,
            observe=lambda desk, status, seconds: latency.labels(desk, str(status)).observe(seconds),
            looks_urgent=lambda raw: looks_urgent(raw, at_least=Risk(settings.page_min_risk)),
        )
    )

    install_console(
        app,
        ConsoleServices(
            sessions=lambda: rt.sessions,
            redis_url=lambda: rt.redis_url,
            enqueue_deliveries=lambda ids: rt.queues.enqueue_deliveries(ids),
            enqueue_typing=lambda consultation_id: rt.queues.enqueue_typing(consultation_id),
            publish=lambda payloads: announce(rt, payloads),
            link_signer=rt.link_signer,
            encrypt=lambda data: rt.crypto.encrypt(data),
            always_secure_cookies=settings.koe_env == "production",
        ),
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        def check() -> dict[str, str]:
            result = {}
            try:
                with rt.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                result["database"] = "ok"
            except Exception as exc:  # noqa: BLE001 - readiness reports any failure
                result["database"] = f"unavailable: {type(exc).__name__}"
            try:
                rt.redis.ping()
                result["redis"] = "ok"
            except Exception as exc:  # noqa: BLE001 - readiness reports any failure
                result["redis"] = f"unavailable: {type(exc).__name__}"
            return result

        result = await run_in_threadpool(check)
        ready = all(v == "ok" for v in result.values())
        return JSONResponse({"ready": ready, **result}, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        def collect() -> bytes:
            for name in ALL_QUEUES:
                try:
                    depth.labels(name).set(rt.queues.queue(name).count)
                except Exception:  # noqa: BLE001 - metrics must not fail because Redis is down
                    depth.labels(name).set(float("nan"))
            return generate_latest(registry)

        return Response(await run_in_threadpool(collect), media_type=CONTENT_TYPE_LATEST)

    return app
