"""The events the gateway consumes (its inbox): every change of an appeal's public status is fed
back to the reporters on their channel (`service/feedback`); the events that concern a unit's
staff become their notifications (`service/notifications`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.jobs import EventHandler, JobContext
from services.contracts.events import Event
from services.gateway.service.feedback import service as feedback
from services.gateway.service.notifications import service as notifications
from services.gateway.service.notifications.plan import NOTIFYING


async def on_extended(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """An approved extension: the unit that asked hears of it, and so does the resident."""
    await notifications.on_event(session, event, ctx)
    await feedback.on_extended(session, event, ctx)


async def on_objected(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """An objection during 公示: the community's staff and the resident hear of it."""
    await notifications.on_event(session, event, ctx)
    await feedback.on_objected(session, event, ctx)


async def on_noticed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """A plan on 公示: the community's and the town's staff hear of it, and so does the resident."""
    await notifications.on_event(session, event, ctx)
    await feedback.on_noticed(session, event, ctx)


HANDLERS: dict[str, EventHandler] = {
    "appeal.status_changed": feedback.on_status_changed,
    "appeal.progressed": feedback.on_progressed,
    **{t: notifications.on_event for t in NOTIFYING},
    "deadline.extended": on_extended,
    "consultation.objected": on_objected,
    "consultation.noticed": on_noticed,
}
