"""Intake's worker: does the work that follows recording an appeal (its own `appeal.received`),
projects the other services' events, relays its own outbox, folds the counters' deltas every
second, and closes unanswered return visits (回访) on a cron that reads only the due rows."""

from __future__ import annotations

import asyncio
from typing import Any

from arq.worker import Worker

from intake.handlers import HANDLERS
from intake.models import messaging
from intake.service import public_marks
from intake.service.duplicates.similarity import warm_up
from intake.service.evaluations import close_unrated
from intake.service.stats.recorder import fold
from services.common.db import session_scope
from services.common.jobs import JobContext, build_worker, event_consumer, first_lane_worker, job, periodic

public_marks.install()  # every change to a public status is marked before it commits


async def close_unrated_job(ctx: JobContext, *_: Any) -> int:
    """`intake.close_unrated`: closes, unrated, what waited too long for its return visit."""
    closed = 0
    while True:
        async with session_scope(ctx["db"]) as session:
            n = await close_unrated(session)
        closed += n
        if n == 0:
            return closed


async def fold_counters_job(ctx: JobContext, *_: Any) -> int:
    """`intake.fold_counters`: sums the pending counter deltas into the statistics cells."""
    async with session_scope(ctx["db"]) as session:
        return await fold(session)


async def _startup() -> None:
    await asyncio.to_thread(warm_up)


def worker(burst: bool = False) -> Worker:
    """The arq worker for queue `<prefix>:intake`."""
    sweep = job("intake.close_unrated", close_unrated_job)
    folding = job("intake.fold_counters", fold_counters_job)
    return build_worker(
        "intake",
        messaging,
        [event_consumer("intake", HANDLERS), sweep, folding],
        # Every 10 minutes; a run that overlaps another skips the rows it holds (SKIP LOCKED).
        cron_jobs=[]
        if burst
        else [
            periodic(
                "intake.close_unrated.cron",
                close_unrated_job,
                minute=set(range(0, 60, 10)),
                run_at_startup=True,
            ),
            # Reads fold what is pending themselves; this keeps the backlog small between reads.
            periodic("intake.fold_counters.cron", fold_counters_job, second=set(range(60))),
        ],
        burst=burst,
        on_startup=_startup,
    )


def first_lane() -> Worker:
    """The arq worker for queue `<prefix>:intake:first`: the events intake takes first."""
    return first_lane_worker("intake", messaging, HANDLERS)
