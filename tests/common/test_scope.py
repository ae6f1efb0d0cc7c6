"""The one scope module (services.common.scope): who sees and acts for which unit (pure)."""

from __future__ import annotations

import pytest

from services.common import scope
from services.common.auth import Role
from services.common.scope import CITY, Unit
from tests.fixtures import staff

TOWN, VILLAGE, NEIGHBOUR = "441900121000", "441900121001", "441900121002"  # 虎门: 北栅, 南栅
OTHER_TOWN, OTHER_VILLAGE = "441900003000", "441900003001"  # 东城: 岗贝
UNLISTED_VILLAGE = "441900121999"  # not in the reference data, but its code extends 虎门's


class TestCodes:
    def test_village_prefix_and_town_by_code(self) -> None:
        assert scope.village_prefix(TOWN) == "441900121"
        assert scope.town_code_of_village(VILLAGE) == TOWN
        assert scope.village_in_town(VILLAGE, TOWN)
        assert not scope.village_in_town(OTHER_VILLAGE, TOWN)

    def test_town_of_village_from_reference_then_code(self) -> None:
        assert scope.town_of_village(VILLAGE) == TOWN
        assert scope.town_of_village(UNLISTED_VILLAGE) == TOWN
        assert scope.town_of_village("nowhere") is None
        assert scope.town_of_village("441900999001") is None  # no such town either
        assert scope.town_of_village(None) is None

    def test_unit_town(self) -> None:
        assert scope.unit_town(Unit("town", TOWN)) == TOWN
        assert scope.unit_town(Unit("village", VILLAGE), OTHER_TOWN) == TOWN  # the reference wins
        assert scope.unit_town(Unit("village", UNLISTED_VILLAGE), OTHER_TOWN) == OTHER_TOWN  # then the hint
        assert scope.unit_town(Unit("village", UNLISTED_VILLAGE)) == TOWN  # then the code
        assert scope.unit_town(Unit("station", "HM-01"), TOWN) == TOWN
        assert scope.unit_town(Unit("station", "HM-01")) is None
        assert scope.unit_town(Unit("department", "health"), TOWN) is None
        assert scope.unit_town(CITY, TOWN) is None

    def test_parent_of(self) -> None:
        assert scope.parent_of(Unit("village", VILLAGE), TOWN) == Unit("town", TOWN)
        assert scope.parent_of(Unit("station", "HM-01"), TOWN) == Unit("town", TOWN)
        assert scope.parent_of(Unit("village", VILLAGE), None) == CITY
        assert scope.parent_of(Unit("town", TOWN), TOWN) == CITY
        assert scope.parent_of(Unit("department", "health"), None) == CITY
        assert Unit("town", TOWN).label() == f"town:{TOWN}"


class TestPrincipal:
    def test_town_of(self) -> None:
        assert scope.town_of(staff("town_staff", TOWN)) == TOWN
        assert scope.town_of(staff("village_staff", VILLAGE)) == TOWN
        assert scope.town_of(staff("city_admin")) is None
        assert scope.town_of(staff("department_staff", "health")) is None

    def test_auditors_read_only_and_see_everything(self) -> None:
        assert scope.is_read_only(staff("auditor"))
        assert not scope.is_read_only(staff("city_admin"))
        assert scope.sees_everything(staff("auditor")) and scope.sees_everything(staff("city_admin"))
        assert not scope.sees_everything(staff("town_staff", TOWN))

    @pytest.mark.parametrize(
        ("role", "org", "unit", "expected"),
        [
            ("town_staff", TOWN, Unit("town", TOWN), True),
            ("town_staff", TOWN, Unit("town", OTHER_TOWN), False),
            ("village_staff", VILLAGE, Unit("village", VILLAGE), True),
            ("village_staff", VILLAGE, Unit("village", NEIGHBOUR), False),
            ("village_staff", VILLAGE, Unit("town", TOWN), False),
            ("city_admin", "city", CITY, True),
            ("auditor", "city", CITY, False),  # an auditor acts for no unit
            ("department_staff", "health", Unit("department", "health"), True),
            ("station_staff", "HM-01", Unit("station", "HM-01"), True),
            ("station_staff", "HM-01", Unit("station", "HM-02"), False),
        ],
    )
    def test_acts_for(self, role: Role, org: str, unit: Unit, expected: bool) -> None:
        assert scope.acts_for(staff(role, org), unit) is expected


class TestSight:
    def test_sees_town(self) -> None:
        assert scope.sees_town(staff("city_admin"), None)
        assert scope.sees_town(staff("auditor"), TOWN)
        assert scope.sees_town(staff("town_staff", TOWN), TOWN)
        assert not scope.sees_town(staff("town_staff", TOWN), OTHER_TOWN)
        assert not scope.sees_town(staff("town_staff", TOWN), None)
        assert scope.sees_town(staff("village_staff", VILLAGE), TOWN)
        assert not scope.sees_town(staff("department_staff", "health"), TOWN)

    def test_sees_place_keeps_neighbours_apart(self) -> None:
        assert scope.sees_place(staff("city_admin"), None, None)
        assert scope.sees_place(staff("town_staff", TOWN), TOWN, NEIGHBOUR)
        assert not scope.sees_place(staff("town_staff", TOWN), OTHER_TOWN, OTHER_VILLAGE)
        assert scope.sees_place(staff("village_staff", VILLAGE), TOWN, VILLAGE)
        assert not scope.sees_place(staff("village_staff", VILLAGE), TOWN, NEIGHBOUR)
        assert not scope.sees_place(staff("village_staff", VILLAGE), TOWN, None)
        assert not scope.sees_place(staff("department_staff", "health"), TOWN, VILLAGE)

    def test_sees_appeal_by_area_or_by_holding(self) -> None:
        held = Unit("department", "health")
        assert scope.sees_appeal(staff("department_staff", "health"), TOWN, VILLAGE, held)
        assert not scope.sees_appeal(staff("department_staff", "hrss"), TOWN, VILLAGE, held)
        assert not scope.sees_appeal(staff("station_staff", "HM-01"), TOWN, VILLAGE, Unit(None, None))
        assert scope.sees_appeal(staff("town_staff", TOWN), TOWN, VILLAGE, held)
        assert not scope.sees_appeal(staff("village_staff", NEIGHBOUR), TOWN, VILLAGE, held)

    def test_sees_holding(self) -> None:
        assert scope.sees_holding(staff("station_staff", "HM-01"), Unit("station", "HM-01"))
        assert not scope.sees_holding(staff("station_staff", "HM-01"), Unit(None, None))

    def test_sees_unit(self) -> None:
        town = staff("town_staff", TOWN)
        assert scope.sees_unit(staff("auditor"), Unit("department", "health"))
        assert scope.sees_unit(town, Unit("town", TOWN))
        assert scope.sees_unit(town, Unit("village", VILLAGE))  # its village, from the reference
        assert scope.sees_unit(town, Unit("station", "HM-01"), TOWN)  # its station, as the clock says
        assert not scope.sees_unit(town, Unit("station", "HM-01"))  # a station's town is not in its code
        assert not scope.sees_unit(town, Unit("village", OTHER_VILLAGE))
        assert not scope.sees_unit(town, Unit("department", "health"))
        assert scope.sees_unit(staff("village_staff", VILLAGE), Unit("village", VILLAGE))
        assert not scope.sees_unit(staff("village_staff", VILLAGE), Unit("village", NEIGHBOUR))
