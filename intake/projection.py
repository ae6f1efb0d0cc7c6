"""How intake projects the other services' events onto the appeal (status, deadlines, holder).

Each handler runs inside the consumer's transaction, after the inbox claim, with the appeal row
locked. An event that arrives before the one it builds on raises NotYet and is retried.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.lifecycle import Status
from intake.models import Appeal, AppealDeadline
from intake.service import get_appeal, transition
from services.common.errors import NotFound
from services.common.jobs import EventHandler, JobContext, NotYet
from services.contracts.events import (
    AppealAssigned,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    DeadlineChanged,
    Event,
)

KIND_NAMES = {"micro_project": "民生微实事", "micro_wish": "民生微心愿"}
CATEGORY_NAMES = {
    "environment": "环境美化",
    "housing_repair": "房屋修缮",
    "facility": "服务设施建设",
    "public_service": "公益服务",
    "living": "生活救助",
    "medical": "医疗救助",
    "education": "教育帮扶",
    "elderly_care": "养老服务",
    "employment": "就业帮扶",
    "housing": "住房保障",
    "counselling": "心理疏导",
    "rights": "权益维护",
    "hospice": "安宁疗护",
}
TRACK_NAMES = {"policy": "政策办理", "express": "莞家速递", "direct": "莞家直达", "station": "莞家驿站"}
UNIT_NAMES = {
    "city": "市级",
    "town": "镇街",
    "village": "村（社区）",
    "department": "职能部门",
    "station": "莞家驿站",
}
# Before these, an assignment or sign-off cannot apply yet: its triage is still on the way.
_PRE_TRIAGE: frozenset[str] = frozenset({"received"})


async def _appeal(session: AsyncSession, event: Event) -> Appeal:
    if event.appeal_id is None:
        raise NotFound()
    try:
        return await get_appeal(session, event.appeal_id, lock=True)
    except NotFound:
        # Our own appeal.received commits before routing can see it, so this is a stray event.
        raise NotYet(f"appeal {event.appeal_id} not found") from None


def _actor(event: Event) -> str:
    return f"service:{event.source}"


async def on_triaged(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """分拣 result: what the appeal is, where it is, which track."""
    data = event.data_as(AppealTriaged)
    appeal = await _appeal(session, event)
    appeal.kind, appeal.category, appeal.track = data.kind, data.category, data.track
    appeal.urgency = data.urgency
    appeal.town_code = data.town_code or appeal.town_code
    appeal.village_code = data.village_code or appeal.village_code
    appeal.version += 1
    if appeal.status in ("received", "returned"):
        label = f"{KIND_NAMES[data.kind]}·{CATEGORY_NAMES.get(data.category, data.category)}"
        await transition(
            session,
            appeal,
            "triaged",
            actor=_actor(event),
            description=f"已完成分拣：{label}，{TRACK_NAMES[data.track]}",
            event_id=event.id,
        )


async def on_assigned(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """交办: the appeal is now held by a unit, to consult on or to handle."""
    data = event.data_as(AppealAssigned)
    appeal = await _appeal(session, event)
    if appeal.status in _PRE_TRIAGE:
        raise NotYet("assignment before triage")
    appeal.holder_type, appeal.holder_code = data.unit_type, data.unit_code
    appeal.version += 1
    unit = UNIT_NAMES[data.unit_type]
    target: Status | None = None
    if data.purpose == "consult" and appeal.status == "triaged":
        target = "consulting"
    elif data.purpose == "handle" and appeal.status == "triaged":
        target = "approved"
    if target is not None:
        await transition(
            session,
            appeal,
            target,
            actor=_actor(event),
            description=(
                f"已交{unit}组织协商议事" if target == "consulting" else f"已交{unit}承办，等待签收"
            ),
            event_id=event.id,
        )


async def on_signed_off(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """签收: the holding unit took the appeal on."""
    data = event.data_as(AppealSignedOff)
    appeal = await _appeal(session, event)
    if appeal.status in ("received", "triaged"):
        raise NotYet("sign-off before assignment")
    if appeal.status in ("approved", "reopened"):
        await transition(
            session,
            appeal,
            "in_progress",
            actor=f"{_actor(event)}:{data.unit_type}:{data.unit_code}",
            event_id=event.id,
        )


async def on_returned(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """退单: the holding unit sent it back; triage again."""
    data = event.data_as(AppealReturned)
    appeal = await _appeal(session, event)
    if appeal.status in ("approved", "in_progress", "triaged"):
        await transition(
            session,
            appeal,
            "returned",
            actor=f"{_actor(event)}:{data.unit_type}:{data.unit_code}",
            reason=f"{data.reason_code}: {data.policy_basis}",
            event_id=event.id,
        )


async def on_plan_approved(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """The community approved the micro-project's plan (协商通过)."""
    appeal = await _appeal(session, event)
    if appeal.status == "consulting":
        await transition(session, appeal, "approved", actor=_actor(event), event_id=event.id)


async def on_deadline(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Project a clock; a late, older event never overwrites a newer state."""
    data = event.data_as(DeadlineChanged)
    appeal = await _appeal(session, event)
    values = {
        "appeal_id": appeal.id,
        "clock": data.clock,
        "unit_type": data.unit_type,
        "unit_code": data.unit_code,
        "due_at": data.due_at,
        "due_date": data.due_date,
        "original_due_date": data.original_due_date,
        "provisional": data.provisional,
        "state": data.state,
        "as_of": event.occurred_at,
    }
    stmt = pg_insert(AppealDeadline).values(clock_id=data.clock_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AppealDeadline.clock_id],
        set_=values,
        where=AppealDeadline.as_of <= stmt.excluded.as_of,
    )
    await session.execute(stmt)
    appeal.version += 1


HANDLERS: dict[str, EventHandler] = {
    "appeal.triaged": on_triaged,
    "appeal.assigned": on_assigned,
    "appeal.signed_off": on_signed_off,
    "appeal.returned": on_returned,
    "plan.approved": on_plan_approved,
    **{
        t: on_deadline
        for t in (
            "deadline.started",
            "deadline.warning",
            "deadline.overdue",
            "deadline.extended",
            "deadline.met",
            "deadline.paused",
            "deadline.resumed",
        )
    },
}

__all__ = ["HANDLERS"]
