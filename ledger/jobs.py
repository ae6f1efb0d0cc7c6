"""The ledger's arq worker: the event consumer, the reservation expiry job and its cron, the
outbox relay, and the chain linker's loop.

Expiry reads only due reservations (a partial index on `expires_at` of pending ones) and
releases each in its own savepoint, in batches, every minute.
"""

from __future__ import annotations

import asyncio

import structlog
from arq.worker import Worker

from ledger import handlers
from ledger.config import LedgerSettings
from ledger.models import messaging
from ledger.service import PROCESS_LINKER, expire_due
from services.common.db import session_scope
from services.common.jobs import EventHandler, JobContext, build_worker, event_consumer, job, periodic
from services.common.settings import get_settings

log = structlog.get_logger(__name__)

HANDLERS: dict[str, EventHandler] = {
    "plan.approved": handlers.on_plan_approved,
    "claim.confirmed": handlers.on_claim_confirmed,
    "appeal.completed": handlers.on_completed,
    "appeal.status_changed": handlers.on_status_changed,
}

consumer = event_consumer("ledger", HANDLERS)


async def expire_reservations(ctx: JobContext) -> int:
    """The job `ledger.expire_reservations`: release every reservation past its expiry."""
    batch = get_settings(LedgerSettings).expiry_batch
    total = 0
    while True:
        async with session_scope(ctx["db"]) as session:
            done = await expire_due(session, limit=batch)
        total += len(done)
        if len(done) < batch:
            break
    if total:
        log.info("ledger_reservations_expired", count=total)
        await PROCESS_LINKER.settle()
    return total


expire_job = job("ledger.expire_reservations", expire_reservations)


# Every minute; a failure is only logged and the next run, a minute on, tries again.
EXPIRY_CRON = periodic("ledger.expiry_cron", expire_reservations, second={15}, timeout=120)


_linking: list[asyncio.Task[None]] = []


async def start_linker() -> None:
    """Link what the worker's handlers commit (and anything left queued) every few seconds."""
    _linking.append(asyncio.create_task(PROCESS_LINKER.run(asyncio.Event())))


def worker(burst: bool = False) -> Worker:
    """The ledger worker: its queue, the outbox relay, the chain linker's loop and, unless
    `burst`, the expiry cron."""
    crons = [] if burst else [EXPIRY_CRON]
    return build_worker(
        "ledger",
        messaging,
        [consumer, expire_job],
        cron_jobs=crons,
        burst=burst,
        on_startup=None if burst else start_linker,
    )
