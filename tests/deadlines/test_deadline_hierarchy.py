"""Who is above whom: escalation targets, extension approvers, who sees which clocks (pure)."""

from __future__ import annotations

import pytest

from deadlines.errors import InvalidScope, OutOfScope
from deadlines.service.hierarchy import (
    CITY,
    Scope,
    Unit,
    approver_of,
    escalation_target,
    escalations_to_send,
    may_approve,
    may_hold,
    may_see,
    resolve_scope,
    scope_town_of,
)
from tests.fixtures import staff

TOWN, VILLAGE = "441900121000", "441900121001"  # 虎门, 北栅社区


class TestScopeTown:
    def test_a_village_belongs_to_its_town(self) -> None:
        assert scope_town_of(Unit("village", VILLAGE)) == TOWN

    def test_an_unlisted_village_takes_the_appeals_town_then_its_code(self) -> None:
        assert scope_town_of(Unit("village", "441900121999"), "441900003000") == "441900003000"
        assert scope_town_of(Unit("village", "441900121999")) == TOWN
        assert scope_town_of(Unit("village", "nowhere")) is None

    def test_a_station_takes_the_appeals_town(self) -> None:
        assert scope_town_of(Unit("station", "HM-01"), TOWN) == TOWN
        assert scope_town_of(Unit("station", "HM-01")) is None

    def test_towns_are_their_own_and_the_rest_have_none(self) -> None:
        assert scope_town_of(Unit("town", TOWN)) == TOWN
        assert scope_town_of(Unit("department", "health"), TOWN) is None
        assert scope_town_of(CITY, TOWN) is None


class TestEscalation:
    @pytest.mark.parametrize(
        ("unit", "town", "chain"),
        [
            (Unit("village", VILLAGE), TOWN, [Unit("town", TOWN), CITY, CITY]),
            (Unit("station", "HM-01"), TOWN, [Unit("town", TOWN), CITY, CITY]),
            (Unit("station", "HM-01"), None, [CITY, CITY, CITY]),
            (Unit("department", "health"), None, [CITY, CITY, CITY]),
            (Unit("town", TOWN), TOWN, [CITY, CITY, CITY]),
            (CITY, None, [CITY, CITY, CITY]),
        ],
    )
    def test_chains(self, unit: Unit, town: str | None, chain: list[Unit]) -> None:
        assert [escalation_target(unit, town, level) for level in (1, 2, 3)] == chain

    def test_levels_start_at_one(self) -> None:
        with pytest.raises(ValueError):
            escalation_target(CITY, None, 0)

    def test_normally_one_level_at_a_time(self) -> None:
        assert escalations_to_send(Unit("village", VILLAGE), TOWN, [2]) == [(2, CITY)]

    def test_a_late_sweep_sends_each_change_of_target_and_the_latest(self) -> None:
        village = Unit("village", VILLAGE)
        assert escalations_to_send(village, TOWN, [1, 2, 3, 4]) == [(1, Unit("town", TOWN)), (4, CITY)]
        assert escalations_to_send(Unit("department", "x"), None, [1, 2, 3]) == [(3, CITY)]
        assert escalations_to_send(village, TOWN, []) == []


class TestExtensions:
    def test_approved_one_level_up(self) -> None:
        assert approver_of(Unit("village", VILLAGE), TOWN) == Unit("town", TOWN)
        assert approver_of(Unit("station", "HM-01"), TOWN) == Unit("town", TOWN)
        assert approver_of(Unit("town", TOWN), TOWN) == CITY
        assert approver_of(Unit("department", "health"), None) == CITY
        assert approver_of(CITY, None) == CITY

    def test_only_that_level_approves(self) -> None:
        town = Unit("town", TOWN)
        assert may_approve(staff("town_staff", TOWN), town)
        assert not may_approve(staff("town_staff", "441900003000"), town)
        assert not may_approve(staff("city_admin"), town)  # not one level up
        assert not may_approve(staff("village_staff", VILLAGE), town)
        assert may_approve(staff("city_admin"), CITY)
        assert not may_approve(staff("auditor"), CITY)

    def test_only_the_holder_asks(self) -> None:
        village = Unit("village", VILLAGE)
        assert may_hold(staff("village_staff", VILLAGE), village)
        assert not may_hold(staff("town_staff", TOWN), village)
        assert may_hold(staff("department_staff", "health"), Unit("department", "health"))


class TestSeeing:
    def test_who_sees_which_clocks(self) -> None:
        village = Unit("village", VILLAGE)
        assert may_see(staff("city_admin"), village, TOWN) and may_see(staff("auditor"), village, TOWN)
        assert may_see(staff("town_staff", TOWN), village, TOWN)
        assert not may_see(staff("town_staff", "441900003000"), village, TOWN)
        assert may_see(staff("village_staff", VILLAGE), village, TOWN)
        assert not may_see(staff("village_staff", "441900121002"), village, TOWN)
        assert not may_see(staff("department_staff", "health"), village, TOWN)

    def test_default_scopes(self) -> None:
        assert resolve_scope(None, None, None) == Scope()
        assert resolve_scope(staff("city_admin"), None, None) == Scope()
        assert resolve_scope(staff("town_staff", TOWN), None, None) == Scope(town=TOWN)
        assert resolve_scope(staff("village_staff", VILLAGE), None, None) == Scope(Unit("village", VILLAGE))

    def test_named_units(self) -> None:
        assert resolve_scope(staff("town_staff", TOWN), "village", VILLAGE) == Scope(
            Unit("village", VILLAGE), TOWN
        )
        assert resolve_scope(staff("town_staff", TOWN), "station", "X") == Scope(Unit("station", "X"), TOWN)
        for unit_type, code in (
            ("village", "441900003001"),
            ("town", "441900003000"),
            ("department", "health"),
        ):
            with pytest.raises(OutOfScope):
                resolve_scope(staff("town_staff", TOWN), unit_type, code)
        with pytest.raises(OutOfScope):
            resolve_scope(staff("station_staff", "A"), "station", "B")

    @pytest.mark.parametrize(("unit_type", "code"), [("village", None), (None, VILLAGE), ("planet", "x")])
    def test_half_a_unit(self, unit_type: str | None, code: str | None) -> None:
        with pytest.raises(InvalidScope):
            resolve_scope(staff("city_admin"), unit_type, code)
