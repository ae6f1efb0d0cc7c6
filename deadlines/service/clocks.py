"""Clock operations (时限计时): start, meet, pause, resume, stop, recompute. Only ``flush``.

Every change of a clock writes its event (``deadline.*`` with ``DeadlineChanged`` data) to the
outbox and a row to the ``clock_changes`` journal in the caller's transaction, so a clock never
changes without the others hearing of it, and the appeal's deadline history holds every change.
Times passed in (``at``, ``started_at``) are the times things happened, taken from the events,
not when this service got round to them: a sign-off (签收) made in time is on time even when
the event is handled after the deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.models import ACTIVE_STATES, Clock, ClockChange, TrackedAppeal, messaging
from deadlines.service.calendar import TZ, WorkingCalendar, end_of_day, local_date
from deadlines.service.hierarchy import CITY, Unit, scope_town_of
from deadlines.service.rules import (
    MAX_EXTENSIONS,
    WARN_RATIO,
    ClockRule,
    Limit,
    LimitKind,
    days_lost_to_pause,
    due_for,
    warn_point,
)
from services.common.messaging import emit
from services.contracts.events import DeadlineChanged, EventType, make_event

__all__ = [
    "CITY",
    "STOPPED_EVENT",
    "Announcement",
    "Unit",
    "announce",
    "apply_due",
    "clock_limit",
    "clocks_of",
    "deadline_data",
    "lock_appeal",
    "meet_clocks",
    "pause_clocks",
    "publish",
    "recompute_arrived_years",
    "recompute_provisional",
    "resume_clocks",
    "start_clock",
    "stop_clocks",
]

ClockState = Literal["running", "paused", "met", "overdue", "stopped"]
STOPPED_EVENT: EventType = "deadline.stopped"


def deadline_data(clock: Clock, description: str | None = None) -> DeadlineChanged:
    """The ``DeadlineChanged`` data describing ``clock`` as it is now."""
    return DeadlineChanged(
        clock_id=clock.id,
        clock=clock.clock,
        unit_type=clock.unit_type,
        unit_code=clock.unit_code,
        due_at=clock.due_at,
        due_date=clock.due_date,
        provisional=clock.provisional,
        state=cast(ClockState, clock.state),
        original_due_date=clock.original_due_date,
        description=description,
    )


@dataclass(frozen=True)
class Announcement:
    """One change of one clock to announce: its event type and data, and what the journal adds."""

    type: EventType
    clock: Clock
    data: DeadlineChanged
    detail: dict[str, Any] = field(default_factory=dict)


async def publish(session: AsyncSession, announcements: Sequence[Announcement]) -> None:
    """Write each announcement's event to the outbox and its row to the journal."""
    if not announcements:
        return
    await session.flush()
    events, journal = [], []
    for item in announcements:
        event = make_event(item.type, "deadlines", item.data, appeal_id=item.clock.appeal_id)
        events.append(event)
        journal.append(
            {
                "clock_id": item.clock.id,
                "appeal_id": item.clock.appeal_id,
                "event_id": event.id,
                "type": item.type,
                "at": event.occurred_at,
                "state": item.clock.state,
                "due_date": item.clock.due_date,
                "original_due_date": item.clock.original_due_date,
                "provisional": item.clock.provisional,
                "detail": item.detail,
            }
        )
    await emit(session, messaging, *events)
    await session.execute(insert(ClockChange), journal)


async def announce(session: AsyncSession, type_: EventType, clocks: Iterable[Clock]) -> None:
    """Write one ``type_`` event per clock to the outbox (and the journal)."""
    await publish(session, [Announcement(type_, c, deadline_data(c)) for c in clocks])


async def lock_appeal(session: AsyncSession, appeal_id: uuid.UUID) -> TrackedAppeal:
    """The appeal's row, created on first sight and locked until the transaction ends."""
    await session.execute(
        pg_insert(TrackedAppeal)
        .values(appeal_id=appeal_id)
        .on_conflict_do_nothing(index_elements=["appeal_id"])
    )
    statement = (
        select(TrackedAppeal)
        .where(TrackedAppeal.appeal_id == appeal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def clocks_of(
    session: AsyncSession,
    appeal_id: uuid.UUID,
    *,
    names: Iterable[str] | None = None,
    hop: int | None = None,
    states: Iterable[str] | None = None,
    lock: bool = False,
) -> list[Clock]:
    """An appeal's clocks, optionally narrowed, oldest first (``lock``: row-locked, in id order)."""
    statement = select(Clock).where(Clock.appeal_id == appeal_id)
    if names is not None:
        statement = statement.where(Clock.clock.in_(list(names)))
    if hop is not None:
        statement = statement.where(Clock.hop == hop)
    if states is not None:
        statement = statement.where(Clock.state.in_(list(states)))
    if lock:
        # Every writer locks clocks in id order, so two transactions never wait on each other in a ring.
        statement = statement.order_by(Clock.id).with_for_update()
    else:
        statement = statement.order_by(Clock.started_at, Clock.hop, Clock.clock)
    return list((await session.scalars(statement.execution_options(populate_existing=True))).all())


async def start_clock(
    session: AsyncSession,
    calendar: WorkingCalendar,
    appeal: TrackedAppeal,
    rule: ClockRule,
    *,
    rules_version: str,
    started_at: datetime,
    unit: Unit,
    hop: int = 0,
    round_no: int = 1,
    warn_ratio: float = WARN_RATIO,
    max_extensions: int = MAX_EXTENSIONS,
) -> Clock | None:
    """Start ``rule``'s clock for the appeal; None when it already exists or the appeal ended.

    Each round of work (``round_no``: 1, then one more per reopening) has clocks of its own.

    The clock copies what its rule set says of it (limit, warning point, extensions allowed), so
    a later rule set never changes it. An appeal on hold gets the clock paused from the start (or
    from the hold, when the start happened before it), so a clock whose event raced the hold
    still pauses.
    """
    if appeal.ended_at is not None:
        return None
    base = due_for(calendar, started_at, rule.limit)
    held = appeal.held_since
    values = {
        "id": uuid.uuid4(),
        "appeal_id": appeal.appeal_id,
        "clock": rule.clock,
        "hop": hop,
        "round": round_no,
        "unit_type": unit.type,
        "unit_code": unit.code,
        "scope_town": scope_town_of(unit, appeal.town_code),
        "state": "running" if held is None else "paused",
        "started_at": started_at,
        "due_date": base.due,
        "due_at": end_of_day(base.due),
        "original_due_date": base.due,
        "provisional": base.provisional,
        "rule_version": rules_version,
        "limit_kind": rule.limit.kind,
        "limit_value": rule.limit.value,
        "paused_days": 0,
        "warn_ratio": warn_ratio,
        "extensions_allowed": max_extensions,
        "warn_at": warn_point(started_at, base.due, base.due, warn_ratio),
        "paused_at": None if held is None else max(started_at, held),
    }
    statement = (
        pg_insert(Clock)
        .values(values)
        .on_conflict_do_nothing(index_elements=["appeal_id", "clock", "hop", "round"])
        .returning(Clock)
    )
    clock = (await session.scalars(statement)).one_or_none()
    if clock is not None:
        await announce(session, "deadline.started", [clock])
    return clock


async def meet_clocks(session: AsyncSession, clocks: Iterable[Clock], at: datetime) -> list[Clock]:
    """Mark the still-active clocks met (按时或超期办结) at ``at``; returns those changed."""
    changed = [c for c in clocks if c.state in ACTIVE_STATES]
    for clock in changed:
        clock.state, clock.met_at = "met", at
    await announce(session, "deadline.met", changed)
    return changed


async def stop_clocks(session: AsyncSession, clocks: Iterable[Clock], at: datetime) -> list[Clock]:
    """Stop the still-active clocks (退单, closing, withdrawal): they no longer run, nor count."""
    changed = [c for c in clocks if c.state in ACTIVE_STATES]
    for clock in changed:
        clock.state, clock.stopped_at = "stopped", at
    await announce(session, STOPPED_EVENT, changed)
    return changed


async def pause_clocks(session: AsyncSession, clocks: Iterable[Clock], at: datetime) -> list[Clock]:
    """Pause the running clocks (暂停计时) while the appeal waits for the resident."""
    changed = [c for c in clocks if c.state == "running"]
    for clock in changed:
        # A clock that started after the hold (its event handled first) is paused from its start.
        clock.state, clock.paused_at = "paused", max(at, clock.started_at)
    await announce(session, "deadline.paused", changed)
    return changed


async def resume_clocks(
    session: AsyncSession, calendar: WorkingCalendar, clocks: Iterable[Clock], at: datetime
) -> list[Clock]:
    """Resume paused clocks, pushing each deadline by the days the pause cost.

    Time spent waiting for the resident is not the unit's: a pause that began before the original
    deadline pushes it too. One that began after it (the clock already late, running on an
    extension) pushes only the current deadline, so a pause never rescues the on-time rate.
    """
    changed = [c for c in clocks if c.state == "paused"]
    for clock in changed:
        paused_at = clock.paused_at or at
        lost = days_lost_to_pause(calendar, cast(LimitKind, clock.limit_kind), paused_at, at)
        clock.paused_days += lost
        if paused_at <= end_of_day(clock.original_due_date):
            clock.original_paused_days += lost
        clock.state, clock.paused_at = "running", None
        apply_due(clock, calendar)
    await announce(session, "deadline.resumed", changed)
    return changed


def clock_limit(clock: Clock) -> Limit:
    """The clock's own limit, as copied from its rule when it started."""
    return Limit(cast(LimitKind, clock.limit_kind), clock.limit_value)


def apply_due(clock: Clock, calendar: WorkingCalendar) -> None:
    """Recompute the clock's dates from its start, limit, pauses and extensions on ``calendar``.

    The deadline counts every pause and extension; the original deadline only the pauses that
    began before it; the warning keeps its distance before the deadline (``warn_point``).
    """
    limit = clock_limit(clock)
    base = due_for(calendar, clock.started_at, limit)
    pushed = clock.paused_days + clock.extended_days
    due = due_for(calendar, clock.started_at, limit, pushed) if pushed else base
    original = (
        due_for(calendar, clock.started_at, limit, clock.original_paused_days)
        if clock.original_paused_days
        else base
    )
    clock.due_date, clock.due_at, clock.provisional = due.due, end_of_day(due.due), due.provisional
    clock.original_due_date = original.due
    if clock.warned_at is None:
        clock.warn_at = warn_point(clock.started_at, base.due, due.due, clock.warn_ratio)


async def recompute_provisional(session: AsyncSession, calendar: WorkingCalendar, year: int) -> int:
    """Recompute running and paused provisional clocks whose counted days reach into ``year``
    (a year that arrived with a newer calendar package; an upload is ``uploads.upload_year``)."""
    next_year_starts = datetime(year + 1, 1, 1, tzinfo=TZ).astimezone(UTC)
    statement = (
        select(Clock)
        .where(
            Clock.provisional.is_(True),
            Clock.state.in_(("running", "paused")),
            Clock.due_date >= date(year, 1, 1),
            Clock.started_at < next_year_starts,
        )
        .order_by(Clock.id)  # one lock order for every uploader, so two uploads never deadlock
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    changed: list[Clock] = []
    for clock in (await session.scalars(statement)).all():
        before = (clock.due_date, clock.provisional, clock.original_due_date)
        apply_due(clock, calendar)
        if (clock.due_date, clock.provisional, clock.original_due_date) != before:
            changed.append(clock)
    await announce(session, "deadline.started", changed)
    return len(changed)


async def recompute_arrived_years(session: AsyncSession, calendar: WorkingCalendar) -> int:
    """Recompute provisional clocks that count days in years which now have official data.

    An upload recomputes its own year (``uploads.upload_year``). A year also arrives with a newer
    ``chinesecalendar`` release, which no upload announces and which takes a restart: the
    worker calls this as it starts. One pass over the provisional clocks' span, then
    ``recompute_provisional`` per settled year (a clock unchanged by it is not announced).
    """
    first_start, last_due = (
        await session.execute(
            select(func.min(Clock.started_at), func.max(Clock.due_date)).where(
                Clock.provisional.is_(True), Clock.state.in_(("running", "paused"))
            )
        )
    ).one()
    if first_start is None or last_due is None:
        return 0
    changed = 0
    for year in range(local_date(first_start).year, last_due.year + 1):
        if calendar.has_official_data(year):
            changed += await recompute_provisional(session, calendar, year)
    return changed
