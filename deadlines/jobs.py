"""The deadlines worker: the event consumer, the sweep job and its cron, and the outbox relay.

The cron runs on every replica; ``unique`` lets one of them take each slot, and should two sweeps
still overlap, the sweep's row locks and its ``reminders`` rows keep every reminder single.

Run it with ``arq`` through ``worker()`` (the ``guanjia worker`` command does), or in tests with
``worker(burst=True)`` to drain the queue and stop.
"""

from __future__ import annotations

import structlog
from arq.worker import Worker

from deadlines import handlers
from deadlines.models import messaging
from deadlines.service import clocks as service
from deadlines.service import schedules
from deadlines.service.sweep import sweep_once
from services.common.db import session_scope
from services.common.jobs import EventHandler, JobContext, build_worker, event_consumer, job, periodic

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
    "appeal.evaluated": handlers.on_evaluated,
    "appeal.reopened": handlers.on_reopened,
    "appeal.closed": handlers.on_closed,
}

consumer = event_consumer("deadlines", HANDLERS)


async def sweep(ctx: JobContext) -> dict[str, int]:
    """The job ``deadlines.sweep``: warn, mark overdue and escalate whatever is due now."""
    result = await sweep_once(ctx["db"])
    if result.warned or result.overdue or result.escalated:
        log.info("deadlines_swept", warned=result.warned, overdue=result.overdue, escalated=result.escalated)
    return {"warned": result.warned, "overdue": result.overdue, "escalated": result.escalated}


sweep_job = job("deadlines.sweep", sweep)


# Every 30 s; a failure is only logged and the next run, 30 seconds on, tries again.
SWEEP_CRON = periodic("deadlines.sweep_cron", sweep, second={0, 30}, timeout=60)


async def settle_arrived_years() -> None:
    """At start: provisional clocks whose years the calendar package now covers are recomputed.

    A failure is only logged: the worker still starts, and its next start tries again.
    """
    try:
        async with session_scope() as session:
            calendar = await schedules.current_calendar(session)
            changed = await service.recompute_arrived_years(session, calendar)
    except Exception as exc:  # a worker that cannot settle the calendar must still handle events
        log.warning("deadlines_calendar_settle_failed", error=repr(exc))
        return
    if changed:
        log.info("deadlines_provisional_recomputed", clocks=changed)


def worker(burst: bool = False) -> Worker:
    """The deadlines worker: its queue, the outbox relay and, unless ``burst``, the sweep cron.

    As it starts it recomputes provisional clocks whose years have arrived (``settle_arrived_years``).
    A burst worker drains the queue and stops; a cron firing in the middle would sweep at an
    arbitrary moment, so it is left to the long-running workers (``deadlines.sweep`` can still be
    enqueued explicitly).
    """
    crons = [] if burst else [SWEEP_CRON]
    return build_worker(
        "deadlines",
        messaging,
        [consumer, sweep_job],
        cron_jobs=crons,
        burst=burst,
        on_startup=settle_arrived_years,
    )
