"""Hearing of a change: the event handlers that plan who hears of it, on which channel.

Runs in the event consumer's transaction (inbox claim + rows, together): each handler
(`appeal.status_changed`, `appeal.progressed`, `deadline.extended`, `consultation.noticed`,
`consultation.objected`) fetches the appeal's contacts from intake, keeps the appeal's order of
changes, plans the deliveries, stores them and queues the new ones.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import ServiceUnavailable
from services.common.jobs import JobContext, NotYet
from services.common.messaging import utcnow
from services.common.timeutil import to_local
from services.contracts.contacts import AppealContacts
from services.contracts.events import ConsultationNoticed, Event, StatusChanged
from services.gateway.config import feedback_settings
from services.gateway.service.client import call
from services.gateway.service.feedback import order
from services.gateway.service.feedback.deliveries import enqueue_delivery, store
from services.gateway.service.feedback.plan import Change, plan
from services.gateway.service.feedback.window import last_messages

log = structlog.get_logger(__name__)


async def fetch_contacts(appeal_id: uuid.UUID) -> AppealContacts | None:
    """The appeal's channel and people, from intake; None for an appeal intake does not know."""
    try:
        response = await call("intake", "GET", f"/internal/appeals/{appeal_id}/contacts")
    except ServiceUnavailable as exc:
        raise NotYet("intake unreachable") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise NotYet(f"intake answered {response.status_code}")
    return AppealContacts.model_validate_json(response.content)


async def _tell(
    session: AsyncSession, event: Event, ctx: JobContext, change: Change, from_status: str | None = None
) -> None:
    assert event.appeal_id is not None
    if from_status is not None and await order.previous_change_missing(
        session, event.appeal_id, event.occurred_at, from_status
    ):
        if ctx.get("job_try", 1) < ctx["settings"].job_max_tries:
            raise NotYet(f"the change before {from_status} -> {change.to_status} is not planned yet")
        # Late is better than never: the last try plans it anyway.
        log.warning("feedback_order_gave_up", from_status=from_status, to_status=change.to_status)
    late = await order.superseded(session, event.appeal_id, event.occurred_at, change.to_status)
    contacts = await fetch_contacts(event.appeal_id)
    if contacts is None:
        log.warning("feedback_appeal_unknown", appeal_id=str(event.appeal_id))
        return
    conf = feedback_settings()
    openids = [r.openid for r in contacts.reporters if r.openid]
    planned = plan(
        contacts,
        change,
        occurred_at=event.occurred_at,
        now=utcnow(),
        last_messages=await last_messages(session, openids),
        window=timedelta(hours=conf.window_hours),
    )
    stored = await store(
        session,
        event.id,
        event.appeal_id,
        contacts.ticket_no,
        change.to_status,
        planned,
        occurred_at=event.occurred_at,
        from_status=from_status,
        skip_reason=order.SUPERSEDED if late else None,
    )
    for did in stored:
        await enqueue_delivery(ctx["redis"], did)
    log.info("feedback_planned", deliveries=len(planned), to_status=change.to_status)


async def on_status_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`appeal.status_changed`): plan, record and queue who hears of the change."""
    if event.appeal_id is None:
        return
    change = event.data_as(StatusChanged)
    await _tell(
        session, event, ctx, Change(to_status=change.to_status, reason=change.reason), change.from_status
    )


async def on_progressed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`appeal.progressed`): a linked duplicate's reporter hears of the master's
    progress, in the words intake put on the duplicate's own timeline."""
    master_status = event.data.get("master_status")
    if event.appeal_id is None or not master_status:
        return
    words = event.data.get("description")
    await _tell(
        session, event, ctx, Change(to_status=str(master_status), words=str(words) if words else None)
    )


async def on_extended(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`deadline.extended`): the reporter hears that a deadline moved (延期), in the
    words intake put on the public timeline (issue 16.2)."""
    words = event.data.get("description")
    if event.appeal_id is None or not words:
        return
    await _tell(session, event, ctx, Change(to_status=order.EXTENDED, words=str(words)))


def notice_words(notice_ends_at: datetime) -> str:
    """What a resident reads when their plan goes on public notice (公示)."""
    end = to_local(notice_ends_at)
    return f"协商议事已通过，办理方案公示至{end.month}月{end.day}日，公示期满无异议即组织实施"


async def on_noticed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`consultation.noticed`): the reporter hears that the plan is on public
    notice (公示), and until when."""
    if event.appeal_id is None:
        return
    data = event.data_as(ConsultationNoticed)
    await _tell(session, event, ctx, Change(to_status=order.NOTICED, words=notice_words(data.notice_ends_at)))


async def on_objected(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler (`consultation.objected`): the reporter hears that an objection during the
    notice sent the plan back to the community (公示的结果)."""
    if event.appeal_id is None:
        return
    words = "办理方案公示期间收到异议，将重新协商议事"
    await _tell(session, event, ctx, Change(to_status=order.OBJECTED, words=words))
