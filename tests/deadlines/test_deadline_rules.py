"""The clock table (DESIGN §5) and the pure arithmetic of a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from deadlines.jobs import HANDLERS
from deadlines.service.calendar import TZ, DueDate, WorkingCalendar, end_of_day
from deadlines.service.rules import (
    CLOCK_TRIGGERS,
    DEFAULT_RULES,
    RULES_VERSION,
    ClockRule,
    Limit,
    RuleSet,
    days_lost_to_pause,
    due_for,
    escalation_points,
    max_extension_days,
    rule_set_problems,
    warn_point,
)
from deadlines.service.rulesets import rule_from_row, rule_row
from services.contracts.events import SUBSCRIPTIONS

CALENDAR = WorkingCalendar()


def _at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=TZ)


class TestDefaultTable:
    """Each row of DESIGN §5, as the default rule set says it."""

    def test_version(self) -> None:
        assert DEFAULT_RULES.version == RULES_VERSION
        assert DEFAULT_RULES.warn_ratio == 0.8

    @pytest.mark.parametrize(
        ("clock", "trigger", "limit"),
        [
            ("triage", "appeal.received", Limit.working_days(1)),
            ("sign_off", "appeal.assigned", Limit.working_days(1)),
            ("feedback", "appeal.completed", Limit.working_days(1)),
        ],
    )
    def test_every_appeal(self, clock: str, trigger: str, limit: Limit) -> None:
        rule = DEFAULT_RULES.rule_for(clock, kind="micro_wish")  # type: ignore[arg-type]
        assert rule is not None
        assert (rule.trigger, rule.limit) == (trigger, limit)

    def test_emergency_micro_wish_is_five_working_days(self) -> None:
        rule = DEFAULT_RULES.rule_for("handling", kind="micro_wish", urgency="emergency", track="express")
        assert rule is not None and rule.limit == Limit.working_days(5)

    def test_emergency_beats_the_policy_track(self) -> None:
        rule = DEFAULT_RULES.rule_for(
            "handling",
            kind="micro_wish",
            urgency="emergency",
            track="policy",
            policy_code="temporary_assistance",
        )
        assert rule is not None and rule.limit == Limit.working_days(5)

    def test_other_micro_wish_is_ten_working_days(self) -> None:
        for urgency in ("normal", "urgent"):
            rule = DEFAULT_RULES.rule_for("handling", kind="micro_wish", urgency=urgency, track="station")
            assert rule is not None and rule.limit == Limit.working_days(10)

    def test_policy_referral_defaults_to_ten_working_days(self) -> None:
        rule = DEFAULT_RULES.rule_for("handling", kind="micro_project", urgency="normal", track="policy")
        assert rule is not None and rule.limit == Limit.working_days(10)

    def test_micro_project_off_the_policy_track_has_no_handling_clock(self) -> None:
        # Its works clock starts with the approved plan instead.
        assert (
            DEFAULT_RULES.rule_for("handling", kind="micro_project", urgency="normal", track="express")
            is None
        )

    def test_consultation_only_for_micro_projects(self) -> None:
        rule = DEFAULT_RULES.rule_for("consultation", kind="micro_project")
        assert rule is not None
        assert (rule.trigger, rule.limit) == ("appeal.triaged", Limit.working_days(20))
        assert DEFAULT_RULES.rule_for("consultation", kind="micro_wish") is None

    def test_works_is_six_months_from_the_approved_plan(self) -> None:
        rule = DEFAULT_RULES.rule_for("works", kind="micro_project")
        assert rule is not None
        assert (rule.trigger, rule.limit) == ("plan.approved", Limit.months(6))
        assert DEFAULT_RULES.rule_for("works", kind="micro_wish") is None

    def test_every_trigger_has_a_handler(self) -> None:
        assert {rule.trigger for rule in DEFAULT_RULES.rules} <= set(HANDLERS)

    def test_handlers_are_exactly_the_subscriptions(self) -> None:
        assert set(HANDLERS) == SUBSCRIPTIONS["deadlines"]


class TestRuleSets:
    def test_policy_limits_go_before_the_default_but_after_emergencies(self) -> None:
        rules = DEFAULT_RULES.with_policy_limits("2025.2", {"legal_aid": Limit.working_days(15)})
        assert rules.version == "2025.2"
        own = rules.rule_for(
            "handling", kind="micro_wish", urgency="normal", track="policy", policy_code="legal_aid"
        )
        other = rules.rule_for(
            "handling", kind="micro_wish", urgency="normal", track="policy", policy_code="x"
        )
        emergency = rules.rule_for(
            "handling", kind="micro_wish", urgency="emergency", track="policy", policy_code="legal_aid"
        )
        assert own is not None and own.limit == Limit.working_days(15)
        assert other is not None and other.limit == Limit.working_days(10)
        assert emergency is not None and emergency.limit == Limit.working_days(5)

    def test_a_changed_table_needs_a_new_version(self) -> None:
        with pytest.raises(ValueError, match="new version"):
            DEFAULT_RULES.with_policy_limits(RULES_VERSION, {"legal_aid": Limit.working_days(15)})

    def test_warn_ratio_is_a_fraction(self) -> None:
        with pytest.raises(ValueError):
            RuleSet("x", (), warn_ratio=1.0)

    def test_none_matches_anything(self) -> None:
        rule = ClockRule("feedback", "appeal.completed", Limit.working_days(1), "结果反馈")
        assert rule.matches(kind="micro_project", urgency="urgent", track="direct", policy_code="p")


class TestLimit:
    @pytest.mark.parametrize("value", [0, -3])
    def test_at_least_one(self, value: int) -> None:
        with pytest.raises(ValueError):
            Limit.working_days(value)

    def test_unknown_kind(self) -> None:
        with pytest.raises(ValueError):
            Limit("weeks", 2)  # type: ignore[arg-type]


class TestDueFor:
    def test_working_days_across_national_day_2025(self) -> None:
        assert due_for(CALENDAR, _at(2025, 9, 30), Limit.working_days(1)) == DueDate(date(2025, 10, 9), False)

    def test_pushed_working_days_lengthen_the_period(self) -> None:
        pushed = due_for(CALENDAR, _at(2025, 9, 30), Limit.working_days(1), pushed_days=2)
        assert pushed.due == date(2025, 10, 11)  # Oct 9, 10, then the make-up Saturday
        assert pushed == CALENDAR.add_working_days(date(2025, 9, 30), 3)

    def test_months_ending_on_a_holiday(self) -> None:
        assert due_for(CALENDAR, _at(2025, 4, 1), Limit.months(6)) == DueDate(date(2025, 10, 9), False)

    def test_pushed_months_move_the_nominal_end_by_calendar_days(self) -> None:
        # Nominal Oct 1 + 10 days = Oct 11, a make-up working Saturday.
        assert due_for(CALENDAR, _at(2025, 4, 1), Limit.months(6), pushed_days=10).due == date(2025, 10, 11)
        # Nominal Oct 1 + 3 days = Oct 4, still the holiday: the first working day after it.
        assert due_for(CALENDAR, _at(2025, 4, 1), Limit.months(6), pushed_days=3).due == date(2025, 10, 9)

    def test_months_into_an_estimated_year_are_provisional(self) -> None:
        last_official = max(y for y in range(2025, 2040) if CALENDAR.has_official_data(y))
        start = _at(last_official, 9, 1)
        assert due_for(CALENDAR, start, Limit.months(6)).provisional
        assert due_for(CALENDAR, start, Limit.months(6), pushed_days=5).provisional

    def test_negative_push_is_refused(self) -> None:
        with pytest.raises(ValueError):
            due_for(CALENDAR, _at(2025, 4, 1), Limit.months(6), pushed_days=-1)


class TestWarnPoint:
    def test_eighty_percent_of_the_clock(self) -> None:
        start = datetime(2025, 10, 13, 2, 0, tzinfo=UTC)  # Monday 10:00 in Dongguan
        due = date(2025, 10, 14)
        warn = warn_point(start, due, due)
        assert warn - start == (end_of_day(due) - start) * 0.8

    def test_a_pause_moves_the_warning_with_the_deadline(self) -> None:
        start = _at(2025, 10, 13)
        base, pushed = date(2025, 10, 14), date(2025, 10, 17)
        assert end_of_day(pushed) - warn_point(start, base, pushed) == end_of_day(base) - warn_point(
            start, base, base
        )

    def test_warning_falls_before_the_deadline(self) -> None:
        start = _at(2025, 9, 30)
        due = due_for(CALENDAR, start, Limit.working_days(1)).due
        assert start < warn_point(start, due, due) < end_of_day(due)


class TestDaysLostToPause:
    def test_same_day_costs_nothing(self) -> None:
        assert days_lost_to_pause(CALENDAR, "working_days", _at(2025, 10, 13, 9), _at(2025, 10, 13, 17)) == 0

    def test_monday_to_wednesday_costs_two(self) -> None:
        assert days_lost_to_pause(CALENDAR, "working_days", _at(2025, 10, 13), _at(2025, 10, 15)) == 2

    def test_holidays_cost_nothing(self) -> None:
        # Paused Sep 30, resumed Oct 9: only Oct 9 is a working day after the pause day.
        assert days_lost_to_pause(CALENDAR, "working_days", _at(2025, 9, 30), _at(2025, 10, 9)) == 1

    def test_months_clocks_lose_calendar_days(self) -> None:
        assert days_lost_to_pause(CALENDAR, "months", _at(2025, 9, 30), _at(2025, 10, 9)) == 9

    def test_resume_before_pause_costs_nothing(self) -> None:
        at = _at(2025, 10, 15)
        assert days_lost_to_pause(CALENDAR, "working_days", at, at - timedelta(days=3)) == 0


class TestPublishedTables:
    """What a table city staff publish must satisfy, and the settings each row may override."""

    def test_the_default_table_is_publishable_and_round_trips(self) -> None:
        assert rule_set_problems(DEFAULT_RULES.rules) == []
        rows = tuple(rule_from_row(rule_row(r)) for r in DEFAULT_RULES.rules)
        assert rows == DEFAULT_RULES.rules

    def test_every_clock_starts_on_its_own_event(self) -> None:
        assert {r.clock: r.trigger for r in DEFAULT_RULES.rules} == CLOCK_TRIGGERS
        wrong = ClockRule("triage", "appeal.assigned", Limit.working_days(1), "分拣")
        assert any(
            "只能由 appeal.received 开始" in p for p in rule_set_problems((wrong, *DEFAULT_RULES.rules[1:]))
        )

    def test_a_clock_left_out(self) -> None:
        problems = rule_set_problems(tuple(r for r in DEFAULT_RULES.rules if r.clock != "works"))
        assert problems == ["缺少以下计时的规则：works。"]

    def test_a_row_behind_a_more_general_one_never_applies(self) -> None:
        general = ClockRule("handling", "appeal.assigned", Limit.working_days(8), "办理")
        # Last, it catches what nothing before it does (micro-projects off the policy track): fine.
        assert rule_set_problems((*DEFAULT_RULES.rules, general)) == []
        # First, it hides every handling row after it.
        problems = rule_set_problems((general, *DEFAULT_RULES.rules))
        hidden = [i + 2 for i, r in enumerate(DEFAULT_RULES.rules) if r.clock == "handling"]
        assert problems == [f"第 {i} 条永远不会生效：第 1 条已涵盖它适用的全部诉求。" for i in hidden]
        specific_first = ClockRule(
            "handling",
            "appeal.assigned",
            Limit.working_days(15),
            "法律援助",
            track="policy",
            policy_code="legal_aid",
        )
        assert rule_set_problems((specific_first, *DEFAULT_RULES.rules)) == []
        assert len(rule_set_problems((*DEFAULT_RULES.rules, specific_first))) == 1

    def test_rows_override_the_tables_settings(self) -> None:
        special = ClockRule(
            "handling", "appeal.assigned", Limit.working_days(15), "x", warn_ratio=0.5, max_extensions=3
        )
        table = RuleSet("2030.1", (special, *DEFAULT_RULES.rules), warn_ratio=0.75, max_extensions=2)
        assert (table.warn_ratio_of(special), table.max_extensions_of(special)) == (0.5, 3)
        plain = DEFAULT_RULES.rules[0]
        assert (table.warn_ratio_of(plain), table.max_extensions_of(plain)) == (0.75, 2)

    @pytest.mark.parametrize(
        ("warn_ratio", "max_extensions"), [(1.0, None), (0.0, None), (None, -1), (None, 11)]
    )
    def test_settings_out_of_range(self, warn_ratio: float | None, max_extensions: int | None) -> None:
        with pytest.raises(ValueError):
            ClockRule(
                "handling",
                "appeal.assigned",
                Limit.working_days(1),
                "x",
                warn_ratio=warn_ratio,
                max_extensions=max_extensions,
            )

    def test_an_extension_is_at_most_the_clocks_own_length(self) -> None:
        assert max_extension_days(Limit.working_days(5)) == 5
        assert max_extension_days(Limit.months(6)) == 180


class TestEscalationPoints:
    """督办 levels: the first at the deadline, then one more each further full limit."""

    def test_levels_fall_one_limit_apart_on_working_days(self) -> None:
        # Due Tuesday Sep 30 2025 (1 working day): then Oct 9 (after the holiday), Oct 10, Oct 11 (make-up Saturday).
        points, following = escalation_points(
            CALENDAR, date(2025, 9, 30), Limit.working_days(1), 0, _at(2025, 10, 11, 23)
        )
        assert [(level, moment.astimezone(TZ).date()) for level, moment in points] == [
            (1, date(2025, 9, 30)),
            (2, date(2025, 10, 9)),
            (3, date(2025, 10, 10)),
        ]
        assert following == end_of_day(date(2025, 10, 11))

    def test_only_levels_above_the_last_sent(self) -> None:
        points, _ = escalation_points(
            CALENDAR, date(2025, 9, 30), Limit.working_days(1), 2, _at(2025, 10, 11, 23)
        )
        assert [level for level, _ in points] == [3]

    def test_nothing_before_the_deadline(self) -> None:
        points, following = escalation_points(
            CALENDAR, date(2025, 10, 14), Limit.working_days(5), 0, _at(2025, 10, 14)
        )
        assert points == [] and following == end_of_day(date(2025, 10, 14))

    def test_months_clocks_escalate_each_further_period(self) -> None:
        points, following = escalation_points(
            CALENDAR, date(2025, 10, 9), Limit.months(6), 0, _at(2026, 3, 1)
        )
        assert [level for level, _ in points] == [1]
        assert following.astimezone(TZ).date() == date(2026, 4, 9)

    def test_a_long_gap_is_capped(self) -> None:
        points, following = escalation_points(
            CALENDAR, date(2025, 1, 2), Limit.working_days(1), 0, _at(2026, 1, 1), cap=5
        )
        assert [level for level, _ in points] == [1, 2, 3, 4, 5]
        assert following <= _at(2026, 1, 1)  # the rest wait for the next sweep
