"""The scope rules the gateway asks of `services.common.scope` before forwarding: which village lies
in which town, what a town's staff see, who moves or reads which money, whose clocks a list may name."""

from __future__ import annotations

import pytest

from services.common.auth import Principal, Role
from services.common.errors import Forbidden
from services.common.scope import Unit, lies_in_town, town_sees
from services.gateway.api.deadlines import check_unit
from services.gateway.errors import DeadlinesOutOfScope, FundsOutOfScope, ReadOnly
from services.gateway.service.ledger_scope import may_act, may_read, require_act, require_read

HUMEN, BEIZHA = "441900121000", "441900121001"  # 虎门镇, 北栅社区 (in the reference data)
CHANGAN, CHANGAN_VILLAGE = "441900119000", "441900119001"
# A town and village the shipped reference subset does not list: their codes still nest.
UNLISTED_TOWN, UNLISTED_VILLAGE = "441900987000", "441900987201"


def who(role: Role, org_type: str, org_code: str) -> Principal:
    return Principal(staff_id="s-1", username="u", role=role, org_type=org_type, org_code=org_code)


CITY = who("city_admin", "city", "city")
AUDITOR = who("auditor", "city", "city")
TOWN = who("town_staff", "town", HUMEN)
VILLAGE = who("village_staff", "village", BEIZHA)
DEPARTMENT = who("department_staff", "department", "civil_affairs")
STATION = who("station_staff", "station", "ST-HM-001")


def test_a_listed_village_lies_in_its_own_town_only() -> None:
    assert lies_in_town(BEIZHA, HUMEN)
    assert not lies_in_town(BEIZHA, CHANGAN)
    assert lies_in_town(CHANGAN_VILLAGE, CHANGAN)


def test_an_unlisted_village_lies_in_the_town_its_code_extends() -> None:
    assert lies_in_town(UNLISTED_VILLAGE, UNLISTED_TOWN)
    assert not lies_in_town(UNLISTED_VILLAGE, HUMEN)
    # Not a twelve-digit area code: in no town.
    assert not lies_in_town("441900987", UNLISTED_TOWN)
    assert not lies_in_town("ST-987-001", UNLISTED_TOWN)


def test_a_town_sees_itself_and_its_villages_nothing_else() -> None:
    assert town_sees(TOWN, Unit("town", HUMEN))
    assert town_sees(TOWN, Unit("village", BEIZHA))
    assert not town_sees(TOWN, Unit("town", CHANGAN))
    assert not town_sees(TOWN, Unit("village", CHANGAN_VILLAGE))
    assert not town_sees(TOWN, Unit("city", "city"))
    assert not town_sees(TOWN, Unit("department", "civil_affairs"))
    # Only town staff see as a town.
    assert not town_sees(VILLAGE, Unit("village", BEIZHA))
    assert not town_sees(CITY, Unit("town", HUMEN))


@pytest.mark.parametrize(
    ("principal", "holder", "acts", "reads"),
    [
        (CITY, ("city", "441900000000"), True, True),
        (CITY, ("village", CHANGAN_VILLAGE), True, True),
        (AUDITOR, ("town", HUMEN), False, True),
        (AUDITOR, ("project", "appeal-1"), False, True),
        (TOWN, ("town", HUMEN), True, True),
        (TOWN, ("village", BEIZHA), False, True),
        (TOWN, ("town", CHANGAN), False, False),
        (TOWN, ("village", CHANGAN_VILLAGE), False, False),
        (TOWN, ("city", "441900000000"), False, False),
        (VILLAGE, ("village", BEIZHA), True, True),
        (VILLAGE, ("town", HUMEN), False, False),
        (VILLAGE, ("village", "441900121002"), False, False),
        (DEPARTMENT, ("town", HUMEN), False, False),
        (STATION, ("village", BEIZHA), False, False),
    ],
)
def test_money_scope(principal: Principal, holder: tuple[str, str], acts: bool, reads: bool) -> None:
    assert may_act(principal, holder) is acts
    assert may_read(principal, holder) is reads


def test_money_refusals_say_why() -> None:
    with pytest.raises(ReadOnly):
        require_act(AUDITOR, ("town", HUMEN))
    with pytest.raises(FundsOutOfScope) as refused:
        require_act(TOWN, ("town", CHANGAN))
    assert refused.value.code == "out_of_scope" and isinstance(refused.value, Forbidden)
    with pytest.raises(FundsOutOfScope):
        require_read(VILLAGE, ("village", "441900121002"))
    require_read(TOWN, ("village", UNLISTED_VILLAGE.replace("987", "121")))


@pytest.mark.parametrize(
    ("principal", "unit_type", "unit_code", "allowed"),
    [
        (TOWN, None, None, True),
        (TOWN, "town", HUMEN, True),
        (TOWN, "village", BEIZHA, True),
        (TOWN, "station", "ST-ANY", True),  # which town a station is in only the service knows
        (TOWN, "town", CHANGAN, False),
        (TOWN, "village", CHANGAN_VILLAGE, False),
        (TOWN, "city", "city", False),
        (TOWN, "department", "civil_affairs", False),
        (VILLAGE, "village", BEIZHA, True),
        (VILLAGE, "village", "441900121002", False),
        (VILLAGE, "town", HUMEN, False),
        (DEPARTMENT, "department", "civil_affairs", True),
        (DEPARTMENT, "department", "health", False),
        (STATION, "station", "ST-HM-001", True),
        (STATION, "station", "ST-HM-002", False),
        (CITY, "village", CHANGAN_VILLAGE, True),
        (AUDITOR, "department", "health", True),
    ],
)
def test_deadline_lists_name_only_units_in_scope(
    principal: Principal, unit_type: str | None, unit_code: str | None, allowed: bool
) -> None:
    if allowed:
        check_unit(principal, unit_type, unit_code)
    else:
        with pytest.raises(DeadlinesOutOfScope):
            check_unit(principal, unit_type, unit_code)
