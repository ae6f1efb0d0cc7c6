"""Routing's worker: consumes events (`routing.handlers`), expires pledges, approves plans whose
public notice ended, and relays its outbox."""

from __future__ import annotations

import asyncio

import structlog
from arq.worker import Worker

from routing.handlers import HANDLERS
from routing.models import messaging
from routing.service import claims, consultations
from routing.service.classifier.triage import triage
from services.common.db import session_scope
from services.common.jobs import JobContext, build_worker, event_consumer, first_lane_worker, periodic

log = structlog.get_logger(__name__)


async def housekeeping(ctx: JobContext) -> dict[str, int]:
    """Every minute: expire unfulfilled pledges; approve plans whose notice ended unopposed."""
    async with session_scope(ctx["db"]) as session:
        expired = await claims.expire_due(session)
    async with session_scope(ctx["db"]) as session:
        approved = await consultations.finalise_due(session)
    if expired or approved:
        log.info("routing_periodic", claims_expired=len(expired), plans_approved=approved)
    return {"claims_expired": len(expired), "plans_approved": approved}


async def _warm_up() -> None:
    # jieba loads its dictionary on first use (~2 s): pay it at start, not on a resident's appeal.
    await asyncio.to_thread(triage, None, "预热分词词典")


def worker(burst: bool = False) -> Worker:
    """The arq worker for queue `<prefix>:routing`."""
    return build_worker(
        "routing",
        messaging,
        [event_consumer("routing", HANDLERS)],
        # A burst worker (tests, one-off drains) does only what is queued.
        cron_jobs=[] if burst else [periodic("routing.periodic", housekeeping, second={5})],
        burst=burst,
        on_startup=_warm_up,
    )


def first_lane() -> Worker:
    """The arq worker for queue `<prefix>:routing:first`: the events routing takes first."""
    return first_lane_worker("routing", messaging, HANDLERS, on_startup=_warm_up)
