"""`koe worker`: one RQ worker for all of Koe's queues."""

from __future__ import annotations

import contextlib
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from koe.queues import ALL_QUEUES, worker_alive_key
from koe.runtime import Runtime

ALIVE_TTL_SECONDS = 10
ALIVE_EVERY_SECONDS = 1


def _keep_alive(redis: Redis, worker: SimpleWorker, key: str, stop: threading.Event) -> None:
    """A short-lived key naming the job this worker runs: when a worker dies, the sweeper knows its job was
    abandoned within seconds, rather than after RQ's own execution expiry of a minute or more."""
    while not stop.is_set():
        # Redis down: the worker's own loop notices and reconnects; the key simply lapses meanwhile.
        with contextlib.suppress(RedisError):
            redis.set(key, worker.get_current_job_id() or "", ex=ALIVE_TTL_SECONDS)
        stop.wait(ALIVE_EVERY_SECONDS)


def run_worker(rt: Runtime, *, burst: bool = False, name: str | None = None) -> bool:
    """Jobs run in this process (SimpleWorker): they are short and database-bound, and keeping the engine and
    connections across jobs matters more than a fork per job. A job that hangs is stopped by its timeout; a
    worker that dies leaves its row pending for the sweeper."""
    worker = SimpleWorker(
        [rt.queues.queue(name) for name in ALL_QUEUES],
        connection=rt.redis,
        serializer=JSONSerializer,
        name=name,
    )
    key = worker_alive_key(worker.name)
    stop = threading.Event()
    beat = threading.Thread(
        target=_keep_alive, args=(rt.redis, worker, key, stop), daemon=True, name="koe-alive"
    )
    beat.start()
    try:
        return bool(worker.work(burst=burst, with_scheduler=True, logging_level=rt.settings.log_level))
    finally:
        stop.set()
        rt.redis.delete(key)
