"""What each appeal event does to the clocks (DESIGN §5). One handler per event type.

Each handler runs inside the consumer's transaction, after the inbox claim, and first locks the
appeal's ``tracked_appeals`` row so that two events of one appeal never interleave. An event
that needs an earlier one (a sign-off before its assignment) raises ``NotYet``: the transaction
rolls back, inbox claim included, and the job is retried with back-off.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.models import ACTIVE_STATES, Clock, TrackedAppeal
from deadlines.service import clocks as service
from deadlines.service import rulesets, schedules
from deadlines.service.hierarchy import CITY, Unit
from deadlines.service.rules import ClockName, with_catalogue_limit
from services.common.jobs import JobContext, NotYet
from services.contracts.events import (
    AppealAssigned,
    AppealCompleted,
    AppealEvaluated,
    AppealReceived,
    AppealReopened,
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
    policy_days: int | None = None,
    round_no: int = 1,
) -> Clock | None:
    # The table in effect when the clock started, not when its event is handled.
    rules = await rulesets.rules_at(session, started_at)
    rule = rules.rule_for(clock, kind=kind, urgency=urgency, track=track, policy_code=policy_code)
    if rule is None:
        return None  # this appeal is not timed on this clock
    rule = with_catalogue_limit(rule, policy_code, policy_days)
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
        round_no=round_no,
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
    """``appeal.assigned`` (交办): sign-off (签收, 1 working day) and, to handle it, handling starts.

    A policy referral's handling clock runs for the catalogue's time limit of the policy
    (``with_catalogue_limit``); what chose it is kept for a reopened round.
    """
    data = event.data_as(AppealAssigned)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    appeal.kind = appeal.kind or data.kind
    unit = Unit(data.unit_type, data.unit_code)
    at, round_no = event.occurred_at, appeal.round
    await _start(session, appeal, "sign_off", started_at=at, unit=unit, hop=data.hop, round_no=round_no)
    if data.purpose == "handle":
        appeal.urgency, appeal.track = data.urgency, data.track
        appeal.policy_code, appeal.policy_days = data.policy_code, data.policy_time_limit_working_days
        await _start(
            session,
            appeal,
            "handling",
            started_at=at,
            unit=unit,
            hop=data.hop,
            kind=data.kind,
            urgency=data.urgency,
            track=data.track,
            policy_code=data.policy_code,
            policy_days=data.policy_time_limit_working_days,
            round_no=round_no,
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
    """``appeal.completed`` (办结): handling and works are met; the round's feedback (1 working
    day) starts."""
    data = event.data_as(AppealCompleted)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    done = await service.clocks_of(
        session, appeal.appeal_id, names=("handling", "works"), states=ACTIVE_STATES, lock=True
    )
    await service.meet_clocks(session, done, event.occurred_at)
    unit = _unit_of(event.data) or await _holder(session, appeal.appeal_id)
    await _start(
        session, appeal, "feedback", started_at=event.occurred_at, unit=unit, round_no=max(data.round, 1)
    )


async def on_evaluated(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.evaluated`` (回访): the resident heard back and rated the round, so that round's
    feedback clock is met, whatever the rating (a dissatisfied one reopens the appeal next)."""
    data = event.data_as(AppealEvaluated)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    feedback = await service.clocks_of(session, appeal.appeal_id, names=("feedback",), lock=True)
    if not any(c.round == data.round for c in feedback) and appeal.ended_at is None:
        # The round's completion (which starts the clock) is still on its way.
        raise NotYet(f"appeal.evaluated before appeal.completed (round {data.round})")
    # The rated round's clock, and any earlier one still open (its rating may never come now).
    await service.meet_clocks(session, [c for c in feedback if c.round <= data.round], event.occurred_at)


async def on_reopened(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """``appeal.reopened`` (重新办理): the redone round gets its own work clock.

    The round is timed like the one before it: the clock that timed that round's work
    (handling, or a micro-project's works), for the unit that did it, under the table in effect
    now (and the catalogue's limit for a policy referral). Its feedback clock starts when the
    round is completed. Earlier feedback still open is met: the resident has answered.
    """
    data = event.data_as(AppealReopened)
    appeal = await service.lock_appeal(session, _appeal_id(event))
    at = event.occurred_at
    if data.round <= appeal.round:
        return  # an older reopening, handled already
    appeal.round = data.round
    clocks = await service.clocks_of(session, appeal.appeal_id, lock=True)
    await service.meet_clocks(
        session, [c for c in clocks if c.clock == "feedback" and c.round < data.round], at
    )
    work = sorted(
        (c for c in clocks if c.clock in ("handling", "works") and c.round < data.round),
        key=lambda c: (c.round, c.started_at),
    )
    if work:
        last = work[-1]
        unit, hop, name = Unit(last.unit_type or "city", last.unit_code or "city"), last.hop, last.clock
    else:
        unit, hop, name = await _holder(session, appeal.appeal_id), 0, "handling"
    await _start(
        session,
        appeal,
        cast(ClockName, name),
        started_at=at,
        unit=unit,
        hop=hop,
        kind=appeal.kind,
        urgency=appeal.urgency,
        track=appeal.track,
        policy_code=appeal.policy_code,
        policy_days=appeal.policy_days,
        round_no=data.round,
    )


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
