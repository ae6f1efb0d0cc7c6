"""The sweep: warnings (预警), overdue (超期) and escalations (督办), each reminder sent once.

Three steps, each reading only the clocks due for it through its own partial index:
- **overdue**: running clocks past their deadline (``ix_clocks_overdue_pending`` on ``due_at``)
  become ``overdue``: the holder hears ``deadline.overdue`` and, in the same row update, the
  first escalation goes one level up (``deadline.escalated``: village → town, station → town,
  department or town → city);
- **escalation**: overdue clocks whose next level has come (``ix_clocks_escalation_pending`` on
  ``escalate_at``): another level up at each further full limit, then the city again each
  further limit;
- **warning**: running clocks past their warning point (``ix_clocks_warn_pending`` on
  ``warn_at``, by default 80% of the time): ``deadline.warning``.

Exactly once, twice over. Each step takes its rows ``FOR UPDATE SKIP LOCKED`` and changes only
rows still in the state it read, so overlapping sweeps (two workers, a cron slot run twice) split
the rows between them. And each reminder is a row of ``reminders`` keyed by (clock, stage),
inserted ``ON CONFLICT DO NOTHING``: only the sweep whose row went in announces the reminder.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from deadlines.config import DeadlinesSettings
from deadlines.models import Clock, Reminder
from deadlines.service import schedules
from deadlines.service.calendar import WorkingCalendar
from deadlines.service.clocks import Announcement, clock_limit, deadline_data, publish
from deadlines.service.hierarchy import Unit, escalations_to_send
from deadlines.service.rules import escalation_points
from services.common.db import get_sessionmaker, session_scope
from services.common.messaging import utcnow
from services.common.settings import get_settings
from services.contracts.events import DeadlineEscalated, EventType

# A step called on its own takes this many clocks; `sweep_once` takes the configured batch.
BATCH: int = DeadlinesSettings.model_fields["sweep_batch"].default


@dataclass(frozen=True)
class SweepResult:
    """How many clocks one sweep warned about and found overdue, and how many escalations it sent."""

    warned: int = 0
    overdue: int = 0
    escalated: int = 0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.warned + other.warned, self.overdue + other.overdue, self.escalated + other.escalated
        )


async def _claim(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[tuple[uuid.UUID, str]]:
    """Insert reminder rows; the (clock, stage) pairs that went in, i.e. not sent before."""
    if not rows:
        return set()
    statement = (
        pg_insert(Reminder)
        .on_conflict_do_nothing(index_elements=["clock_id", "stage"])
        .returning(Reminder.clock_id, Reminder.stage)
    )
    # Many rows, one cached statement (insertmanyvalues): a VALUES list would compile anew each time.
    return {(row.clock_id, row.stage) for row in await session.execute(statement, list(rows))}


def _reminder(clock: Clock, stage: str, now: datetime, **extra: Any) -> dict[str, Any]:
    return {"clock_id": clock.id, "stage": stage, "appeal_id": clock.appeal_id, "sent_at": now, **extra}


async def _announce_once(
    session: AsyncSession, type_: EventType, stage: str, clocks: list[Clock], now: datetime
) -> None:
    sent = await _claim(session, [_reminder(c, stage, now) for c in clocks])
    fresh = [c for c in clocks if (c.id, stage) in sent]
    await publish(session, [Announcement(type_, c, deadline_data(c)) for c in fresh])


def _take(statement: Select[Clock], order: InstrumentedAttribute[Any], limit: int) -> Select[Clock]:
    # Row locks taken and skipped: another sweep's rows are left to it. In READ COMMITTED the
    # lock re-checks the WHERE on the newest row version, so a row it just changed is not taken.
    return (
        statement.order_by(order)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _plan_escalations(
    clock: Clock, calendar: WorkingCalendar, now: datetime
) -> list[tuple[Clock, int, Unit]]:
    """Move the clock to its newest escalation level; the levels to announce, with their targets."""
    points, next_at = escalation_points(
        calendar, clock.due_date, clock_limit(clock), clock.escalation_level, now
    )
    clock.escalate_at, clock.updated_at = next_at, now
    if not points:
        return []  # the deadline moved (a recomputed calendar): only the next moment changes
    clock.escalation_level = points[-1][0]
    unit = Unit(clock.unit_type, clock.unit_code)
    levels = [level for level, _ in points]
    return [(clock, level, target) for level, target in escalations_to_send(unit, clock.scope_town, levels)]


async def _announce_escalations(
    session: AsyncSession, plans: list[tuple[Clock, int, Unit]], now: datetime
) -> int:
    rows = [
        _reminder(c, f"escalation:{level}", now, level=level, target_type=t.type, target_code=t.code)
        for c, level, t in plans
    ]
    sent = await _claim(session, rows)
    announcements = []
    for clock, level, target in plans:
        if (clock.id, f"escalation:{level}") not in sent:
            continue
        data = DeadlineEscalated(
            **deadline_data(clock).model_dump(),
            level=level,
            target_unit_type="town" if target.type == "town" else "city",
            target_unit_code=target.code or "city",
        )
        detail = {"level": level, "target_type": target.type, "target_code": target.code}
        announcements.append(Announcement("deadline.escalated", clock, data, detail))
    await publish(session, announcements)
    return len(announcements)


async def mark_overdue(
    session: AsyncSession, calendar: WorkingCalendar, now: datetime, limit: int = BATCH
) -> tuple[int, int]:
    """Move running clocks whose deadline has passed to ``overdue`` and escalate them one level
    up at once (the first level falls at the deadline): one row update per clock.

    Returns how many clocks it took and how many escalations it sent."""
    statement = _take(select(Clock).where(Clock.state == "running", Clock.due_at < now), Clock.due_at, limit)
    clocks = list((await session.scalars(statement)).all())
    plans: list[tuple[Clock, int, Unit]] = []
    for clock in clocks:
        clock.state, clock.overdue_notified_at = "overdue", now
        plans += _plan_escalations(clock, calendar, now)
    await _announce_once(session, "deadline.overdue", "overdue", clocks, now)
    return len(clocks), await _announce_escalations(session, plans, now)


async def escalate(
    session: AsyncSession, calendar: WorkingCalendar, now: datetime, limit: int = BATCH
) -> tuple[int, int]:
    """Escalate overdue clocks whose next level has come: how many it took, how many it sent."""
    statement = _take(
        select(Clock).where(Clock.state == "overdue", Clock.escalate_at <= now), Clock.escalate_at, limit
    )
    clocks = list((await session.scalars(statement)).all())
    plans: list[tuple[Clock, int, Unit]] = []
    for clock in clocks:
        plans += _plan_escalations(clock, calendar, now)
    return len(clocks), await _announce_escalations(session, plans, now)


async def mark_warned(session: AsyncSession, now: datetime, limit: int = BATCH) -> int:
    """Warn about running clocks past their warning point, once per clock.

    Only while the deadline is still ahead: a clock past it is the overdue step's, even when that
    step (another sweep's, or a later batch) has not reached it yet."""
    due = (
        select(Clock.id)
        .where(Clock.state == "running", Clock.warned_at.is_(None), Clock.warn_at <= now, Clock.due_at >= now)
        .order_by(Clock.warn_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Clock)
        .where(Clock.id.in_(due.scalar_subquery()), Clock.state == "running", Clock.warned_at.is_(None))
        .values(warned_at=now, updated_at=now)
        .returning(Clock)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    clocks = list((await session.scalars(statement)).all())
    await _announce_once(session, "deadline.warning", "warning", clocks, now)
    return len(clocks)


async def sweep_once(
    maker: async_sessionmaker[AsyncSession] | None = None,
    now: datetime | None = None,
    batch: int | None = None,
) -> SweepResult:
    """Sweep every due clock, one short transaction per batch of each step (``batch`` clocks,
    by default ``GUANJIA_DEADLINES_SWEEP_BATCH``).

    Overdue goes first: a clock already past its deadline is not warned about any more, and is
    escalated in the same pass.
    """
    factory = maker or get_sessionmaker()
    batch = batch or get_settings(DeadlinesSettings).sweep_batch
    total = SweepResult()
    while True:
        at = now or utcnow()
        async with session_scope(factory) as session:
            calendar = await schedules.current_calendar(session)
            overdue, first = await mark_overdue(session, calendar, at, batch)
            taken, further = await escalate(session, calendar, at, batch)
            warned = await mark_warned(session, at, batch)
        total += SweepResult(warned, overdue, first + further)
        if max(overdue, taken, warned) < batch:
            return total
