"""Who sees and acts for which unit (管辖范围): the one place where organisation scope is decided.

Pure functions over the reference data, no I/O of their own (DESIGN §7):
- the levels are city (市) → town (镇街) → village (村/社区); a department (职能部门) answers to the
  city and a service station (莞家驿站) to its town;
- a village sees its own, a town its villages' and stations', the city and auditors everything;
  departments and stations see what they hold;
- acting needs a role that is not read-only (an auditor only reads) and the unit's own role.

Every service and the gateway ask these questions here, so a rule changes in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from services.common.auth import Principal
from services.common.reference import load_reference
from services.contracts.vocabulary import Role, UnitType

CITY_CODE: Final = "city"
READ_ONLY_ROLES: Final[frozenset[Role]] = frozenset({"auditor"})
CITY_WIDE_ROLES: Final[frozenset[Role]] = frozenset({"city_admin", "auditor"})
# The staff role that acts for each kind of unit (DESIGN §10 roles).
ROLE_OF_UNIT: Final[dict[UnitType, Role]] = {
    "city": "city_admin",
    "town": "town_staff",
    "village": "village_staff",
    "department": "department_staff",
    "station": "station_staff",
}
_TWELVE_DIGITS = re.compile(r"^\d{12}$")
# A village code is its town's first nine digits and three of its own (DESIGN §7 codes).
VILLAGE_PREFIX_LEN: Final = 9


@dataclass(frozen=True)
class Unit:
    """A unit (单位): who holds an appeal, a clock or money, or who receives an escalation."""

    type: str | None
    code: str | None

    def label(self) -> str:
        """``type:code``, for logs and problem details."""
        return f"{self.type}:{self.code}"


CITY: Final = Unit("city", CITY_CODE)


def town_of_village(code: str | None) -> str | None:
    """The town a village code belongs to: from the reference data, else from the code itself.

    Village codes extend their town's (441900121001 lies in 441900121000), so a village the
    reference data does not list yet still falls in the right town when that town is known.
    """
    if not code:
        return None
    village = load_reference().village_by_code(code)
    if village is not None:
        return village.town_code
    if _TWELVE_DIGITS.match(code):
        town = town_code_of_village(code)
        if load_reference().town_by_code(town) is not None:
            return town
    return None


def village_prefix(town_code: str) -> str:
    """What every village code of a town starts with (its first nine digits), for prefix queries."""
    return town_code[:VILLAGE_PREFIX_LEN]


def town_code_of_village(village_code: str) -> str:
    """The town code a village code extends, by the code alone (441900121001 → 441900121000)."""
    return village_prefix(village_code) + "000"


def village_in_town(village_code: str, town_code: str) -> bool:
    """Whether a village code extends a town's, by the codes alone."""
    return village_code.startswith(village_prefix(town_code))


def town_of(principal: Principal) -> str | None:
    """The town a member of staff works in (a village's town), or None above or beside the towns."""
    if principal.org_type == "town":
        return principal.org_code
    if principal.org_type == "village":
        return town_of_village(principal.org_code)
    return None


def is_read_only(principal: Principal) -> bool:
    """Auditors read; they never act."""
    return principal.role in READ_ONLY_ROLES


def sees_everything(principal: Principal) -> bool:
    """City admins and auditors see the whole city."""
    return principal.role in CITY_WIDE_ROLES


def acts_for(principal: Principal, unit: Unit) -> bool:
    """The principal is a member of exactly this unit, in the role that acts for it."""
    return (
        unit.type in ROLE_OF_UNIT
        and principal.role == ROLE_OF_UNIT[unit.type]
        and principal.org_type == unit.type
        and principal.org_code == unit.code
    )


def sees_town(principal: Principal, town_code: str | None) -> bool:
    """The city sees every town; town staff and a village's staff the town they work in."""
    if sees_everything(principal):
        return True
    return town_code is not None and town_of(principal) == town_code


def sees_place(principal: Principal, town_code: str | None, village_code: str | None) -> bool:
    """Whether a place (an appeal's town and village) lies in the principal's area.

    The city sees all; a town its own; a village only itself, never a neighbour in the same town.
    Departments and stations have no area: they see what they hold (:func:`sees_holding`).
    """
    if sees_everything(principal):
        return True
    if principal.org_type == "town":
        return town_code is not None and town_code == principal.org_code
    if principal.org_type == "village":
        return village_code is not None and village_code == principal.org_code
    return False


def sees_holding(principal: Principal, holder: Unit) -> bool:
    """Whether the principal's own unit holds something (departments and stations see this way)."""
    return holder.type is not None and principal.org_type == holder.type and principal.org_code == holder.code


def sees_appeal(
    principal: Principal,
    town_code: str | None,
    village_code: str | None,
    holder: Unit,
) -> bool:
    """Whether an appeal is in scope: by area for the city, towns and villages; by holding for
    departments and stations (DESIGN §7)."""
    if principal.org_type in ("department", "station"):
        return sees_holding(principal, holder)
    return sees_place(principal, town_code, village_code)


def sees_unit(principal: Principal, unit: Unit, scope_town: str | None = None) -> bool:
    """Whether the principal sees a unit's affairs (its clocks, its money): the city all, a town
    its own and its villages' and stations', any other unit only itself.

    ``scope_town`` is the town the unit belongs to where the caller already knows it (a station's
    town is not in its code); for villages it is derived from the reference data.
    """
    if sees_everything(principal):
        return True
    if principal.role == "town_staff":
        town = unit.code if unit.type == "town" else (scope_town or unit_town(unit))
        return town is not None and town == principal.org_code
    return acts_for(principal, unit)


def unit_town(unit: Unit, hint: str | None = None) -> str | None:
    """The town a unit lies in: itself for a town; a village's from the reference data, else the
    ``hint`` (an appeal's triaged town), else from its code; a station's is the hint (stations
    serve their own town). Departments and the city lie in no town.
    """
    if unit.type == "town":
        return unit.code
    if unit.type == "village":
        if unit.code and load_reference().village_by_code(unit.code) is not None:
            return town_of_village(unit.code)
        return hint or town_of_village(unit.code)
    if unit.type == "station":
        return hint
    return None


def parent_of(unit: Unit, scope_town: str | None) -> Unit:
    """One level up: village and station → their town (the city when unknown); the rest → city."""
    if unit.type in ("village", "station") and scope_town:
        return Unit("town", scope_town)
    return CITY


def lies_in_town(village_code: str, town_code: str) -> bool:
    """Whether a village lies in a town: by the reference data where it lists the village, else by
    the code (a village code extends its town's first nine digits). The ledger and the deadline
    lists name units by area code, and hold accounts and clocks of villages the shipped subset of
    the reference data does not list yet."""
    village = load_reference().village_by_code(village_code)
    if village is not None:
        return village.town_code == town_code
    return bool(_TWELVE_DIGITS.match(village_code)) and village_code[:9] == town_code[:9]


def town_sees(principal: Principal, unit: Unit) -> bool:
    """Whether a town's staff see a town or village unit: their own town and its villages
    (:func:`lies_in_town`); any other unit, no."""
    if principal.role != "town_staff" or unit.code is None:
        return False
    if unit.type == "town":
        return unit.code == principal.org_code
    return unit.type == "village" and lies_in_town(unit.code, principal.org_code)
