"""Who may see and act on an appeal (DESIGN §7): a village its own, a town its villages, the city all."""

from __future__ import annotations

from intake.models import Appeal
from services.common.auth import Principal

READ_ONLY_ROLES = frozenset({"auditor"})


def can_see(principal: Principal, appeal: Appeal) -> bool:
    """Scope by organisation."""
    match principal.role:
        case "city_admin" | "auditor":
            return True
        case "town_staff":
            return appeal.town_code == principal.org_code
        case "village_staff":
            return appeal.village_code == principal.org_code
        case "department_staff":
            return appeal.holder_type == "department" and appeal.holder_code == principal.org_code
        case "station_staff":
            return appeal.holder_type == "station" and appeal.holder_code == principal.org_code
    return False


def can_act(principal: Principal, appeal: Appeal) -> bool:
    """Acting needs sight and a role that is not read-only."""
    return principal.role not in READ_ONLY_ROLES and can_see(principal, appeal)
