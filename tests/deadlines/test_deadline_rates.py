"""On-time rates (响应率, 按时办结率): the pure arithmetic, judged against the original deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deadlines.service.calendar import TZ, end_of_day
from deadlines.service.rates import Judgement, Rate, judge, rate, tally

DUE = date(2025, 10, 27)  # the original deadline: the end of Monday Oct 27, Dongguan
NOW = datetime(2025, 12, 1, tzinfo=TZ)


def _at(day: int, hour: int = 10, month: int = 10) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=TZ)


class TestJudge:
    def test_met_on_the_last_day_is_on_time(self) -> None:
        met = _at(27, 23)
        assert judge("met", DUE, met_at=met, paused_at=None, now=NOW) == Judgement("on_time", met)

    def test_met_the_day_after_is_late_judged_when_the_deadline_passed(self) -> None:
        assert judge("met", DUE, met_at=_at(28, 0), paused_at=None, now=NOW) == Judgement(
            "late", end_of_day(DUE)
        )

    def test_an_extension_rescues_nothing(self) -> None:
        # Met within an extension to Oct 31 (the clock's current deadline): still late.
        assert judge("met", DUE, met_at=_at(30), paused_at=None, now=NOW).outcome == "late"

    def test_still_open_after_the_deadline_is_late(self) -> None:
        for state in ("running", "overdue"):
            assert judge(state, DUE, met_at=None, paused_at=None, now=NOW) == Judgement(
                "late", end_of_day(DUE)
            )

    def test_open_before_the_deadline_is_not_judged_yet(self) -> None:
        assert judge("running", DUE, met_at=None, paused_at=None, now=_at(20)).outcome == "pending"

    def test_paused_before_the_deadline_waits(self) -> None:
        assert judge("paused", DUE, met_at=None, paused_at=_at(20), now=NOW).outcome == "pending"

    def test_paused_after_the_deadline_was_late_already(self) -> None:
        assert judge("paused", DUE, met_at=None, paused_at=_at(29), now=NOW).outcome == "late"

    def test_stopped_clocks_are_not_judged(self) -> None:
        assert judge("stopped", DUE, met_at=None, paused_at=None, now=NOW) == Judgement("excluded", None)

    def test_utc_times_are_judged_in_dongguan(self) -> None:
        # 15:59 UTC on Oct 27 is 23:59 in Dongguan: on time. 16:00 UTC is Oct 28 there: late.
        assert (
            judge(
                "met", DUE, met_at=datetime(2025, 10, 27, 15, 59, tzinfo=UTC), paused_at=None, now=NOW
            ).outcome
            == "on_time"
        )
        assert (
            judge(
                "met", DUE, met_at=datetime(2025, 10, 27, 16, 0, tzinfo=UTC), paused_at=None, now=NOW
            ).outcome
            == "late"
        )


class TestRate:
    def test_share(self) -> None:
        assert rate(1, 3) == 0.3333
        assert rate(2, 2) == 1.0
        assert Rate(4, 3).rate == 0.75

    def test_nothing_due_is_no_rate(self) -> None:
        assert rate(0, 0) is None and Rate(0, 0).rate is None

    @pytest.mark.parametrize(("on_time", "due"), [(2, 1), (-1, 3), (0, -1)])
    def test_impossible_counts(self, on_time: int, due: int) -> None:
        with pytest.raises(ValueError):
            rate(on_time, due)

    def test_tally_counts_what_was_judged_in_the_period(self) -> None:
        judgements = [
            judge("met", DUE, met_at=_at(20), paused_at=None, now=NOW),  # on time, Oct 20
            judge("met", DUE, met_at=_at(30), paused_at=None, now=NOW),  # late, Oct 27
            judge("running", DUE, met_at=None, paused_at=None, now=NOW),  # late, Oct 27
            judge("stopped", DUE, met_at=None, paused_at=None, now=NOW),
            judge(
                "met", date(2025, 11, 20), met_at=_at(3, month=11), paused_at=None, now=NOW
            ),  # on time, Nov 3
        ]
        october = tally(judgements, _at(1, 0), _at(1, 0, month=11))
        assert (october.due, october.on_time, october.rate) == (3, 1, 0.3333)
        november = tally(judgements, _at(1, 0, month=11), _at(1, 0, month=12))
        assert (november.due, november.on_time) == (1, 1)


@given(
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["met", "running", "overdue", "paused", "stopped"]),
)
def test_a_clock_is_judged_once_and_never_on_time_after_its_deadline(
    met_day: int, pause_day: int, state: str
) -> None:
    moment = datetime(2025, 10, 1, 12, tzinfo=TZ)
    met_at = moment + timedelta(days=met_day) if state == "met" else None
    paused_at = moment + timedelta(days=pause_day) if state == "paused" else None
    verdict = judge(state, DUE, met_at=met_at, paused_at=paused_at, now=NOW)
    if verdict.outcome == "on_time":
        assert met_at is not None and met_at <= end_of_day(DUE) and verdict.at == met_at
    if verdict.outcome == "late":
        assert verdict.at == end_of_day(DUE)
    assert (verdict.at is None) == (verdict.outcome in ("pending", "excluded"))
