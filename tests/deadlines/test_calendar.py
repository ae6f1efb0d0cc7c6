"""The working-day calendar against the State Council's published schedules and the law."""

from __future__ import annotations

import time as clock
from calendar import monthrange
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import count

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadlines.service.calendar import (
    TZ,
    DueDate,
    WorkingCalendar,
    YearSchedule,
    end_of_day,
    estimated_rest_days,
    local_date,
    statutory_holidays,
)

CALENDAR = WorkingCalendar()


def _package_has(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


# Found from the package itself rather than assumed, so a package upgrade that adds 2027 moves
# these tests to the next missing year instead of breaking them.
FIRST_ESTIMATED_YEAR = next(year for year in count(2025) if not _package_has(year))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class TestNationalDay2025:
    """2025 schedule: Oct 1–8 off; Sunday Sep 28 and Saturday Oct 11 are make-up working days."""

    def test_schedule(self) -> None:
        assert all(not CALENDAR.is_working_day(day) for day in _days(date(2025, 10, 1), date(2025, 10, 8)))
        assert CALENDAR.is_working_day(date(2025, 9, 28))
        assert CALENDAR.is_working_day(date(2025, 10, 11))
        assert not CALENDAR.is_working_day(date(2025, 10, 12))

    def test_one_day_before_the_holiday_lands_after_it(self) -> None:
        assert CALENDAR.add_working_days(date(2025, 9, 30), 1) == DueDate(date(2025, 10, 9), False)

    def test_a_saturday_start_counts_the_make_up_sunday(self) -> None:
        assert CALENDAR.add_working_days(date(2025, 9, 27), 1) == DueDate(date(2025, 9, 28), False)

    def test_five_days_across_the_holiday(self) -> None:
        # Sep 28 (make-up Sunday), 29, 30, then Oct 9 and Oct 10.
        assert CALENDAR.add_working_days(date(2025, 9, 26), 5) == DueDate(date(2025, 10, 10), False)

    def test_make_up_saturday_counts(self) -> None:
        # Oct 9, 10, 11 (make-up Saturday), then Monday Oct 13.
        assert CALENDAR.add_working_days(date(2025, 10, 8), 4).due == date(2025, 10, 13)


class TestSpringFestival2026:
    """2026 schedule: Feb 15–23 off; Saturdays Feb 14 and Feb 28 are make-up working days."""

    def test_schedule(self) -> None:
        assert CALENDAR.is_working_day(date(2026, 2, 14))
        assert CALENDAR.is_working_day(date(2026, 2, 28))
        assert all(not CALENDAR.is_working_day(day) for day in _days(date(2026, 2, 15), date(2026, 2, 23)))
        assert CALENDAR.is_working_day(date(2026, 2, 24))

    def test_count_across_the_holiday(self) -> None:
        # Feb 13, Feb 14 (make-up Saturday), then Feb 24.
        assert CALENDAR.add_working_days(date(2026, 2, 12), 3) == DueDate(date(2026, 2, 24), False)
        # Feb 24–27 and the make-up Saturday Feb 28.
        assert CALENDAR.add_working_days(date(2026, 2, 13), 6).due == date(2026, 2, 28)


class TestMonths:
    def test_period_ending_on_national_day_moves_past_it(self) -> None:
        assert CALENDAR.add_months(date(2025, 4, 1), 6) == DueDate(date(2025, 10, 9), False)

    def test_month_end_clamps_to_a_make_up_saturday(self) -> None:
        # Aug 31 + 6 months has no Feb 31; Feb 28 2026 is a make-up working Saturday, so it stands.
        assert CALENDAR.is_working_day(date(2026, 2, 28))
        assert CALENDAR.add_months(date(2025, 8, 31), 6) == DueDate(date(2026, 2, 28), False)

    def test_month_end_clamps_to_leap_day(self) -> None:
        assert CALENDAR.add_months(date(2023, 8, 31), 6).due == date(2024, 2, 29)

    def test_plain_weekend_moves_to_monday(self) -> None:
        # 2025-06-14 is a Saturday with no holiday around it.
        assert CALENDAR.add_months(date(2025, 3, 14), 3).due == date(2025, 6, 16)

    def test_year_rollover(self) -> None:
        # 2026-01-30 is a Friday.
        assert CALENDAR.add_months(date(2025, 11, 30), 2).due == date(2026, 1, 30)

    def test_n_below_one_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            CALENDAR.add_months(date(2025, 1, 1), 0)


class TestStatutoryHolidaysAgainstOfficialData:
    """The lunar and solar-term computations checked against every published schedule since 2008."""

    @pytest.mark.parametrize("year", range(2008, 2027))
    def test_days_fixed_since_2008_were_always_off(self, year: int) -> None:
        # 除夕 and May 2 became statutory only in 2025; every other day has been since 2008.
        entries = statutory_holidays(year)
        eve = min(e.day for e in entries if e.name == "spring_festival")
        since_2008 = [e.day for e in entries if e.day not in {eve, date(year, 5, 2)}]
        assert len(since_2008) == 11
        assert all(not chinese_calendar.is_workday(day) for day in since_2008)

    @pytest.mark.parametrize("year", [2025, 2026])
    def test_all_thirteen_days_off_under_the_2024_regulation(self, year: int) -> None:
        entries = statutory_holidays(year)
        assert len(entries) == 13
        assert all(not chinese_calendar.is_workday(e.day) for e in entries)

    def test_known_dates(self) -> None:
        names = {(e.day, e.name) for e in statutory_holidays(2026)}
        assert (date(2026, 2, 16), "spring_festival") in names  # 除夕, lunar 12/29 of a short month
        assert (date(2026, 4, 5), "qingming") in names
        assert (date(2026, 6, 19), "dragon_boat_festival") in names
        assert (date(2026, 9, 25), "mid_autumn_festival") in names


class TestEstimate:
    def test_2027(self) -> None:
        # Lunar 1/1 is 2027-02-06; the 12th month before it has 29 days, so 除夕 is lunar 12/29,
        # 2027-02-05. Qingming Apr 5, Dragon Boat Jun 9, Mid-Autumn Sep 15.
        statutory = {
            date(2027, 1, 1),
            *_days(date(2027, 2, 5), date(2027, 2, 8)),
            date(2027, 4, 5),
            date(2027, 5, 1),
            date(2027, 5, 2),
            date(2027, 6, 9),
            date(2027, 9, 15),
            *_days(date(2027, 10, 1), date(2027, 10, 3)),
        }
        assert {e.day for e in statutory_holidays(2027)} == statutory
        # Weekend days owed back on the next free weekday: Sat/Sun Feb 6–7 -> Tue/Wed Feb 9–10,
        # Sat/Sun May 1–2 -> Mon/Tue May 3–4, Sat/Sun Oct 2–3 -> Mon/Tue Oct 4–5.
        substitutes = {
            date(2027, 2, 9),
            date(2027, 2, 10),
            date(2027, 5, 3),
            date(2027, 5, 4),
            date(2027, 10, 4),
            date(2027, 10, 5),
        }
        assert estimated_rest_days(2027) == statutory | substitutes

    def test_coinciding_festivals_each_get_a_day(self) -> None:
        # 2028: Mid-Autumn is Tuesday Oct 3, inside National Day (Sun Oct 1 – Tue Oct 3).
        october = {day for day in estimated_rest_days(2028) if day.month == 10}
        assert october == set(_days(date(2028, 10, 1), date(2028, 10, 5)))

    def test_new_year_on_saturday_moves_to_monday(self) -> None:
        rest = estimated_rest_days(2028)
        assert date(2028, 1, 1) in rest
        assert date(2028, 1, 3) in rest

    def test_estimated_year_is_used_and_provisional(self) -> None:
        year = FIRST_ESTIMATED_YEAR
        assert not CALENDAR.has_official_data(year)
        assert CALENDAR.has_official_data(year - 1)
        assert CALENDAR.day_is_provisional(date(year, 3, 1))
        assert not CALENDAR.day_is_provisional(date(year - 1, 3, 1))
        rest = estimated_rest_days(year)
        for day in _days(date(year, 1, 1), date(year, 12, 31)):
            assert CALENDAR.is_working_day(day) == (day.weekday() < 5 and day not in rest)

    def test_provisional_only_when_a_counted_day_is_estimated(self) -> None:
        last_official = date(FIRST_ESTIMATED_YEAR - 1, 12, 31)
        inside = CALENDAR.add_working_days(last_official - timedelta(days=10), 1)
        assert not inside.provisional
        across = CALENDAR.add_working_days(last_official - timedelta(days=1), 5)
        assert across.provisional
        assert across.due.year == FIRST_ESTIMATED_YEAR
        # Starting on Dec 31 counts only days of the next year.
        assert CALENDAR.add_months(last_official, 1).provisional


class TestUpload2027:
    """A hypothetical 2027 notice: Feb 5–13 off, Saturday Feb 20 worked."""

    SCHEDULE = YearSchedule(
        year=2027,
        holidays=frozenset(_days(date(2027, 2, 5), date(2027, 2, 13))),
        workdays=frozenset({date(2027, 2, 20)}),
    )

    @pytest.mark.skipif(_package_has(2027), reason="chinese_calendar now ships 2027")
    def test_estimate_before_upload(self) -> None:
        # Feb 5–10 estimated off, so Thursday Feb 11.
        assert CALENDAR.add_working_days(date(2027, 2, 4), 1) == DueDate(date(2027, 2, 11), True)
        assert not CALENDAR.is_working_day(date(2027, 2, 20))

    def test_upload_replaces_the_estimate(self) -> None:
        calendar = WorkingCalendar({2027: self.SCHEDULE})
        assert calendar.has_official_data(2027)
        assert not calendar.day_is_provisional(date(2027, 2, 11))
        assert not calendar.is_working_day(date(2027, 2, 11))
        assert calendar.is_working_day(date(2027, 2, 20))
        # Statutory days the upload does not list are working days: the upload is the whole truth.
        assert calendar.is_working_day(date(2027, 10, 4))
        assert calendar.add_working_days(date(2027, 2, 4), 1) == DueDate(date(2027, 2, 15), False)
        # Feb 15–19 then the make-up Saturday.
        assert calendar.add_working_days(date(2027, 2, 4), 6) == DueDate(date(2027, 2, 20), False)

    def test_upload_overrides_the_package(self) -> None:
        calendar = WorkingCalendar({2025: YearSchedule(2025, frozenset({date(2025, 3, 3)}), frozenset())})
        assert not calendar.is_working_day(date(2025, 3, 3))
        # Sep 28 is a make-up Sunday in the package, but this upload does not say so.
        assert not calendar.is_working_day(date(2025, 9, 28))

    def test_notice_reaching_into_the_previous_year(self) -> None:
        # Like the 2019 notice (Sat 2018-12-29 worked, Dec 30 – Jan 1 off), for 2031.
        schedule = YearSchedule(
            2031,
            holidays=frozenset({date(2030, 12, 30), date(2030, 12, 31), date(2031, 1, 1)}),
            workdays=frozenset({date(2030, 12, 28)}),
        )
        calendar = WorkingCalendar({2031: schedule})
        assert calendar.is_working_day(date(2030, 12, 28))
        assert not calendar.is_working_day(date(2030, 12, 31))
        # The notice corrects 2030's days but 2030 itself is still only estimated.
        assert calendar.day_is_provisional(date(2030, 12, 31)) == (not _package_has(2030))
        assert calendar.add_working_days(date(2030, 12, 27), 2).due == date(2031, 1, 2)

    def test_invalid_schedules_are_rejected(self) -> None:
        day = date(2027, 2, 6)
        with pytest.raises(ValueError):
            YearSchedule(2027, frozenset({day}), frozenset({day}))
        with pytest.raises(ValueError):
            YearSchedule(2027, frozenset({date(2029, 1, 1)}), frozenset())
        with pytest.raises(ValueError):
            WorkingCalendar({2028: self.SCHEDULE})


class TestDatetimes:
    def test_utc_evening_is_the_next_local_day(self) -> None:
        received = datetime(2025, 9, 30, 17, 0, tzinfo=UTC)
        assert local_date(received) == date(2025, 10, 1)
        # Counting from Oct 1 local: Oct 9 is still the first working day.
        assert CALENDAR.add_working_days(received, 1).due == date(2025, 10, 9)
        # 16:00Z is midnight local; one second earlier is still Sep 30 local.
        assert local_date(datetime(2025, 9, 30, 15, 59, 59, tzinfo=UTC)) == date(2025, 9, 30)

    def test_other_offsets_are_converted(self) -> None:
        new_york = timezone(timedelta(hours=-4))
        assert local_date(datetime(2025, 9, 26, 13, 0, tzinfo=new_york)) == date(2025, 9, 27)
        # From Saturday Sep 27 local, the make-up Sunday is day 1.
        assert CALENDAR.add_working_days(datetime(2025, 9, 26, 13, 0, tzinfo=new_york), 1).due == date(
            2025, 9, 28
        )

    def test_naive_datetime_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            local_date(datetime(2025, 9, 30, 12, 0))
        with pytest.raises(ValueError):
            CALENDAR.add_working_days(datetime(2025, 9, 30, 12, 0), 1)
        with pytest.raises(ValueError):
            CALENDAR.add_months(datetime(2025, 9, 30, 12, 0), 1)

    def test_date_is_returned_as_is(self) -> None:
        assert local_date(date(2025, 1, 1)) == date(2025, 1, 1)

    def test_n_below_one_is_rejected(self) -> None:
        for n in (0, -1):
            with pytest.raises(ValueError):
                CALENDAR.add_working_days(date(2025, 1, 1), n)

    def test_end_of_day(self) -> None:
        end = end_of_day(date(2025, 10, 9))
        assert end == datetime(2025, 10, 9, 15, 59, 59, 999999, tzinfo=UTC)
        assert end.utcoffset() == timedelta(0)
        assert end.astimezone(TZ).time() == time.max


def test_fast_enough_for_thousands_of_calls_per_second() -> None:
    calendar = WorkingCalendar()
    starts = [date(2025, 1, 1) + timedelta(days=i) for i in range(1000)]
    began = clock.perf_counter()
    for _ in range(5):
        for start in starts:
            calendar.add_working_days(start, 20)
    # 5,000 calls; a generous bound that still fails a day-by-day walk over the package API.
    assert clock.perf_counter() - began < 2.5


starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=300, deadline=None, database=None)
@given(start=starts, n=st.integers(min_value=1, max_value=30))
def test_working_days_property(start: date, n: int) -> None:
    result = CALENDAR.add_working_days(start, n)
    assert result.due > start
    assert CALENDAR.is_working_day(result.due)
    counted = _days(start + timedelta(days=1), result.due)
    assert sum(CALENDAR.is_working_day(day) for day in counted) == n
    assert result.provisional == any(CALENDAR.day_is_provisional(day) for day in counted)


@settings(max_examples=300, deadline=None, database=None)
@given(start=starts, n=st.integers(min_value=1, max_value=24))
def test_months_property(start: date, n: int) -> None:
    year, month_index = divmod(start.year * 12 + start.month - 1 + n, 12)
    month = month_index + 1
    nominal = date(year, month, min(start.day, monthrange(year, month)[1]))
    result = CALENDAR.add_months(start, n)
    assert result.due >= nominal
    assert CALENDAR.is_working_day(result.due)
    assert not any(CALENDAR.is_working_day(day) for day in _days(nominal, result.due)[:-1])
    counted = _days(start + timedelta(days=1), result.due)
    assert result.provisional == any(CALENDAR.day_is_provisional(day) for day in counted)


@settings(max_examples=200, deadline=None, database=None)
@given(
    start=st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2030, 12, 31),
        timezones=st.sampled_from([UTC, TZ, timezone(timedelta(hours=-10)), timezone(timedelta(hours=14))]),
    ),
    n=st.integers(min_value=1, max_value=30),
)
def test_datetime_start_equals_its_local_date(start: datetime, n: int) -> None:
    assert CALENDAR.add_working_days(start, n) == CALENDAR.add_working_days(local_date(start), n)
