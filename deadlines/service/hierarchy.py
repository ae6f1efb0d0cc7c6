"""Who is above whom (层级): escalation targets, extension approvers and who sees which clocks.

Pure functions, no I/O. The three levels are city (市) → town (镇街) → village (村/社区); a
department (职能部门) answers to the city, a service station (莞家驿站) to its town. A clock records
``scope_town``, the town its unit belongs to (the unit itself for a town), so a town's lists and
a station's or village's escalation need no lookup later. Units, levels and who sees or acts
for which unit are `services.common.scope`'s; this module adds what is the clocks' own.
"""

from __future__ import annotations

from dataclasses import dataclass

from deadlines.errors import InvalidScope, OutOfScope
from services.common import scope
from services.common.auth import Principal
from services.common.scope import CITY, ROLE_OF_UNIT, Unit, parent_of

__all__ = [
    "CITY",
    "Scope",
    "Unit",
    "approver_of",
    "escalation_target",
    "escalations_to_send",
    "may_approve",
    "may_hold",
    "may_see",
    "parent_of",
    "resolve_scope",
    "scope_town_of",
]


def scope_town_of(unit: Unit, appeal_town: str | None = None) -> str | None:
    """The town a clock's unit belongs to (stored on the clock as ``scope_town``): itself for a
    town, its village's (reference data, then the appeal's triaged town, then the code), the
    appeal's for a station, None for departments and the city."""
    return scope.unit_town(unit, appeal_town)


def escalation_target(unit: Unit, scope_town: str | None, level: int) -> Unit:
    """Whom the ``level``-th escalation (督办) of an overdue clock goes to.

    Level 1 is one level up, level 2 two levels up, and so on, stopping at the city: a village's
    clock goes to its town, then to the city, then to the city again at each further period.
    """
    if level < 1:
        raise ValueError(f"escalation levels start at 1, got {level}")
    target = unit
    for _ in range(level):
        if target == CITY:
            break
        target = parent_of(target, scope_town)
    return target


def escalations_to_send(unit: Unit, scope_town: str | None, levels: list[int]) -> list[tuple[int, Unit]]:
    """Which of the levels falling due at once to send, each with its target.

    Normally one level falls per sweep. After a gap (the sweep was down, or an event arrived
    late) several may: each change of target is sent, so the chain to the city is complete,
    but repeated escalations to the same unit collapse into the latest one.
    """
    targets = [(level, escalation_target(unit, scope_town, level)) for level in levels]
    return [
        (level, target)
        for index, (level, target) in enumerate(targets)
        if index == len(targets) - 1 or targets[index + 1][1] != target
    ]


def approver_of(unit: Unit, scope_town: str | None) -> Unit:
    """The unit that approves an extension (延期审批): one level up; the city approves its own."""
    return parent_of(unit, scope_town)


def may_hold(principal: Principal, unit: Unit) -> bool:
    """Whether the principal acts for the unit that holds a clock (to ask for an extension)."""
    return scope.acts_for(principal, unit)


def may_approve(principal: Principal, approver: Unit) -> bool:
    """Whether the principal acts for the approving unit: exactly that level, not any higher one."""
    return scope.acts_for(principal, approver)


def may_see(principal: Principal, unit: Unit, scope_town: str | None) -> bool:
    """Whether the principal sees a unit's clocks: the city all, a town its own and its villages'
    and stations', any other unit its own."""
    return scope.sees_unit(principal, unit, scope_town)


@dataclass(frozen=True)
class Scope:
    """Which clocks a list covers: one unit's, a town's (with its villages and stations), or all."""

    unit: Unit | None = None
    town: str | None = None


def resolve_scope(actor: Principal | None, unit_type: str | None, unit_code: str | None) -> Scope:
    """The scope of a list the caller asks for, narrowed to what the caller may see.

    No unit named: the caller's own scope (the city all, a town its own, any other unit itself).
    A unit named: it must lie in the caller's scope (403 ``out_of_scope``); a town's request is
    also held to its town in the query itself, for units whose town only the clock knows.
    """
    if (unit_type is None) != (unit_code is None) or (
        unit_type is not None and unit_type not in ROLE_OF_UNIT
    ):
        raise InvalidScope(unit_type=unit_type, unit_code=unit_code)
    unit = Unit(unit_type, unit_code) if unit_type is not None else None
    if actor is None or scope.sees_everything(actor):
        return Scope(unit)
    if actor.role == "town_staff":
        if unit is not None:
            town = scope.unit_town(unit)
            if unit.type in ("city", "department") or (town is not None and town != actor.org_code):
                raise OutOfScope(unit_type=unit.type, unit_code=unit.code)
        return Scope(unit, town=actor.org_code)
    own = Unit(actor.org_type, actor.org_code)
    if unit is not None and unit != own:
        raise OutOfScope(unit_type=unit.type, unit_code=unit.code)
    return Scope(own)
