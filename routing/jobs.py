"""Routing's worker: triages received appeals, follows their end, expires pledges, approves plans
whose public notice ended, and relays its outbox."""

from __future__ import annotations

import asyncio

import structlog
from arq import cron
from arq.worker import Worker
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import ClaimListing, ManualTriageItem, messaging
from routing.services import consultations, donors
from routing.services.triage import triage_received
from routing.triage import triage
from services.common.db import session_scope
from services.common.jobs import EventHandler, JobContext, build_worker, event_consumer
from services.common.messaging import utcnow
from services.contracts.events import AppealReceived, Event, StatusChanged

log = structlog.get_logger(__name__)
ENDED = frozenset({"withdrawn", "rejected", "merged", "closed"})


async def on_received(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """appeal.received → triage, then the first assignment or the manual triage queue."""
    assert event.appeal_id is not None
    await triage_received(session, event.appeal_id, event.data_as(AppealReceived))


async def on_status_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """An appeal that ended leaves the donor pool and the manual triage queue."""
    data = event.data_as(StatusChanged)
    if data.to_status not in ENDED or event.appeal_id is None:
        return
    now = utcnow()
    await session.execute(
        update(ClaimListing)
        .where(ClaimListing.appeal_id == event.appeal_id, ClaimListing.state.in_(("draft", "open")))
        .values(state="closed", updated_at=now)
    )
    await session.execute(
        update(ManualTriageItem)
        .where(ManualTriageItem.appeal_id == event.appeal_id, ManualTriageItem.state == "open")
        .values(state="cancelled", resolved_at=now, resolved_by=f"appeal.{data.to_status}")
    )


HANDLERS: dict[str, EventHandler] = {
    "appeal.received": on_received,
    "appeal.status_changed": on_status_changed,
}


async def periodic(ctx: JobContext) -> dict[str, int]:
    """Every minute: expire unfulfilled pledges; approve plans whose notice ended unopposed."""
    async with session_scope(ctx["db"]) as session:
        expired = await donors.expire_due(session)
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
        cron_jobs=[] if burst else [cron(periodic, name="routing.periodic", second={5})],  # type: ignore[arg-type]
        burst=burst,
        on_startup=_warm_up,
    )
