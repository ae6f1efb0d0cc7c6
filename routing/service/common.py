"""Helpers every routing service uses: who may act where, which units exist, events out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import UnknownUnit
from routing.models import Station, messaging
from services.common import scope
from services.common.auth import Principal, Role
from services.common.errors import Forbidden
from services.common.messaging import emit
from services.common.reference import load_reference
from services.contracts.events import Event


async def publish(session: AsyncSession, *events: Event) -> None:
    """Write events to routing's outbox in the caller's transaction."""
    await emit(session, messaging, *events)


def require_roles(principal: Principal, *roles: Role) -> None:
    """Refuse other roles."""
    if principal.role not in roles:
        raise Forbidden()


def may_decide_for(principal: Principal, level: str, town_code: str | None) -> bool:
    """Who decides a town's routing questions: its town staff, and the city over everything."""
    if principal.role == "city_admin":
        return True
    return level == "town" and scope.acts_for(principal, scope.Unit("town", town_code))


def require_decider(principal: Principal, level: str, town_code: str | None) -> None:
    """Refuse anyone but the town's staff (town level) or the city's (any level)."""
    if not may_decide_for(principal, level, town_code):
        raise Forbidden()


def acts_for_town(principal: Principal, town_code: str | None) -> bool:
    """The member of staff is the town's own staff (not a village in it, not the city)."""
    return scope.acts_for(principal, scope.Unit("town", town_code))


def may_act_for(principal: Principal, town_code: str | None, village_code: str | None) -> bool:
    """Who may act (confirm work, fulfilment) for an appeal of a place: the city, the town's staff,
    and a village's staff for their own village only, never a neighbour's in the same town."""
    return scope.sees_place(principal, town_code, village_code)


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
