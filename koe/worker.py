"""`koe worker`: one RQ worker for all of Koe's queues."""

from __future__ import annotations

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from koe.queues import ALL_QUEUES
from koe.runtime import Runtime


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
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level=rt.settings.log_level))
