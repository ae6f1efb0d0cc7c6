"""Helpers every routing service uses: who may act where, which units exist, events out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import UnknownUnit
from routing.models import Station, messaging
from services.common.auth import Principal, Role
from services.common.errors import Forbidden
from services.common.messaging import emit
from services.common.reference import load_reference
from services.contracts.events import Event

UNIT_TYPES = ("city", "town", "village", "department", "station")


async def publish(session: AsyncSession, *events: Event) -> None:
    """Write events to routing's outbox in the caller's transaction."""
    await emit(session, messaging, *events)


def require_roles(principal: Principal, *roles: Role) -> None:
    """Refuse other roles."""
    if principal.role not in roles:
        raise Forbidden()


def town_of_principal(principal: Principal) -> str | None:
    """The town a member of staff works in (a village's town), or None for the city."""
    if principal.org_type == "town":
        return principal.org_code
    if principal.org_type == "village":
        village = load_reference().village_by_code(principal.org_code)
        return village.town_code if village else None
    return None


def may_decide_for(principal: Principal, level: str, town_code: str | None) -> bool:
    """Who decides a town's routing questions: its town staff, and the city over everything."""
    if principal.role == "city_admin":
        return True
    return principal.role == "town_staff" and level == "town" and principal.org_code == town_code


def require_decider(principal: Principal, level: str, town_code: str | None) -> None:
    """Refuse anyone but the town's staff (town level) or the city's (any level)."""
    if not may_decide_for(principal, level, town_code):
        raise Forbidden()


def may_see_town(principal: Principal, town_code: str | None) -> bool:
    """City roles see every town; town and village staff their own."""
    if principal.role in ("city_admin", "auditor"):
        return True
    return town_code is not None and town_of_principal(principal) == town_code


def may_act_for(principal: Principal, town_code: str | None, village_code: str | None) -> bool:
    """Who may act (confirm work, fulfilment) for an appeal of a place: the city, the town's staff,
    and a village's staff for their own village only, never a neighbour's in the same town."""
    if principal.org_type == "village":
        return village_code is not None and village_code == principal.org_code
    return may_see_town(principal, town_code)


async def check_unit(session: AsyncSession, unit_type: str, unit_code: str) -> None:
    """The unit must exist: a town, a village, a department, an active station, or the city."""
    ref = load_reference()
    ok = {
        "city": lambda: unit_code == "city",
        "town": lambda: ref.town_by_code(unit_code) is not None,
        "village": lambda: ref.village_by_code(unit_code) is not None,
        "department": lambda: ref.department_by_code(unit_code) is not None,
    }.get(unit_type)
    if ok is not None:
        if ok():
            return
        raise UnknownUnit(f"找不到承办单位：{unit_type}:{unit_code}")
    if unit_type == "station":
        found = await session.scalar(select(Station.code).where(Station.code == unit_code, Station.active))
        if found is not None:
            return
    raise UnknownUnit(f"找不到承办单位：{unit_type}:{unit_code}")


def unit_name(unit_type: str, unit_code: str) -> str:
    """A unit's Chinese name for explanations and reports."""
    ref = load_reference()
    if unit_type == "town" and (town := ref.town_by_code(unit_code)):
        return town.full_name
    if unit_type == "village" and (village := ref.village_by_code(unit_code)):
        return village.name
    if unit_type == "department" and (dept := ref.department_by_code(unit_code)):
        return dept.name
    if unit_type == "city":
        return "东莞市"
    return unit_code
