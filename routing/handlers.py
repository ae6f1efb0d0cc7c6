"""Routing's event handlers (events in): triage what arrives, let go of what ended.

Each runs inside the inbox claim's transaction (`services.common.jobs.event_consumer`), so its
effect and the event's inbox row commit together.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import Assignment, ClaimListing, ManualTriageItem
from routing.service import consultations, facts
from routing.service.handover import note_complaint, triage_received
from services.common.jobs import EventHandler, JobContext
from services.common.messaging import utcnow
from services.contracts.events import AppealReceived, ComplaintNoted, Event, StatusChanged

ENDED = frozenset({"withdrawn", "rejected", "merged", "closed"})


async def on_received(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """appeal.received → triage, then the first assignment or the manual triage queue."""
    assert event.appeal_id is not None
    await triage_received(session, event.appeal_id, event.data_as(AppealReceived))


async def on_status_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """An appeal that ended leaves the donor pool and the manual triage queue; one that ended
    without the work (merged, withdrawn, rejected) closes its hop (`facts.end`, undone if a merge
    is), and a closed one is held by nobody: no sign-off, send-back or escalation of it."""
    data = event.data_as(StatusChanged)
    if data.from_status == "merged" and data.to_status not in ENDED and event.appeal_id is not None:
        # A wrong merge undone: commands allowed again, a cancelled notice running again.
        await consultations.republish(session, await facts.reopen(session, event.appeal_id) or [])
    if data.to_status not in ENDED or event.appeal_id is None:
        return
    # Merged, withdrawn or rejected: the hop closes and later commands are a 409 (issue 15.8);
    # a plan on notice is cancelled, and the public notice says so.
    await consultations.republish(
        session, await facts.end(session, event.appeal_id, data.to_status, event.occurred_at)
    )
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
    if data.to_status != "merged":  # a wrong link can be undone: its hop must still be there
        await session.execute(
            update(Assignment)
            .where(Assignment.appeal_id == event.appeal_id, Assignment.state.in_(("assigned", "signed_off")))
            .values(state="done")
        )


async def on_complaint_noted(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """appeal.complaint_noted → remember the unit complained about (保密); if it holds the appeal,
    the unit above takes it over (issue 15.3)."""
    if event.appeal_id is None:
        return
    data = event.data_as(ComplaintNoted)
    await note_complaint(session, event.appeal_id, data.unit_type, data.unit_code)


HANDLERS: dict[str, EventHandler] = {
    "appeal.received": on_received,
    "appeal.status_changed": on_status_changed,
    "appeal.complaint_noted": on_complaint_noted,
}
