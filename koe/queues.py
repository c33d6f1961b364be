"""RQ queues and idempotent enqueueing.

Jobs take row IDs; a row's ID is its job's ID, so duplicates collapse.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

log = logging.getLogger("koe.queues")

INTAKE = "intake"
OUTBOUND = "outbound"
MAINTENANCE = "maintenance"
# Pages have a queue of their own, listened to first, with the messages that already read as a crisis when
# they arrive: neither must wait behind a burst of everyday messages or LINE replies.
PAGING = "paging"
ALL_QUEUES = (PAGING, INTAKE, OUTBOUND, MAINTENANCE)

PROCESS_INBOX_EVENT = "koe.jobs.process_inbox_event"
DELIVER = "koe.jobs.deliver"
SHOW_TYPING = "koe.jobs.show_typing"
ESCALATE_PAGE = "koe.jobs.escalate_page"
SEND_PAGE_NOTICE = "koe.jobs.send_page_notice"
# A notice that could not be sent is tried again on these delays; the page escalates meanwhile anyway.
NOTICE_RETRY_INTERVALS = [3, 10]

# RQ retries a failed job on these delays (seconds); after that the sweeper still finds the row.
RETRY_INTERVALS = [1, 3, 10, 30, 60]


def worker_alive_key(worker_name: str) -> str:
    """Set by each live worker, a few seconds at a time, to the ID of the job it is running (or "")."""
    return f"koe:worker-alive:{worker_name}"


class Queues:
    def __init__(self, connection: Redis, *, job_timeout: int) -> None:
        self.connection = connection
        self.job_timeout = job_timeout
        self._queues = {
            name: Queue(name, connection=connection, serializer=JSONSerializer) for name in ALL_QUEUES
        }

    def queue(self, name: str) -> Queue:
        return self._queues[name]

    def enqueue_inbox(self, event_ids: list[int], *, urgent: Sequence[int] = ()) -> None:
        """For rows the webhook has just created: their IDs are new, so one pipelined round trip will do.
        Rows whose text already reads as a crisis go to the paging queue, ahead of everyday messages."""
        with self.connection.pipeline() as pipe:
            for queue, ids in ((PAGING, urgent), (INTAKE, event_ids)):
                if ids:
                    self._queues[queue].enqueue_many(
                        [
                            Queue.prepare_data(
                                PROCESS_INBOX_EVENT, (i,), job_id=f"inbox-{i}", **self._job_options()
                            )
                            for i in ids
                        ],
                        pipeline=pipe,
                    )
            pipe.execute()

    def enqueue_deliveries(self, delivery_ids: list[int]) -> None:
        for delivery_id in delivery_ids:
            self._enqueue_once(OUTBOUND, DELIVER, delivery_id, f"delivery-{delivery_id}")

    def enqueue_typing(self, consultation_id: int) -> None:
        """LINE's loading animation for a sender whose counsellor is writing; duplicates collapse."""
        self._enqueue_once(OUTBOUND, SHOW_TYPING, consultation_id, f"typing-{consultation_id}")

    def enqueue_page_notices(self, notice_ids: list[int]) -> None:
        for notice_id in notice_ids:
            self._enqueue_once(PAGING, SEND_PAGE_NOTICE, notice_id, f"notice-{notice_id}")

    def schedule_escalation(self, page_id: int, step: int, at: datetime) -> None:
        """The page's timer: step `step` runs at `at` unless someone acknowledges first (the job then finds
        nothing to do). RQ's scheduler, inside the workers, enqueues it when it is due."""
        with contextlib.suppress(DuplicateJobError):
            self._queues[PAGING].enqueue_at(
                at,
                ESCALATE_PAGE,
                args=(page_id, step),
                job_id=f"page-{page_id}-step-{step}",
                unique=True,
                **self._job_options(),
            )

    def _enqueue_once(self, queue: str, func: str, row_id: int | tuple[int, ...], job_id: str) -> None:
        args = row_id if isinstance(row_id, tuple) else (row_id,)
        with contextlib.suppress(DuplicateJobError):  # already on its way
            self._queues[queue].enqueue_call(
                func, args, job_id=job_id, unique=True, **self._job_options(func)
            )

    def _job_options(self, func: str = "") -> dict[str, Any]:
        """Timeout, retries and how long RQ keeps results, the same for every job Koe enqueues (a page's
        e-mail or chat notice retries fewer times: the next step will tell again anyway)."""
        intervals = NOTICE_RETRY_INTERVALS if func == SEND_PAGE_NOTICE else RETRY_INTERVALS
        return {
            "timeout": self.job_timeout,
            "retry": Retry(max=len(intervals), interval=intervals),
            "result_ttl": 600,
            "failure_ttl": 86400,
        }

    def requeue_stale(
        self, queue: str, func: str, row_id: int | tuple[int, ...], job_id: str, *, now: datetime
    ) -> bool:
        """For the sweeper: enqueue a row's job again unless a live copy is really waiting or running.

        RQ's own word is not enough: a job popped by a worker that died before starting it still says
        'queued' though it sits in no list, and a killed worker's job says 'started' until RQ's maintenance
        notices, a minute or more later. So: queued means in the queue's list, scheduled means in the
        scheduled registry, started means a live Koe worker names it as its current job.
        """
        try:
            job = Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError:
            job = None
        if job is not None:
            if self._really_pending(job, queue, now):
                return False
            job.delete()
        self._enqueue_once(queue, func, row_id, job_id)
        log.info("sweeper re-enqueued job=%s", job_id)
        return True

    def _really_pending(self, job: Job, queue: str, now: datetime) -> bool:
        status = job.get_status(refresh=False)
        q = self._queues[queue]
        if status == JobStatus.QUEUED:
            return any(
                self.connection.lpos(key, job.id) is not None for key in (q.key, q.intermediate_queue_key)
            )
        if status == JobStatus.SCHEDULED:
            return self.connection.zscore(q.scheduled_job_registry.key, job.id) is not None
        if status == JobStatus.DEFERRED:
            return True
        if status == JobStatus.STARTED:
            return self._running(job, now)
        return False

    def _running(self, job: Job, now: datetime) -> bool:
        if job.worker_name:
            current = self.connection.get(worker_alive_key(job.worker_name))
            if isinstance(current, bytes):
                current = current.decode()
            return current == job.id
        # No worker recorded: judge by age, allowing the job its whole timeout.
        started = job.started_at
        if started is None:
            return False
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        return now - started < timedelta(seconds=self.job_timeout + 15)
