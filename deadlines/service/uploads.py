"""A year's official schedule uploaded by city staff (放假安排), and the clocks it changes.

`PUT` is the year's schedule (DESIGN §10): the lists are stored as the whole of the year, so what
the year keeps is exactly what was sent. Two rules keep an upload from doing harm by accident
(issue 16.10):
- every date lies in the year it is uploaded for (a 2026 date sent for 2027 is refused);
- nothing is removed silently: a day off or a make-up working day of the year's official schedule
  (uploaded before, or the package's) that the lists leave out is removed only when the upload
  says so, by naming it (``remove_holidays`` / ``remove_workdays``) or with ``replace: true``; else
  the upload is refused, naming those days. A year without official data has only the estimate,
  which is nobody's published schedule: its first schedule simply takes the estimate's place.

Then every clock whose counted days the change touches is recomputed, whatever its state
(running, paused, overdue, met or stopped: a met clock is judged against its corrected
deadline), as is every provisional clock the year now settles; each is announced again and
reported. An overdue clock whose corrected deadline lies ahead runs again: announced as
``running``, its overdue and escalation reminders forgotten so that they are told, truly, if the
new deadline passes. The diffing is pure (``new_schedule``, ``changed_days``); ``upload_year`` does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.errors import InvalidSchedule, InvalidYear
from deadlines.models import Clock, Reminder
from deadlines.service import schedules
from deadlines.service.calendar import TZ, WorkingCalendar, YearSchedule
from deadlines.service.clocks import Announcement, apply_due, deadline_data, publish
from deadlines.service.rules import FIRST_YEAR, LAST_YEAR
from services.common.messaging import utcnow

__all__ = ["Recomputed", "UploadResult", "changed_days", "current_schedule", "new_schedule", "upload_year"]

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


@dataclass(frozen=True)
class Recomputed:
    """One clock the upload changed: its deadline before, and the clock as it is now."""

    clock: Clock
    due_date_before: date


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: the days whose status changed, and the clocks recomputed."""

    year: int
    now_off: list[date]
    now_working: list[date]
    clocks: list[Recomputed]


def _days(year: int) -> Iterable[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += _ONE_DAY


def current_schedule(calendar: WorkingCalendar, year: int) -> YearSchedule:
    """The year as the calendar has it now, in an upload's terms: the weekdays off (holidays)
    and the weekend days worked (make-up working days), whatever the source."""
    holidays, workdays = set(), set()
    for day in _days(year):
        working = calendar.is_working_day(day)
        if day.weekday() < _SATURDAY and not working:
            holidays.add(day)
        elif day.weekday() >= _SATURDAY and working:
            workdays.add(day)
    return YearSchedule(year, frozenset(holidays), frozenset(workdays))


def _listed(days: Iterable[date]) -> str:
    return "、".join(d.isoformat() for d in sorted(days)[:10])


def new_schedule(
    year: int,
    official: YearSchedule | None,
    *,
    holidays: Sequence[date],
    workdays: Sequence[date],
    remove_holidays: Sequence[date] = (),
    remove_workdays: Sequence[date] = (),
    replace: bool = False,
) -> YearSchedule:
    """The year's new schedule: the lists, as the whole year. Raises ``ValueError`` (in Chinese)
    for a date outside the year, a day both off and worked, or a day of ``official`` (the year's
    official schedule now, None when it has none) that the lists leave out without the upload
    naming it for removal (or ``replace``)."""
    outside = {d for d in (*holidays, *workdays, *remove_holidays, *remove_workdays) if d.year != year}
    if outside:
        raise ValueError(f"以下日期不在 {year} 年内：{_listed(outside)}")
    off, worked = set(holidays), set(workdays)
    both = off & worked
    if both:
        raise ValueError(f"以下日期既是假日又是调休上班日：{_listed(both)}")
    contradicted = (off & set(remove_holidays)) | (worked & set(remove_workdays))
    if contradicted:
        raise ValueError(f"以下日期既要保留又要去掉：{_listed(contradicted)}")
    if official is not None and not replace:
        dropped_off = set(official.holidays) - off - set(remove_holidays)
        dropped_worked = set(official.workdays) - worked - set(remove_workdays)
        if dropped_off or dropped_worked:
            parts = []
            if dropped_off:
                parts.append(f"假日 {_listed(dropped_off)}（写入 remove_holidays）")
            if dropped_worked:
                parts.append(f"调休上班日 {_listed(dropped_worked)}（写入 remove_workdays）")
            raise ValueError(
                f"{year} 年现有安排中的{'；'.join(parts)}未出现在上传的安排中。上传的是全年安排，"
                "去掉已有的日期须写明；或以 replace: true 确认以本次上传为全年安排"
            )
    return YearSchedule(year, frozenset(off), frozenset(worked))


def changed_days(before: WorkingCalendar, after: WorkingCalendar, year: int) -> tuple[list[date], list[date]]:
    """The days of ``year`` that became days off, and those that became working days."""
    now_off, now_working = [], []
    for day in _days(year):
        was, now = before.is_working_day(day), after.is_working_day(day)
        if was and not now:
            now_off.append(day)
        elif now and not was:
            now_working.append(day)
    return now_off, now_working


async def upload_year(
    session: AsyncSession,
    year: int,
    *,
    holidays: Sequence[date],
    workdays: Sequence[date],
    uploaded_by: str,
    remove_holidays: Sequence[date] = (),
    remove_workdays: Sequence[date] = (),
    replace: bool = False,
) -> UploadResult:
    """Store the year's schedule and recompute every clock it changes (see the module's rules).

    Each recomputed clock is announced again as ``deadline.started`` with the same ``clock_id``
    and its present state: consumers keep one row per clock and take the newest announcement.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidYear()
    before = await schedules.load_calendar(session)
    newly_official = not before.has_official_data(year)
    try:
        schedule = new_schedule(
            year,
            None if newly_official else current_schedule(before, year),
            holidays=holidays,
            workdays=workdays,
            remove_holidays=remove_holidays,
            remove_workdays=remove_workdays,
            replace=replace,
        )
    except ValueError as exc:
        raise InvalidSchedule(str(exc)) from exc
    await schedules.store_year(session, schedule, uploaded_by)
    after = await schedules.load_calendar(session)
    now_off, now_working = changed_days(before, after, year)
    changed = sorted(now_off + now_working)
    clocks = await _affected(session, year, changed, newly_official)
    recomputed: list[Recomputed] = []
    now = utcnow()
    reopened: list[Clock] = []
    for clock in clocks:
        was = (clock.due_date, clock.original_due_date, clock.provisional)
        apply_due(clock, after)
        if clock.state == "overdue" and clock.due_at > now:
            _not_overdue(clock)
            reopened.append(clock)
        if (clock.due_date, clock.original_due_date, clock.provisional) != was:
            recomputed.append(Recomputed(clock, was[0]))
    await _forget_overdue(session, reopened)
    await publish(
        session,
        [
            Announcement(
                "deadline.started",
                r.clock,
                deadline_data(r.clock),
                {"recomputed_for": year, **({"no_longer_overdue": True} if r.clock in reopened else {})},
            )
            for r in recomputed
        ],
    )
    return UploadResult(year, now_off, now_working, recomputed)


def _not_overdue(clock: Clock) -> None:
    """An overdue clock whose corrected deadline lies ahead was never overdue: it runs again, with
    no escalation (督办) level, and the sweep takes it up at its new deadline like any other."""
    clock.state = "running"
    clock.overdue_notified_at = None
    clock.escalation_level = 0
    clock.escalate_at = None


async def _forget_overdue(session: AsyncSession, clocks: list[Clock]) -> None:
    """Drop the overdue and escalation reminders of clocks that are no longer overdue: they guard
    each stage to be sent once, so left in place they would keep the clock's real overdue, when
    the new deadline passes, from being told."""
    if not clocks:
        return
    await session.execute(
        delete(Reminder).where(
            Reminder.clock_id.in_([c.id for c in clocks]),
            or_(Reminder.stage == "overdue", Reminder.stage.like("escalation:%")),
        )
    )


async def _affected(
    session: AsyncSession, year: int, changed: list[date], newly_official: bool
) -> list[Clock]:
    """Clocks whose counted days include a changed day (any state), and provisional clocks
    counting days in a year that now has official data; locked in one order for every uploader."""
    conditions = []
    if changed:
        # A clock counts the days after its start day up to its due date.
        conditions.append((Clock.started_at < _start_of(changed[-1])) & (Clock.due_date >= changed[0]))
    if newly_official or changed:
        conditions.append(
            Clock.provisional.is_(True)
            & (Clock.due_date >= date(year, 1, 1))
            & (Clock.started_at < _start_of(date(year + 1, 1, 1)))
        )
    if not conditions:
        return []
    statement = (
        select(Clock)
        .where(or_(*conditions))
        .order_by(Clock.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)
