"""Group commit for the webhook: concurrent requests share one transaction, so one fsync serves many.

Each request waits until the transaction holding its events has committed and the doorbell (one pipelined
RQ enqueue for the whole batch) has rung; then LINE gets its 200. If Redis is down the rows stay pending and
the sweeper enqueues them later.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.identity import SenderCrypto
from bot.inbox import IncomingEvent, store_events

log = logging.getLogger("koe.inbox")

MAX_BATCH = 256


@dataclass
class _Request:
    desk: str
    events: Sequence[IncomingEvent]
    done: Future[list[int]] = field(default_factory=Future)


class InboxWriter:
    def __init__(
        self,
        *,
        sessions: Callable[[], sessionmaker[Session]],
        crypto: Callable[[], SenderCrypto],
        enqueue: Callable[[list[int]], None],
    ) -> None:
        self._sessions = sessions
        self._crypto = crypto
        self._enqueue = enqueue
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def store(self, desk: str, events: Sequence[IncomingEvent]) -> list[int]:
        """IDs of the rows created for these events (none for events already in the inbox)."""
        self._ensure_started()
        request = _Request(desk, events)
        self._queue.put(request)
        return await asyncio.wrap_future(request.done)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="koe-inbox-writer", daemon=True)
                    self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(nxt)
            self._write(batch)

    def _write(self, batch: list[_Request]) -> None:
        now = datetime.now(UTC)
        try:
            with self._sessions()() as session, session.begin():
                created = [
                    store_events(session, desk=r.desk, events=r.events, crypto=self._crypto(), now=now)
                    for r in batch
                ]
        except Exception as exc:  # noqa: BLE001 - every waiting request learns of it and answers 503
            for r in batch:
                r.done.set_exception(exc)
            return
        new_ids = [i for ids in created for i in ids]
        if new_ids:
            self._enqueue(new_ids)  # never raises: a failure is logged and left to the sweeper
        for r, ids in zip(batch, created, strict=True):
            r.done.set_result(ids)
