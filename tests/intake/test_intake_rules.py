"""Intake's pure rules: who may do what, what a fact counts, KPI arithmetic, redaction, LSH keys."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from intake.models import Appeal, Reporter
from intake.service import access
from intake.service.duplicates import lsh, scorer
from intake.service.duplicates.scorer import score
from intake.service.duplicates.similarity import analyse
from intake.service.lifecycle import MERGEABLE, STATUSES, can_move, can_unmerge
from intake.service.privacy import redact_text
from intake.service.stats import kpi
from intake.service.stats.cells import Facts, cells
from intake.service.stats.demand import is_repeat_place, is_rising
from services.common.auth import Principal


def who(role: str, org_type: str, org_code: str) -> Principal:
    return Principal(staff_id="s", username="u", role=role, org_type=org_type, org_code=org_code)


def appeal(**fields: object) -> Appeal:
    base = {
        "town_code": "441900121000",
        "village_code": "441900121001",
        "holder_type": None,
        "holder_code": None,
    }
    base |= {"complained_unit_type": None, "complained_unit_code": None}
    return Appeal(**(base | fields))


def person(**fields: object) -> Reporter:
    return Reporter(
        **({"relation": "reporter", "anonymous": False, "confidential": False, "role": "resident"} | fields)
    )


class TestAccess:
    def test_every_state_has_a_role_rule(self) -> None:
        assert set(access.TARGET_ROLES) == set(STATUSES)
        assert "auditor" not in set().union(*access.TARGET_ROLES.values())

    def test_send_back_is_routings_and_triage_the_towns(self) -> None:
        assert access.TARGET_ROLES["returned"] == frozenset()
        assert not access.may_move(who("village_staff", "village", "x"), "triaged")
        assert access.may_move(who("town_staff", "town", "x"), "triaged")

    def test_the_complained_unit_never_sees_a_confidential_reporter(self) -> None:
        a = appeal(complained_unit_type="village", complained_unit_code="441900121001")
        secret = person(confidential=True, name="陈某")
        village = who("village_staff", "village", "441900121001")
        town = who("town_staff", "town", "441900121000")
        assert access.identity_view(village, a, secret) == "hidden"
        assert not access.may_reveal(village, a, secret)
        assert access.identity_view(town, a, secret) == "masked" and not access.shows_name(town, a, secret)
        assert access.may_reveal(town, a, secret)
        assert not access.may_reveal(who("auditor", "city", "city"), a, secret)

    def test_a_plain_reporter_may_be_revealed_to_the_handling_unit(self) -> None:
        a = appeal(holder_type="department", holder_code="civil_affairs")
        dept = who("department_staff", "department", "civil_affairs")
        assert access.may_reveal(dept, a, person()) and access.shows_name(dept, a, person(name="李四"))
        assert access.identity_view(dept, a, person(confidential=True)) == "hidden"


class TestLifecycleAdditions:
    def test_consultation_can_be_sent_back_and_linked(self) -> None:
        assert can_move("consulting", "returned") and can_move("consulting", "merged")

    def test_only_a_mergeable_state_comes_back_from_a_link(self) -> None:
        for status in STATUSES:
            assert can_unmerge("merged", status) == (status in MERGEABLE)
        assert not can_unmerge("closed", "received") and not can_unmerge("merged", None)


class TestCounting:
    FACTS = Facts(
        "hotline_12345",
        "micro_wish",
        "medical",
        "441900121000",
        "441900121001",
        "department",
        "civil_affairs",
    )

    def test_a_fact_touches_a_bounded_set_of_cells(self) -> None:
        out = cells(self.FACTS, date(2026, 11, 27), shards=8, rng=random.Random(1))
        # day: 4 scopes × all; month and year: 4 scopes × 4 dimensions.
        assert len(out) == 4 + 2 * 4 * 4
        assert out == sorted(out) and len(set(out)) == len(out)
        assert {c.shard for c in out if c.scope_type in ("village", "unit")} == {0}
        assert len({c.shard for c in out if c.scope_type in ("city", "town")}) == 1
        assert ("m", date(2026, 11, 1), "unit", "department:civil_affairs", "category", "medical") in {
            (c.period, c.period_start, c.scope_type, c.scope_code, c.dim, c.dim_value) for c in out
        }

    def test_what_moves_count(self) -> None:
        assert kpi.transition_deltas("completed", round_no=1, returns_count=0, first_completion_s=86400) == {
            "completed": 1,
            "completed_first": 1,
            "handling_seconds": 86400,
        }
        assert kpi.transition_deltas("completed", round_no=2, returns_count=0) == {
            "completed": 1,
            "completed_redone": 1,
        }
        assert kpi.transition_deltas("closed", round_no=1, returns_count=1, unrated=True) == {
            "closed": 1,
            "closed_unrated": 1,
        }
        assert kpi.transition_deltas("closed", round_no=1, returns_count=0) == {
            "closed": 1,
            "closed_first_time": 1,
        }
        assert kpi.evaluation_deltas("partly", "basically_satisfied") == {
            "evaluated": 1,
            "partly_resolved": 1,
            "basically_satisfied": 1,
        }

    def test_kpis(self) -> None:
        c = {
            "received": 10,
            "duplicates": 2,
            "signoff_due": 4,
            "signoff_on_time": 3,
            "handling_due": 5,
            "handling_on_time": 4,
            "resolved": 3,
            "partly_resolved": 1,
            "satisfied": 2,
            "basically_satisfied": 1,
            "dissatisfied": 1,
            "closed": 4,
            "closed_first_time": 3,
            "completed_first": 2,
            "handling_seconds": 3 * 86400,
            "funds_donation": 500,
        }
        k = kpi.kpis(c)
        assert (k["response_rate"], k["on_time_rate"], k["resolution_rate"]) == (0.75, 0.8, 0.75)
        assert (k["satisfaction_rate"], k["first_time_rate"], k["duplicate_rate"]) == (0.75, 0.75, 0.2)
        assert k["average_handling_days"] == 1.5
        assert kpi.kpis({})["satisfaction_rate"] is None
        assert kpi.funds(c)["donation"] == 500 and kpi.fund_metric("lottery") == "funds_other"

    @given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
    def test_a_rate_is_a_share(self, numerator: int, denominator: int) -> None:
        r = kpi.rate(numerator, denominator)
        assert r is None if denominator == 0 else 0 <= r <= 1  # type: ignore[operator]


class TestDemand:
    def test_rising_and_repeat_rules(self) -> None:
        assert is_rising(4, 1) and is_rising(3, 0) and not is_rising(2, 0) and not is_rising(9, 8)
        assert is_repeat_place(9, 8, 0, 0) and is_repeat_place(1, 0, 1, 1) and not is_repeat_place(2, 0, 1, 0)


class TestPrivacy:
    def test_numbers_names_and_people_are_masked(self) -> None:
        text = (
            "我是陈小明，电话139 1234 5678，座机0769-22221234，身份证441900198503151238，邻居李阿婆也知道。"
        )
        out = redact_text(text, ["陈小明"], people=True) or ""
        for secret in ("陈小明", "13912345678", "1234 5678", "22221234", "441900198503151238", "李阿婆"):
            assert secret not in out
        assert "139****5678" in out and "陈**" in out and "李**" in out

    def test_ordinary_numbers_stay(self) -> None:
        assert redact_text("东方路12号，坏了3盏灯，约2000元") == "东方路12号，坏了3盏灯，约2000元"


class TestRetrieval:
    def test_keys_are_stable_and_scoped(self) -> None:
        a = analyse(None, "东方路的路灯坏了", None, town_code="441900121000", village_code="441900121001")
        b = analyse(None, "东方路的路灯坏了", None, town_code="441900119000", village_code="441900119001")
        now = datetime(2026, 12, 6, tzinfo=UTC)
        assert lsh.keys(a, now) == lsh.keys(a, now) and lsh.may_meet(a, a)
        assert not lsh.may_meet(a, b)  # the same words in another town are never even compared
        assert not lsh.may_meet(a, a, gap=timedelta(days=45))  # nor outside the 30-day window
        assert score(a, a).score >= scorer.model().link_at

    def test_neighbouring_cells_meet(self) -> None:
        a = analyse(None, "井盖缺失", None, lat=22.85249, lng=113.68)
        b = analyse(None, "井盖不见了", None, lat=22.85251, lng=113.68)
        assert lsh.may_meet(a, b) and lsh.may_meet(b, a)
