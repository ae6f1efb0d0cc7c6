"""The working-day calendar that every deadline clock counts on.

Pure logic, no I/O. Counting follows the Civil Code (arts. 201–203): the start day does not count,
"N working days" ends at the end of the N-th working day after it, and "N months" ends on the
same-numbered day of the N-th month, moved to the first working day when that day is a rest day.

Which days are working days comes, in order of precedence, from:

1. a year's schedule uploaded by city staff (``YearSchedule``) once the State Council publishes it;
2. the ``chinese_calendar`` package, which ships the published schedules for past years;
3. an estimate from the law alone (《全国年节及纪念日放假办法》, the national holidays regulation,
   2024 revision): weekends off plus the statutory holidays, moved off weekends. Deadlines that
   count a day from an estimated year are marked provisional and are recomputed once that year's
   schedule arrives.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import chinese_calendar
from lunar_python import Lunar

__all__ = [
    "TZ",
    "DueDate",
    "StatutoryHoliday",
    "WorkingCalendar",
    "YearSchedule",
    "end_of_day",
    "estimated_rest_days",
    "local_date",
    "statutory_holidays",
]

TZ = ZoneInfo("Asia/Shanghai")

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class YearSchedule:
    """A year's official schedule uploaded by city staff (overrides everything for that year).

    ``holidays`` are the days off: 法定节假日 (statutory holidays) and the 调休 rest days that the
    State Council swaps in around them. ``workdays`` are the 调休上班 make-up working days, usually
    weekends. A notice may reach into the neighbouring year (the 2019 notice made Saturday
    2018-12-29 a working day), so dates up to one year either side of ``year`` are accepted.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        # Callers building this from JSON often pass sets or lists; freezing keeps it hashable.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"dates listed both as holiday and as workday: {sorted(both)}")
        for day in self.holidays | self.workdays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"schedule entries must be dates, got {day!r}")
            if abs(day.year - self.year) > 1:
                raise ValueError(f"{day} is too far from the schedule year {self.year}")


@dataclass(frozen=True)
class DueDate:
    """The outcome of a deadline computation."""

    due: date  # the deadline is the END of this day, Asia/Shanghai
    provisional: bool  # True when any day counted lies in a year without official data


class StatutoryHoliday(NamedTuple):
    """One statutory holiday day the law fixes, before any weekend substitution."""

    day: date
    name: str


def local_date(value: date | datetime) -> date:
    """Return the Asia/Shanghai calendar date of ``value``.

    An aware datetime is converted to Asia/Shanghai first, so 2025-09-30T17:00Z is 2025-10-01.
    A naive datetime is rejected with ``ValueError``: guessing its zone would silently move
    deadlines by a day. A plain date is returned as is.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
        return value.astimezone(TZ).date()
    return value


def end_of_day(d: date) -> datetime:
    """Return the last instant (23:59:59.999999) of ``d`` in Asia/Shanghai, as an aware UTC datetime."""
    return datetime.combine(d, time.max, tzinfo=TZ).astimezone(UTC)


def _solar_date(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@functools.lru_cache(maxsize=256)
def statutory_holidays(year: int) -> tuple[StatutoryHoliday, ...]:
    """List the statutory holiday days of ``year`` under the 2024 holidays regulation.

    元旦 New Year's Day (Jan 1); 春节 Spring Festival, four days: 除夕 (lunar New Year's Eve)
    and lunar 1/1–1/3; 清明 Qingming, the day of that solar term; 劳动节 Labour Day (May 1–2);
    端午 Dragon Boat Festival (lunar 5/5); 中秋 Mid-Autumn Festival (lunar 8/15); 国庆
    National Day (Oct 1–3). Sorted by date; a day appears twice when two festivals coincide
    (Mid-Autumn falls on Oct 3 in 2028).
    """
    new_year = Lunar.fromYmd(year, 1, 1)
    spring_festival = _solar_date(new_year)
    qingming = new_year.getJieQiTable()["清明"]
    days = [
        StatutoryHoliday(date(year, 1, 1), "new_year"),
        # The eve is the day before lunar 1/1, not lunar 12/30: the 12th month may have 29 days.
        StatutoryHoliday(spring_festival - _ONE_DAY, "spring_festival"),
        *(StatutoryHoliday(spring_festival + timedelta(days=i), "spring_festival") for i in range(3)),
        StatutoryHoliday(date(qingming.getYear(), qingming.getMonth(), qingming.getDay()), "qingming"),
        StatutoryHoliday(date(year, 5, 1), "labour_day"),
        StatutoryHoliday(date(year, 5, 2), "labour_day"),
        StatutoryHoliday(_solar_date(Lunar.fromYmd(year, 5, 5)), "dragon_boat_festival"),
        StatutoryHoliday(_solar_date(Lunar.fromYmd(year, 8, 15)), "mid_autumn_festival"),
        *(StatutoryHoliday(date(year, 10, i), "national_day") for i in (1, 2, 3)),
    ]
    return tuple(sorted(days))


@functools.lru_cache(maxsize=256)
def estimated_rest_days(year: int) -> frozenset[date]:
    """Estimate the days off of ``year`` beyond ordinary weekends, from the law alone.

    The result has the shape of ``YearSchedule.holidays``: every statutory holiday day (see
    ``statutory_holidays``), plus a substitute weekday for each one that falls on a weekend
    (补假, which the regulation requires), the substitute being the next weekday that is not
    already off. A festival coinciding with another is owed a substitute the same way, as the
    2020 schedule gave when Mid-Autumn fell on Oct 1. Make-up working Saturdays are a political
    choice each year and are not guessed.
    """
    entries = statutory_holidays(year)
    off = {entry.day for entry in entries}
    granted: set[date] = set()
    for entry in entries:
        if entry.day.weekday() < _SATURDAY and entry.day not in granted:
            granted.add(entry.day)
            continue
        substitute = entry.day + _ONE_DAY
        while substitute.weekday() >= _SATURDAY or substitute in off:
            substitute += _ONE_DAY
        off.add(substitute)
        granted.add(substitute)
    return frozenset(off)


@functools.cache
def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _year_days(year: int) -> Iterable[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += _ONE_DAY


class _YearTable:
    """Working-day lookup for one year: a flag per day for membership, sorted ordinals for counting."""

    __slots__ = ("first_ordinal", "flags", "working")

    def __init__(self, year: int, working: Iterable[date]) -> None:
        self.first_ordinal = date(year, 1, 1).toordinal()
        self.working = tuple(sorted(day.toordinal() for day in working))
        flags = bytearray(366)
        for ordinal in self.working:
            flags[ordinal - self.first_ordinal] = 1
        self.flags = bytes(flags)

    def is_working(self, day: date) -> bool:
        return self.flags[day.toordinal() - self.first_ordinal] == 1


@functools.lru_cache(maxsize=256)
def _default_table(year: int) -> _YearTable:
    # Shared across calendar instances so that building a calendar per request stays cheap.
    if _package_covers(year):
        working = [day for day in _year_days(year) if chinese_calendar.is_workday(day)]
    else:
        rest = estimated_rest_days(year)
        working = [day for day in _year_days(year) if day.weekday() < _SATURDAY and day not in rest]
    return _YearTable(year, working)


class WorkingCalendar:
    """Answers "is this a working day" and computes due dates (Civil Code arts. 201–203).

    ``uploaded`` maps a year to its official schedule; an uploaded year ignores the package and
    the estimate entirely. Per-year tables are built lazily and kept, so repeated calls cost a
    binary search, not a walk over days.
    """

    def __init__(self, uploaded: Mapping[int, YearSchedule] | None = None) -> None:
        """Build a calendar over the package data, the estimate and the given uploads."""
        self._uploaded: dict[int, YearSchedule] = dict(uploaded or {})
        for year, schedule in self._uploaded.items():
            if schedule.year != year:
                raise ValueError(f"schedule for {schedule.year} uploaded under year {year}")
        self._overrides: dict[date, bool] = {}
        # A notice's entries for its own year win over a neighbouring notice reaching into it.
        for own_year_last in (False, True):
            for year, schedule in self._uploaded.items():
                for day in schedule.holidays:
                    if (day.year == year) is own_year_last:
                        self._overrides[day] = False
                for day in schedule.workdays:
                    if (day.year == year) is own_year_last:
                        self._overrides[day] = True
        self._override_years = {day.year for day in self._overrides}
        self._tables: dict[int, _YearTable] = {}

    def has_official_data(self, year: int) -> bool:
        """True when ``year`` has an uploaded schedule or is covered by ``chinese_calendar``."""
        return year in self._uploaded or _package_covers(year)

    def is_working_day(self, d: date) -> bool:
        """True when ``d`` (a datetime is taken at its Asia/Shanghai date) is a working day."""
        day = local_date(d)
        return self._table(day.year).is_working(day)

    def day_is_provisional(self, d: date) -> bool:
        """True when ``d`` lies in a year whose working days are only estimated."""
        return not self.has_official_data(local_date(d).year)

    def add_working_days(self, start: date | datetime, n: int) -> DueDate:
        """Return the end of the ``n``-th working day after ``start`` (the start day never counts)."""
        if n < 1:
            raise ValueError(f"a period of working days must be at least 1, got {n}")
        first = local_date(start)
        after = first.toordinal()
        remaining = n
        year = first.year
        while True:
            working = self._table(year).working
            index = bisect_right(working, after)
            available = len(working) - index
            if remaining <= available:
                due = date.fromordinal(working[index + remaining - 1])
                return DueDate(due, self._counts_estimate(first, due))
            remaining -= available
            year += 1

    def add_months(self, start: date | datetime, n: int) -> DueDate:
        """Return the end of an ``n``-month period from ``start``.

        It ends on the same-numbered day of the ``n``-th month (that month's last day when it has
        no such day), or on the first working day after it when that day is not a working day.
        """
        if n < 1:
            raise ValueError(f"a period of months must be at least 1, got {n}")
        first = local_date(start)
        year, month_index = divmod(first.year * 12 + first.month - 1 + n, 12)
        month = month_index + 1
        nominal = date(year, month, min(first.day, _days_in_month(year, month)))
        due = self._first_working_on_or_after(nominal)
        return DueDate(due, self._counts_estimate(first, due))

    def _first_working_on_or_after(self, day: date) -> date:
        target = day.toordinal()
        year = day.year
        while True:
            working = self._table(year).working
            index = bisect_left(working, target)
            if index < len(working):
                return date.fromordinal(working[index])
            year += 1

    def _counts_estimate(self, start: date, due: date) -> bool:
        first_counted = start + _ONE_DAY
        return any(not self.has_official_data(year) for year in range(first_counted.year, due.year + 1))

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._build_table(year)
            self._tables[year] = table
        return table

    def _build_table(self, year: int) -> _YearTable:
        if year not in self._uploaded and year not in self._override_years:
            return _default_table(year)
        if year in self._uploaded:
            # An upload replaces the package and the estimate: only weekends remain as a default.
            working = {day for day in _year_days(year) if day.weekday() < _SATURDAY}
        else:
            base = _default_table(year)
            working = {date.fromordinal(ordinal) for ordinal in base.working}
        for day, is_working in self._overrides.items():
            if day.year == year:
                if is_working:
                    working.add(day)
                else:
                    working.discard(day)
        return _YearTable(year, working)


def _days_in_month(year: int, month: int) -> int:
    # Not stdlib ``calendar.monthrange``: importing it from a module of the same name reads as a self-import.
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - _ONE_DAY).day
