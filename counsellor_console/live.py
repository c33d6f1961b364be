"""Live updates: news on Redis pub/sub (IDs and levels only, never words), streamed to each browser as
Server-Sent Events. Any web process can serve any browser; the rows stay the truth, so a lost event only
delays a refresh."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

log = logging.getLogger("koe.console.live")

EVENTS_CHANNEL = "koe:events"
KEEPALIVE_SECONDS = 15.0
MAX_SECONDS = 3600.0
RETRY_MS = 3000  # the browser reconnects after this long if the stream drops


def sse(event: str, data: dict[str, object]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def stream(
    redis_url: str,
    *,
    disconnected: Callable[[], Awaitable[bool]],
    still_signed_in: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    """Events for one browser until it goes away, or its session ends (logout, expiry, account turned off):
    the session is checked again every KEEPALIVE_SECONDS, and the stream ends for good after MAX_SECONDS
    (the browser reconnects, signed in or not)."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    started = checked = time.monotonic()
    client = AsyncRedis.from_url(redis_url, socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(EVENTS_CHANNEL)
        yield sse("hello", {})
        while not await disconnected():
            if time.monotonic() - checked >= KEEPALIVE_SECONDS:
                checked = time.monotonic()
                if not await still_signed_in():
                    yield sse("signed_out", {})
                    return
                if checked - started > MAX_SECONDS:
                    return  # the browser reconnects, and its session is checked afresh
            message = await pubsub.get_message(timeout=KEEPALIVE_SECONDS)
            if message is None:
                yield b": keepalive\n\n"
                continue
            try:
                payload = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                continue
            yield sse(str(payload.get("type", "update")), _public(payload))
    except (RedisError, OSError) as exc:
        log.warning("live stream lost Redis (%s); the browser will reconnect", type(exc).__name__)
    except asyncio.CancelledError:
        raise
    finally:
        try:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()
        except (RedisError, OSError):
            pass


def _public(payload: dict[str, object]) -> dict[str, object]:
    """Only these fields ever reach a browser, whatever a publisher put in."""
    fields = ("consultation_id", "risk", "what", "delivery_id", "page_id", "step")
    return {k: payload[k] for k in fields if k in payload}
