"""What each appeal event does to the clocks (DESIGN §5). One handler per event type.

Each handler runs inside the consumer's transaction, after the inbox claim, and first locks the
appeal's ``tracked_appeals`` row so that two events of one appeal never interleave. An event
that needs an earlier one (a sign-off before its assignment) raises ``NotYet``: the transaction
rolls back, inbox claim included, and the job is retried with back-off.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.models import ACTIVE_STATES, Clock, TrackedAppeal
from deadlines.service import clocks as service
from deadlines.service import rulesets, schedules
from deadlines.service.hierarchy import CITY, Unit
from deadlines.service.rules import ClockName
from services.common.jobs import JobContext, NotYet
from services.contracts.events import (
    AppealAssigned,
    AppealReceived,
    AppealReturned,
    AppealSignedOff,
    AppealTriaged,
    Event,
    StatusChanged,
)

# Statuses after which nothing about the appeal is timed any more (closed has its own event).
ENDING_STATUSES = frozenset({"rejected", "merged", "withdrawn"})


def _appeal_id(event: Event) -> uuid.UUID:
    if event.appeal_id is None:
        raise ValueError(f"{event.type} {event.id} carries no appeal_id")
    return event.appeal_id


async def _start(
    session: AsyncSession,
    appeal: TrackedAppeal,
    clock: ClockName,
    *,
    started_at: datetime,
    unit: Unit,
    hop: int = 0,
    kind: str | None = None,
    urgency: str | None = None,
    track: str | None = None,
    policy_code: str | None = None,
) -> Clock | None:
    # The table in effect when the clock started, not when its event is handled.
    rules = await rulesets.rules_at(session, started_at)
    rule = rules.rule_for(clock, kind=kind, urgency=urgency, track=track, policy_code=policy_code)
    if rule is None:
        return None  # this appeal is not timed on this clock
    calendar = await schedules.current_calendar(session)
    return await service.start_clock(
        session,
        calendar,
        appeal,
        rule,
        rules_version=rules.version,
        started_at=started_at,
        unit=unit,
        hop=hop,
        warn_ratio=rules.warn_ratio_of(rule),
        max_extensions=rules.max_extensions_of(rule),
    )


def _unit_of(data: dict[str, object]) -> Unit | None:
    unit_type, unit_code = data.get("unit_type"), data.get("unit_code")
    if isinstance(unit_type, str) and isinstance(unit_code, str):
        return Unit(unit_type, unit_code)
    return None


def _require(appeal: TrackedAppeal, clocks: list[Clock], reason: str) -> None:
    # An ended appeal starts no clocks, so their absence then is final, not a matter of waiting.
    if not clocks and appeal.ended_at is None:
        raise NotYet(reason)


async def _holder(session: AsyncSession, appeal_id: uuid.UUID) -> Unit:
    # The unit holding the appeal now: the latest assignment's, else the consultation's, else the city.
    clocks = await service.clocks_of(session, appeal_id, names=("sign_off", "consultation"))
    assigned = sorted((c for c in clocks if c.clock == "sign_off"), key=lambda c: c.hop)
    source = assigned[-1:] or [c for c in clocks if c.clock == "consultation"]
    return Unit(source[0].unit_type, source[0].unit_code) if source else CITY


async def on_received(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.received``: the triage clock (分拣, 1 working day) starts, charged to the city."""
    data = event.data_as(AppealReceived)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    appeal.received_at = appeal.received_at or data.received_at
    await _start(session, appeal, "triage", started_at=data.received_at, unit=CITY)


async def on_triaged(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.triaged``: triage is met; a micro-project's consultation clock (20 days) starts."""
    data = event.data_as(AppealTriaged)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    if appeal.received_at is None:
        raise NotYet("appeal.triaged before appeal.received")
    appeal.kind = data.kind
    appeal.town_code = data.town_code or appeal.town_code
    triage = await service.clocks_of(session, appeal.appeal_id, names=("triage",), lock=True)
    await service.meet_clocks(session, triage, event.occurred_at)
    # Consultations are held by the village (or the town where no village is known).
    if data.village_code:
        unit = Unit("village", data.village_code)
    elif data.town_code:
        unit = Unit("town", data.town_code)
    else:
        unit = CITY
    await _start(
        session,
        appeal,
        "consultation",
        started_at=event.occurred_at,
        unit=unit,
        kind=data.kind,
        urgency=data.urgency,
        track=data.track,
    )


async def on_assigned(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.assigned`` (交办): sign-off (签收, 1 working day) and, to handle it, handling starts."""
    data = event.data_as(AppealAssigned)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    appeal.kind = appeal.kind or data.kind
    unit = Unit(data.unit_type, data.unit_code)
    await _start(session, appeal, "sign_off", started_at=event.occurred_at, unit=unit, hop=data.hop)
    if data.purpose == "handle":
        await _start(
            session,
            appeal,
            "handling",
            started_at=event.occurred_at,
            unit=unit,
            hop=data.hop,
            kind=data.kind,
            urgency=data.urgency,
            track=data.track,
            policy_code=data.policy_code,
        )


async def on_signed_off(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.signed_off``: that hop's sign-off clock is met."""
    data = event.data_as(AppealSignedOff)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    clocks = await service.clocks_of(session, appeal.appeal_id, names=("sign_off",), hop=data.hop, lock=True)
    _require(appeal, clocks, f"appeal.signed_off before appeal.assigned (hop {data.hop})")
    await service.meet_clocks(session, clocks, event.occurred_at)


async def on_returned(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.returned`` (退单): that hop's clocks stop, charged to the unit that held it."""
    data = event.data_as(AppealReturned)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    clocks = await service.clocks_of(session, appeal.appeal_id, hop=data.hop, lock=True)
    _require(appeal, clocks, f"appeal.returned before appeal.assigned (hop {data.hop})")
    await service.stop_clocks(session, clocks, event.occurred_at)


async def on_status_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.status_changed``: on hold pauses the clocks, leaving the hold resumes them.

    A rejection, merge or withdrawal ends the appeal: its clocks stop. Leaving a hold that this
    service has not seen start is ``NotYet``, since the two events may be handled out of order.
    """
    data = event.data_as(StatusChanged)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    at = event.occurred_at
    if data.to_status in ENDING_STATUSES:
        appeal.ended_at, appeal.held_since = appeal.ended_at or at, None
        await service.stop_clocks(session, await _active(session, appeal), at)
    elif data.to_status == "on_hold":
        if appeal.held_since is None:
            appeal.held_since = at
            await service.pause_clocks(session, await _active(session, appeal), at)
    elif data.from_status == "on_hold":
        if appeal.held_since is None:
            raise NotYet("leaving on_hold before entering it")
        appeal.held_since = None
        calendar = await schedules.current_calendar(session)
        await service.resume_clocks(session, calendar, await _active(session, appeal), at)


async def on_plan_approved(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``plan.approved``: the consultation is met; a micro-project's works clock (6 months) starts."""
    appeal = await service.lock_appeal(session, _appeal_id(event))
    kind = event.data.get("kind") or appeal.kind
    if kind is None:
        raise NotYet("plan.approved before appeal.triaged")
    town = event.data.get("town_code")
    appeal.town_code = town if isinstance(town, str) and town else appeal.town_code
    consultation = await service.clocks_of(session, appeal.appeal_id, names=("consultation",), lock=True)
    await service.meet_clocks(session, consultation, event.occurred_at)
    unit = _unit_of(event.data) or await _holder(session, appeal.appeal_id)
    await _start(session, appeal, "works", started_at=event.occurred_at, unit=unit, kind=str(kind))


async def on_completed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.completed`` (办结): handling and works are met; feedback (1 working day) starts."""
    appeal = await service.lock_appeal(session, _appeal_id(event))
    done = await service.clocks_of(
        session, appeal.appeal_id, names=("handling", "works"), states=ACTIVE_STATES, lock=True
    )
    await service.meet_clocks(session, done, event.occurred_at)
    unit = _unit_of(event.data) or await _holder(session, appeal.appeal_id)
    await _start(session, appeal, "feedback", started_at=event.occurred_at, unit=unit)


async def on_closed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.closed``: feedback is met, anything still running stops, no clock starts again."""
    appeal = await service.lock_appeal(session, _appeal_id(event))
    at = event.occurred_at
    appeal.ended_at, appeal.held_since = appeal.ended_at or at, None
    active = await _active(session, appeal)
    await service.meet_clocks(session, [c for c in active if c.clock == "feedback"], at)
    await service.stop_clocks(session, [c for c in active if c.clock != "feedback"], at)


async def _active(session: AsyncSession, appeal: TrackedAppeal) -> list[Clock]:
    return await service.clocks_of(session, appeal.appeal_id, states=ACTIVE_STATES, lock=True)
