"""The sweep: warnings (预警) at 80% of a clock's time, overdue (超期) once its deadline passed.

It reads only clocks that are due, through the partial indexes on ``due_at`` and ``warn_at``.
Each batch is one statement: a sub-select takes the due rows ``FOR UPDATE SKIP LOCKED`` and the
update changes only rows still in the state the sub-select saw, so two sweeps running at once
split the rows between them and no clock is announced twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deadlines.models import Clock
from deadlines.service import announce
from services.common.db import get_sessionmaker, session_scope
from services.common.messaging import utcnow

BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    """How many clocks one sweep warned about and found overdue."""

    warned: int = 0
    overdue: int = 0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(self.warned + other.warned, self.overdue + other.overdue)


async def mark_overdue(session: AsyncSession, now: datetime, limit: int = BATCH) -> int:
    """Move running clocks whose deadline has passed to ``overdue`` and announce each once."""
    due = (
        select(Clock.id)
        .where(Clock.state == "running", Clock.due_at < now)
        .order_by(Clock.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Clock)
        .where(Clock.id.in_(due.scalar_subquery()), Clock.state == "running")
        .values(state="overdue", overdue_notified_at=now, updated_at=now)
        .returning(Clock)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    clocks = list((await session.scalars(statement)).all())
    await announce(session, "deadline.overdue", clocks)
    return len(clocks)


async def mark_warned(session: AsyncSession, now: datetime, limit: int = BATCH) -> int:
    """Warn about running clocks past their 80% point, once per clock."""
    due = (
        select(Clock.id)
        .where(Clock.state == "running", Clock.warned_at.is_(None), Clock.warn_at <= now)
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
    await announce(session, "deadline.warning", clocks)
    return len(clocks)


async def sweep_once(
    maker: async_sessionmaker[AsyncSession] | None = None, now: datetime | None = None, batch: int = BATCH
) -> SweepResult:
    """Sweep every due clock, one short transaction per batch.

    Overdue goes first: a clock already past its deadline is not warned about any more.
    """
    factory = maker or get_sessionmaker()
    total = SweepResult()
    while True:
        at = now or utcnow()
        async with session_scope(factory) as session:
            result = SweepResult(overdue=await mark_overdue(session, at, batch))
            result += SweepResult(warned=await mark_warned(session, at, batch))
        total += result
        if result.overdue < batch and result.warned < batch:
            return total
