"""`koe scheduler`: periodic work. One scheduler is active at a time (a lease in Redis); others stand by."""

from __future__ import annotations

import logging
import signal
import time
import uuid
from types import FrameType

from koe import jobs
from koe.runtime import Runtime

log = logging.getLogger("koe.scheduler")
LEASE_KEY = "koe:scheduler:lease"


class Scheduler:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.identity = uuid.uuid4().hex
        self.stopping = False
        self.lease_seconds = max(30, int(rt.settings.sweep_interval_seconds * 3))

    def _hold_lease(self) -> bool:
        redis = self.rt.redis
        if redis.set(LEASE_KEY, self.identity, nx=True, ex=self.lease_seconds):
            return True
        if redis.get(LEASE_KEY) == self.identity.encode():
            redis.expire(LEASE_KEY, self.lease_seconds)
            return True
        return False

    def tick(self) -> None:
        counts = jobs.sweep()
        if any(counts.values()):
            log.info("sweeper re-enqueued %s", counts)

    def run(self) -> None:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("scheduler started")
        while not self.stopping:
            try:
                if self._hold_lease():
                    self.tick()
            except Exception as exc:  # noqa: BLE001 - an outage must not end the scheduler
                log.warning("scheduler tick failed (%s); retrying", type(exc).__name__)
            deadline = time.monotonic() + self.rt.settings.sweep_interval_seconds
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(0.2)
        log.info("scheduler stopped")
