"""The deadlines worker: the event consumer, the sweep job and its cron, and the outbox relay.

Run it with ``arq`` through ``worker()`` (the ``guanjia worker`` command does), or in tests with
``worker(burst=True)`` to drain the queue and stop.
"""

from __future__ import annotations

from typing import Any, cast

import structlog
from arq.cron import cron
from arq.worker import Worker

from deadlines import handlers
from deadlines.models import messaging
from deadlines.sweep import sweep_once
from services.common.jobs import EventHandler, JobContext, build_worker, event_consumer, job

log = structlog.get_logger(__name__)

HANDLERS: dict[str, EventHandler] = {
    "appeal.received": handlers.on_received,
    "appeal.triaged": handlers.on_triaged,
    "appeal.assigned": handlers.on_assigned,
    "appeal.signed_off": handlers.on_signed_off,
    "appeal.returned": handlers.on_returned,
    "appeal.status_changed": handlers.on_status_changed,
    "plan.approved": handlers.on_plan_approved,
    "appeal.completed": handlers.on_completed,
    "appeal.closed": handlers.on_closed,
}

consumer = event_consumer("deadlines", HANDLERS)


async def sweep(ctx: JobContext) -> dict[str, int]:
    """The job ``deadlines.sweep``: warn and mark overdue whatever is due now."""
    result = await sweep_once(ctx["db"])
    if result.warned or result.overdue:
        log.info("deadlines_swept", warned=result.warned, overdue=result.overdue)
    return {"warned": result.warned, "overdue": result.overdue}


sweep_job = job("deadlines.sweep", sweep)


async def scheduled_sweep(ctx: dict[Any, Any]) -> None:
    """The cron sweep. A failure is only logged: the next run, 30 seconds on, tries again."""
    try:
        await sweep(cast(JobContext, ctx))
    except Exception as exc:  # retrying or parking a periodic job would only pile runs up
        log.warning("deadlines_sweep_failed", error=repr(exc))


# Every 30 s; `unique` makes replicas of the worker enqueue one run per slot between them.
SWEEP_CRON = cron(scheduled_sweep, name="deadlines.sweep_cron", second={0, 30}, unique=True, timeout=60)


def worker(burst: bool = False) -> Worker:
    """The deadlines worker: its queue, the outbox relay and, unless ``burst``, the sweep cron.

    A burst worker drains the queue and stops; a cron firing in the middle would sweep at an
    arbitrary moment, so it is left to the long-running workers (``deadlines.sweep`` can still be
    enqueued explicitly).
    """
    crons = [] if burst else [SWEEP_CRON]
    return build_worker("deadlines", messaging, [consumer, sweep_job], cron_jobs=crons, burst=burst)
