"""Parsing the calendar API's query parameters: every bad input is a stable problem code."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from deadlines.errors import InvalidPeriod, InvalidStart
from deadlines.schemas import parse_period, parse_start
from deadlines.service.calendar import TZ
from deadlines.service.rules import Limit


class TestParseStart:
    def test_date(self) -> None:
        assert parse_start("2025-09-30") == date(2025, 9, 30)

    def test_aware_datetime(self) -> None:
        assert parse_start("2025-09-30T17:00:00Z") == datetime(2025, 9, 30, 17, tzinfo=UTC)

    def test_naive_datetime_is_dongguan_time(self) -> None:
        assert parse_start("2025-09-30T23:30:00") == datetime(2025, 9, 30, 23, 30, tzinfo=TZ)

    def test_plus_sign_lost_in_a_query_string(self) -> None:
        expected = datetime(2025, 9, 30, 10, tzinfo=timezone(timedelta(hours=8)))
        assert parse_start("2025-09-30T10:00:00 08:00") == expected

    @pytest.mark.parametrize("raw", [None, "", "  ", "tomorrow", "2025-13-01", "2025-02-30", "30/09/2025"])
    def test_malformed(self, raw: str | None) -> None:
        with pytest.raises(InvalidStart) as info:
            parse_start(raw)
        assert info.value.code == "invalid_start"
        assert info.value.status == 422

    @pytest.mark.parametrize("raw", ["1999-12-31", "2100-01-01"])
    def test_out_of_range(self, raw: str) -> None:
        with pytest.raises(InvalidStart):
            parse_start(raw)


class TestParsePeriod:
    def test_working_days(self) -> None:
        assert parse_period("5", None) == Limit.working_days(5)

    def test_months(self) -> None:
        assert parse_period(None, "6") == Limit.months(6)

    def test_empty_value_counts_as_absent(self) -> None:
        assert parse_period("", "6") == Limit.months(6)

    @pytest.mark.parametrize(
        ("working_days", "months"),
        [
            (None, None),
            ("", ""),
            ("1", "1"),
            ("0", None),
            (None, "-1"),
            ("1.5", None),
            ("x", None),
            ("1001", None),
        ],
    )
    def test_refused(self, working_days: str | None, months: str | None) -> None:
        with pytest.raises(InvalidPeriod) as info:
            parse_period(working_days, months)
        assert info.value.code == "invalid_period"
