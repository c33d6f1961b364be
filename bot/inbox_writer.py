"""Group commit for the webhook: concurrent requests share one transaction, so one fsync serves many.

Each request waits until the transaction holding its events has committed; then LINE gets its 200. The
doorbell (one pipelined RQ enqueue per batch) rings from a thread of its own, so a slow or unreachable Redis
never holds up an answer: the rows are committed, and the sweeper enqueues whatever the doorbell missed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.identity import SenderCrypto
from bot.inbox import IncomingEvent, StoredEvent, store_events

log = logging.getLogger("koe.inbox")

MAX_BATCH = 256


@dataclass
class _Request:
    desk: str
    events: Sequence[IncomingEvent]
    done: Future[list[int]] = field(default_factory=Future)

    def settle(self, ids: list[int] | None = None, error: BaseException | None = None) -> None:
        # The waiting request may have been cancelled (client gone, server shutting down): that is fine.
        try:
            if error is not None:
                self.done.set_exception(error)
            else:
                self.done.set_result(ids or [])
        except InvalidStateError:
            pass


class InboxWriter:
    def __init__(
        self,
        *,
        sessions: Callable[[], sessionmaker[Session]],
        crypto: Callable[[], SenderCrypto],
        enqueue: Callable[[list[int], list[int]], None],  # (everyday, urgent-looking) row IDs
    ) -> None:
        self._sessions = sessions
        self._crypto = crypto
        self._enqueue = enqueue
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._doorbell: queue.SimpleQueue[list[StoredEvent] | None] = queue.SimpleQueue()
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    async def store(self, desk: str, events: Sequence[IncomingEvent]) -> list[int]:
        """IDs of the rows created for these events (none for events already in the inbox)."""
        self._ensure_running()
        request = _Request(desk, events)
        self._requests.put(request)
        return await asyncio.wrap_future(request.done)

    def _ensure_running(self) -> None:
        for name, target in (("koe-inbox-writer", self._write_loop), ("koe-inbox-doorbell", self._ring_loop)):
            thread = self._threads.get(name)
            if thread is None or not thread.is_alive():
                with self._lock:
                    thread = self._threads.get(name)
                    if thread is None or not thread.is_alive():
                        self._threads[name] = threading.Thread(target=target, name=name, daemon=True)
                        self._threads[name].start()

    def close(self) -> None:
        self._requests.put(None)
        self._doorbell.put(None)
        for thread in self._threads.values():
            thread.join(timeout=10)
        self._threads.clear()

    def _write_loop(self) -> None:
        while True:
            first = self._requests.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._requests.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._requests.put(None)  # finish this batch, then stop
                    break
                batch.append(nxt)
            try:
                self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - the loop must outlive any one batch
                log.error("inbox batch failed (%s)", type(exc).__name__)
                for r in batch:
                    r.settle(error=exc)

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
                r.settle(error=exc)
            return
        for r, stored in zip(batch, created, strict=True):
            r.settle([e.id for e in stored])
        new_rows = [e for stored in created for e in stored]
        if new_rows:
            self._doorbell.put(new_rows)

    def _ring_loop(self) -> None:
        while True:
            ids = self._doorbell.get()
            if ids is None:
                return
            while True:  # ring once for everything that is waiting
                try:
                    more = self._doorbell.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._doorbell.put(None)
                    break
                ids.extend(more)
            everyday = [e.id for e in ids if not e.urgent_hint]
            urgent = [e.id for e in ids if e.urgent_hint]
            try:
                self._enqueue(everyday, urgent)
            except Exception as exc:  # noqa: BLE001 - the rows are committed; the sweeper enqueues them
                log.warning(
                    "could not enqueue inbox rows %s (%s); the sweeper will",
                    [e.id for e in ids],
                    type(exc).__name__,
                )
