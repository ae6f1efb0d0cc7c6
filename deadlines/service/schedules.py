"""The working-day calendar as this service sees it: the package data plus uploaded years.

Each process keeps one ``WorkingCalendar`` built from ``calendar_years``. Before using it, a
caller checks a fingerprint of the table (row count and newest upload time, one index-only
query), so an upload made through the API process reaches every worker without any messaging.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.models import CalendarYear
from deadlines.service.calendar import WorkingCalendar, YearSchedule
from services.common.messaging import utcnow

Fingerprint = tuple[int, datetime | None]


@dataclass
class _Cached:
    fingerprint: Fingerprint
    calendar: WorkingCalendar


class CalendarCache:
    """One process's calendar, rebuilt when the uploaded years change."""

    def __init__(self) -> None:
        """Start empty; the first use loads the uploaded years."""
        self._cached: _Cached | None = None

    def invalidate(self) -> None:
        """Forget the calendar, so the next use reloads it."""
        self._cached = None

    async def get(self, session: AsyncSession) -> WorkingCalendar:
        """The calendar as of the session's view of ``calendar_years``."""
        row = (await session.execute(select(func.count(), func.max(CalendarYear.uploaded_at)))).one()
        fingerprint: Fingerprint = (int(row[0]), row[1])
        if self._cached is not None and self._cached.fingerprint == fingerprint:
            return self._cached.calendar
        calendar = await load_calendar(session)
        self._cached = _Cached(fingerprint, calendar)
        return calendar


CACHE = CalendarCache()


async def current_calendar(session: AsyncSession) -> WorkingCalendar:
    """The process's calendar, fresh with respect to every committed upload."""
    return await CACHE.get(session)


async def load_calendar(session: AsyncSession) -> WorkingCalendar:
    """Build a calendar from every uploaded year (including the session's own uncommitted ones)."""
    # populate_existing: a row this session loaded before an upsert must not shadow the new values.
    rows = (await session.scalars(select(CalendarYear).execution_options(populate_existing=True))).all()
    return WorkingCalendar(
        {row.year: YearSchedule(row.year, frozenset(row.holidays), frozenset(row.workdays)) for row in rows}
    )


async def store_year(session: AsyncSession, schedule: YearSchedule, uploaded_by: str) -> None:
    """Insert or replace a year's schedule; the cache of this process is dropped."""
    values = {
        "year": schedule.year,
        "holidays": sorted(schedule.holidays),
        "workdays": sorted(schedule.workdays),
        "uploaded_at": utcnow(),
        "uploaded_by": uploaded_by[:64],
    }
    statement = pg_insert(CalendarYear).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CalendarYear.year],
            set_={k: statement.excluded[k] for k in ("holidays", "workdays", "uploaded_at", "uploaded_by")},
        )
    )
    CACHE.invalidate()
