"""What staff ask of the clocks: due and overdue lists per unit, on-time rates, an appeal's history.

Lists read the partial indexes of open clocks (``ix_clocks_open_unit``, ``ix_clocks_open_town``,
and for the city ``ix_clocks_overdue_pending`` / ``ix_clocks_overdue``), in deadline order, a
page at a time. Rates judge each clock exactly as ``rates.judge`` does, in one aggregate.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import Date, DateTime, Select, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from deadlines.errors import InvalidRange
from deadlines.models import Clock, ClockChange, Extension, Reminder
from deadlines.schemas import (
    ChangeOut,
    ClockHistoryOut,
    ClockOut,
    ExtensionOut,
    HistoryOut,
    RateOut,
    RatesOut,
    ReminderOut,
    UnitRatesOut,
)
from deadlines.service.calendar import TZ
from deadlines.service.clocks import clocks_of
from deadlines.service.hierarchy import Scope
from deadlines.service.rates import MEASURES, Rate

MAX_PERIOD_DAYS = 366
ListKind = Literal["due", "overdue"]
S = TypeVar("S", bound="Select[Any]")


def _scoped(statement: S, scope: Scope) -> S:
    if scope.unit is not None:
        statement = statement.where(Clock.unit_type == scope.unit.type, Clock.unit_code == scope.unit.code)
    if scope.town is not None:
        statement = statement.where(Clock.scope_town == scope.town)
    return statement


async def clock_list(
    session: AsyncSession,
    kind: ListKind,
    scope: Scope,
    *,
    page: int,
    page_size: int,
    before: datetime | None = None,
) -> tuple[list[Clock], bool]:
    """Running clocks (``due``) or overdue ones, earliest deadline first; and whether more follow."""
    statement = select(Clock).where(Clock.state == ("running" if kind == "due" else "overdue"))
    statement = _scoped(statement, scope)
    if before is not None:
        statement = statement.where(Clock.due_at < before)
    statement = statement.order_by(Clock.due_at, Clock.id).offset((page - 1) * page_size).limit(page_size + 1)
    rows = list((await session.scalars(statement)).all())
    return rows[:page_size], len(rows) > page_size


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TZ).astimezone(UTC)


def check_period(start: date, end: date) -> None:
    """A period of local dates, both included, at most ``MAX_PERIOD_DAYS`` long."""
    if end < start or (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidRange(start=start.isoformat(), end=end.isoformat())


async def unit_rates(session: AsyncSession, scope: Scope, start: date, end: date, now: datetime) -> RatesOut:
    """响应率 and 按时办结率 per unit for clocks judged between ``start`` and ``end`` (local dates).

    Late: still open (not met, not paused) when its original deadline ended; judged that day.
    On time: met before it; judged when met. Stopped clocks and clocks not yet judged don't count.
    """
    check_period(start, end)
    window_start, window_end = local_midnight(start), local_midnight(end + timedelta(days=1))
    # The moment the original deadline has passed: midnight after its day, Asia/Shanghai.
    passed_at = func.timezone("Asia/Shanghai", cast(Clock.original_due_date + 1, DateTime))
    counting_until = func.coalesce(Clock.met_at, Clock.paused_at, literal(now, DateTime(timezone=True)))
    late = and_(Clock.state != "stopped", passed_at <= counting_until)
    on_time = and_(Clock.state == "met", Clock.met_at < passed_at)
    judged_here: ColumnElement[bool] = or_(
        and_(late, Clock.original_due_date.between(start, end)),
        and_(on_time, Clock.met_at >= window_start, Clock.met_at < window_end),
    )
    measure = case((Clock.clock == "sign_off", "response"), else_="completion")
    names = [name for clocks in MEASURES.values() for name in clocks]
    statement = (
        select(
            Clock.unit_type,
            Clock.unit_code,
            measure.label("measure"),
            func.count().label("due"),
            func.count().filter(on_time).label("on_time"),
        )
        .where(
            Clock.clock.in_(names),
            # Every clock judged in the period has its original deadline on or after its start.
            Clock.original_due_date >= cast(literal(start), Date),
            judged_here,
        )
        .group_by(Clock.unit_type, Clock.unit_code, measure)
    )
    statement = _scoped(statement, scope)
    cells: dict[tuple[str | None, str | None], dict[str, Rate]] = defaultdict(dict)
    for row in await session.execute(statement):
        cells[row.unit_type, row.unit_code][row.measure] = Rate(int(row.due), int(row.on_time))
    units = [
        _unit_out(unit_type, unit_code, found)
        for (unit_type, unit_code), found in sorted(cells.items(), key=str)
    ]
    total: dict[str, Rate] = {
        m: Rate(
            sum(c[m].due for c in cells.values() if m in c),
            sum(c[m].on_time for c in cells.values() if m in c),
        )
        for m in MEASURES
    }
    return RatesOut(start=start, end=end, units=units, total=_unit_out(None, None, total))


def _rate_out(rate: Rate | None) -> RateOut:
    rate = rate or Rate(0, 0)
    return RateOut(due=rate.due, on_time=rate.on_time, rate=rate.rate)


def _unit_out(unit_type: str | None, unit_code: str | None, found: Mapping[str, Rate]) -> UnitRatesOut:
    return UnitRatesOut(
        unit_type=unit_type,
        unit_code=unit_code,
        response=_rate_out(found.get("response")),
        completion=_rate_out(found.get("completion")),
    )


async def appeal_history(session: AsyncSession, appeal_id: uuid.UUID) -> HistoryOut:
    """Every clock of the appeal with its announced changes, reminders and extension requests."""
    clocks = await clocks_of(session, appeal_id)
    ids = [c.id for c in clocks]
    changes = (
        await session.scalars(
            select(ClockChange).where(ClockChange.appeal_id == appeal_id).order_by(ClockChange.id)
        )
    ).all()
    reminders = (
        (
            await session.scalars(
                select(Reminder).where(Reminder.clock_id.in_(ids)).order_by(Reminder.sent_at)
            )
        ).all()
        if ids
        else []
    )
    extensions = (
        await session.scalars(
            select(Extension).where(Extension.appeal_id == appeal_id).order_by(Extension.requested_at)
        )
    ).all()
    return HistoryOut(
        appeal_id=appeal_id,
        clocks=[
            ClockHistoryOut(
                clock=ClockOut.model_validate(clock),
                changes=[ChangeOut.model_validate(c) for c in changes if c.clock_id == clock.id],
                reminders=[ReminderOut.model_validate(r) for r in reminders if r.clock_id == clock.id],
                extensions=[ExtensionOut.model_validate(e) for e in extensions if e.clock_id == clock.id],
            )
            for clock in clocks
        ],
    )
