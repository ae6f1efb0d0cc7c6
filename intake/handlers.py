"""How intake projects the other services' events onto the appeal (status, deadlines, holder).

Each handler runs inside the consumer's transaction, after the inbox claim, with the appeal row
locked. An event that arrives before the one it builds on raises NotYet and is retried.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, AppealDeadline, AppealFunds, TimelineEntry
from intake.service import notices, worklist
from intake.service.lifecycle import Status, can_move
from intake.service.moves import advance, transition
from intake.service.records import after_received, get_appeal
from intake.service.stats.cells import ALL_DIMS, CLASS_DIMS
from intake.service.stats.kpi import fund_metric
from intake.service.stats.recorder import count, facts_of
from services.common.errors import NotFound
from services.common.jobs import EventHandler, JobContext, NotYet
from services.common.text import label_of
from services.common.timeutil import to_local
from services.contracts.events import (
    CLOCK_CHANGES,
    HANDOVER_REASON,
    AppealAssigned,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    ConsultationDecided,
    DeadlineChanged,
    DeadlineEscalated,
    Event,
    FundsEvent,
)
from services.contracts.vocabulary import (
    CATEGORY_NAMES,
    CONSULTATION_FORM_NAMES,
    KIND_NAMES,
    TRACK_NAMES,
    UNIT_NAMES,
)

# Before these, an assignment or sign-off cannot apply yet: its triage is still on the way.
_PRE_TRIAGE: frozenset[str] = frozenset({"received"})
# Clocks whose outcome the KPIs count: sign-off (响应率), handling and works (按时办结率).
_COUNTED_CLOCKS = {"sign_off": "signoff", "handling": "handling", "works": "handling"}


def _effective(appeal: Appeal) -> str:
    """Where the appeal is in its work: on hold, where it will resume."""
    return appeal.held_from or appeal.status if appeal.status == "on_hold" else appeal.status


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


async def on_received(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Our own `appeal.received`: the work that follows recording, after the caller's answer."""
    if event.appeal_id is not None:
        await after_received(session, event.appeal_id)


async def on_triaged(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """分拣 result: what the appeal is, where it is, which track."""
    data = event.data_as(AppealTriaged)
    appeal = await _appeal(session, event)
    before = facts_of(appeal)
    appeal.kind, appeal.category, appeal.track = data.kind, data.category, data.track
    appeal.secondary_track = data.secondary_track
    appeal.urgency = data.urgency
    appeal.town_code = data.town_code or appeal.town_code
    appeal.village_code = data.village_code or appeal.village_code
    appeal.version += 1
    if before.kind is None:
        # First triage: the appeal now counts under its kind and category, and under the town
        # and village that triage found when the channel did not know them.
        await count(session, facts_of(appeal), appeal.received_at, {"received": 1}, dims=CLASS_DIMS)
        newly = [t for t, was in (("town", before.town_code), ("village", before.village_code)) if not was]
        if newly:
            await count(
                session,
                facts_of(appeal),
                appeal.received_at,
                {"received": 1},
                dims=[d for d in ALL_DIMS if d not in CLASS_DIMS],
                scope_types=newly,
            )
    if _effective(appeal) in ("received", "returned"):
        label = f"{KIND_NAMES[data.kind]}·{label_of(CATEGORY_NAMES, data.category)}"
        await advance(
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
    if _effective(appeal) in _PRE_TRIAGE:
        raise NotYet("assignment before triage")
    if appeal.holder_hop is not None and data.hop < appeal.holder_hop:
        # An older hop's news arriving after a newer one (the worker runs jobs side by side): the
        # newer hop holds the appeal. Written over, the appeal would name a unit that gave it up.
        return
    appeal.holder_type, appeal.holder_code = data.unit_type, data.unit_code
    appeal.holder_hop, appeal.holder_purpose = data.hop, data.purpose
    appeal.version += 1
    unit = UNIT_NAMES[data.unit_type]
    target: Status | None = None
    if data.purpose == "consult" and _effective(appeal) == "triaged":
        target = "consulting"
    elif data.purpose == "handle" and _effective(appeal) == "triaged":
        target = "approved"
    if target is not None:
        await advance(
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
    if _effective(appeal) in ("received", "triaged"):
        raise NotYet("sign-off before assignment")
    if appeal.holder_hop is not None and data.hop > appeal.holder_hop:
        raise NotYet("sign-off before its hop's assignment")
    if _effective(appeal) == "consulting" and appeal.holder_purpose == "handle":
        # The hop that carries out an approved plan, signed off before `plan.approved` reached
        # intake: dropped, it would leave the appeal approved with nobody able to start it.
        raise NotYet("sign-off before the plan's approval")
    if _effective(appeal) in ("approved", "reopened"):
        await advance(
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
    handover = data.reason_code == HANDOVER_REASON  # 改派 / 转交: a hop, not a send-back
    if handover and appeal.holder_hop is not None and data.hop < appeal.holder_hop:
        # A hand-over's take-back heard after the new hop it made way for: already undone by it.
        return
    held: Status | None = appeal.held_from  # type: ignore[assignment]
    if appeal.status == "on_hold" and held is not None and can_move(held, "returned"):
        # The unit sent back what was waiting for the resident: the hold ends with the hop.
        await transition(
            session, appeal, held, actor=_actor(event), reason="承办单位退回，恢复计时", event_id=event.id
        )
    if appeal.status in ("approved", "in_progress", "triaged", "consulting"):
        await transition(
            session,
            appeal,
            "returned",
            actor=f"{_actor(event)}:{data.unit_type}:{data.unit_code}",
            reason=f"{data.reason_code}: {data.policy_basis}",
            description="承办单位调整，重新交办" if handover else None,
            event_id=event.id,
            handover=handover,
        )


async def on_plan_approved(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """The community approved the micro-project's plan (协商通过)."""
    appeal = await _appeal(session, event)
    if _effective(appeal) == "consulting":
        await advance(session, appeal, "approved", actor=_actor(event), event_id=event.id)


# The vocabulary's labels, keyed by plain str: `consultation.decided` carries the form as a str.
FORM_NAMES: dict[str, str] = dict(CONSULTATION_FORM_NAMES.items())


async def on_consultation_decided(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """协商议事 decided. A rejection ends the appeal with the reason the resident is told; an
    approval moves it on through the `plan.approved` that follows."""
    data = event.data_as(ConsultationDecided)
    if data.outcome != "rejected":
        return
    appeal = await _appeal(session, event)
    if _effective(appeal) in ("received", "triaged"):
        raise NotYet("consultation decided before the appeal reached its community")
    if appeal.status == "consulting":
        form = FORM_NAMES.get(data.form, "协商议事")
        await transition(
            session,
            appeal,
            "rejected",
            actor=f"{_actor(event)}:{data.unit_type}:{data.unit_code}",
            reason=data.reason,
            description=f"经{form}协商未获通过：{data.reason or '未获到会人员过半数同意'}",
            event_id=event.id,
        )


async def on_consultation_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """公示: a consultation's public notice as it now stands (intake.service.notices)."""
    await notices.project(session, await _appeal(session, event), event)


async def on_deadline(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Project a clock; a late, older event never overwrites a newer state.

    An approved extension (延期) is told to the resident: a public line on the timeline."""
    data = event.data_as(DeadlineEscalated if event.type == "deadline.escalated" else DeadlineChanged)
    appeal = await _appeal(session, event)
    if event.type == "deadline.extended":
        session.add(
            TimelineEntry(
                appeal_id=appeal.id,
                at=event.occurred_at,
                from_status=appeal.status,
                to_status=appeal.status,
                actor=_actor(event),
                event_id=event.id,
                public_description=(data.description or f"办理时限已延期至{data.due_date}")[:300],
                round=appeal.round,
            )
        )
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
    await _count_clock(session, appeal, event, data)


async def _count_clock(session: AsyncSession, appeal: Appeal, event: Event, data: DeadlineChanged) -> None:
    """Count a clock's outcome once, when it is first met or first overdue (KPIs of DESIGN §8)."""
    metric = _COUNTED_CLOCKS.get(data.clock)
    if metric is None or data.state not in ("met", "overdue"):
        return
    row = await session.scalar(
        select(AppealDeadline).where(AppealDeadline.clock_id == data.clock_id).with_for_update()
    )
    if row is None or row.counted or row.as_of != event.occurred_at:
        return
    row.counted = True
    promised = data.original_due_date or data.due_date
    on_time = data.state == "met" and (promised is None or to_local(event.occurred_at).date() <= promised)
    facts = replace(facts_of(appeal), holder_type=data.unit_type, holder_code=data.unit_code)
    await count(session, facts, event.occurred_at, {f"{metric}_due": 1, f"{metric}_on_time": int(on_time)})


async def on_funds_disbursed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Funds used by the appeal, per source (disclosure and statistics). Hook for the ledger's events:
    `detail.by_source` ({source: fen}) when the payment drew on several sources, else `detail.source`."""
    if event.appeal_id is None:
        return  # money not spent on one appeal (an allocation, a pool) is the ledger's alone
    data = event.data_as(FundsEvent)
    appeal = await _appeal(session, event)
    by_source = data.detail.get("by_source")
    parts: dict[str, int] = (
        {str(k): int(v) for k, v in by_source.items()}
        if isinstance(by_source, dict)
        else {str(data.detail.get("source") or "other"): data.amount_fen}
    )
    for source, fen in parts.items():
        stmt = pg_insert(AppealFunds).values(appeal_id=appeal.id, source=source, amount_fen=fen)
        stmt = stmt.on_conflict_do_update(
            index_elements=[AppealFunds.appeal_id, AppealFunds.source],
            set_={"amount_fen": AppealFunds.amount_fen + stmt.excluded.amount_fen},
        )
        await session.execute(stmt)
        await count(session, facts_of(appeal), event.occurred_at, {fund_metric(source): fen})
    appeal.funds_used_fen += sum(parts.values())
    appeal.version += 1


HANDLERS: dict[str, EventHandler] = {
    "appeal.received": on_received,
    "appeal.triaged": on_triaged,
    "appeal.assigned": on_assigned,
    "appeal.signed_off": on_signed_off,
    "appeal.returned": on_returned,
    "plan.approved": on_plan_approved,
    "consultation.decided": on_consultation_decided,
    "consultation.changed": on_consultation_changed,
    "funds.disbursed": on_funds_disbursed,
    **dict.fromkeys(CLOCK_CHANGES, on_deadline),
}


def _refreshing_due(handler: EventHandler) -> EventHandler:
    """A clock handler that also refreshes the work list's projection (issue 16.1)."""

    async def handle(session: AsyncSession, event: Event, ctx: JobContext) -> None:
        await handler(session, event, ctx)
        if event.appeal_id is not None:
            await worklist.refresh_due(session, await _appeal(session, event))

    handle.__name__ = getattr(handler, "__name__", "handle")
    handle.__doc__ = handler.__doc__
    return handle


# Work lists (工作台): every clock change also moves the appeal's next deadline and overdue flag.
HANDLERS.update({t: _refreshing_due(h) for t, h in HANDLERS.items() if t.startswith("deadline.")})

__all__ = ["HANDLERS"]
