"""Who may see and act on an appeal (DESIGN §7): a village its own, a town its villages, the city all.

Three questions, answered by pure functions:
- **scope** (`can_see`): is the appeal inside the member of staff's organisation?
- **role** (`may_move`, `may`): does their role carry this command? (`COMMAND_ROLES`)
- **identity** (`identity_view`, `may_reveal`): what of the reporter may they see — 保密: the unit an
  appeal complains about sees nothing of a confidential reporter, units below the town see masks,
  and a full phone or ID number only ever leaves through an audited reveal.
"""

from __future__ import annotations

from typing import Literal

from intake.models import Appeal, Reporter
from services.common import scope
from services.common.auth import Principal, Role

HANDLERS: frozenset[Role] = frozenset(
    {"city_admin", "town_staff", "village_staff", "department_staff", "station_staff"}
)
RETURN_VISITORS: frozenset[Role] = frozenset({"city_admin", "town_staff", "village_staff"})
DECIDERS: frozenset[Role] = frozenset({"city_admin", "town_staff"})
COMMUNITY: frozenset[Role] = frozenset({"city_admin", "town_staff", "village_staff"})

# Which roles carry a move to each state (scope is checked as well). A send-back (退单) and a
# sign-off (签收) are routing's commands; intake projects them, and staff may also start work
# themselves (approved/reopened -> in_progress).
TARGET_ROLES: dict[str, frozenset[Role]] = {
    "received": HANDLERS,  # only as a resume from hold
    "triaged": DECIDERS,  # manual triage, or re-triage after a send-back
    "consulting": COMMUNITY,
    "approved": COMMUNITY,  # the community's decision, recorded by its staff
    "in_progress": HANDLERS,
    "completed": HANDLERS,
    "closed": RETURN_VISITORS,  # only with the return visit (the close command)
    "reopened": DECIDERS,
    "on_hold": HANDLERS,
    "returned": frozenset(),  # 退单 is routing's command; intake projects appeal.returned
    "rejected": DECIDERS,
    "merged": COMMUNITY,  # through the duplicates commands
    "withdrawn": HANDLERS,  # at the resident's request; the resident may withdraw themselves
}
# Commands that are not moves.
COMMAND_ROLES: dict[str, frozenset[Role]] = {
    "duplicates": COMMUNITY,
    "withhold": DECIDERS,
    "complained_unit": DECIDERS,
    "archive": frozenset({"city_admin", "town_staff", "auditor"}),
    "archive_export": frozenset({"city_admin", "auditor"}),
    "audit": frozenset({"city_admin", "auditor"}),
    "evaluate": RETURN_VISITORS,
}
# Who may ask for a full phone or ID number at all (each time audited, with a reason).
REVEAL_ROLES: frozenset[Role] = frozenset(
    {"city_admin", "town_staff", "village_staff", "department_staff", "station_staff"}
)
CONFIDENTIAL_REVEAL_ROLES: frozenset[Role] = frozenset({"city_admin", "town_staff"})
# Who handles an appeal without needing to know who filed it: a confidential reporter is hidden
# from them (`intake.service.worklist.reporter_hidden` says the same in SQL).
HIDDEN_CONFIDENTIAL_ROLES: frozenset[Role] = frozenset({"department_staff", "station_staff"})


def can_see(principal: Principal, appeal: Appeal) -> bool:
    """Scope by organisation (`services.common.scope`): by area, or by holding for departments
    and stations."""
    return scope.sees_appeal(
        principal, appeal.town_code, appeal.village_code, scope.Unit(appeal.holder_type, appeal.holder_code)
    )


def can_act(principal: Principal, appeal: Appeal) -> bool:
    """Acting needs sight and a role that is not read-only."""
    return not scope.is_read_only(principal) and can_see(principal, appeal)


def may_move(principal: Principal, target: str) -> bool:
    """Whether the role carries a move to `target` (scope aside)."""
    return principal.role in TARGET_ROLES.get(target, frozenset())


def may(principal: Principal, command: str) -> bool:
    """Whether the role carries a command that is not a move."""
    return principal.role in COMMAND_ROLES.get(command, frozenset())


def is_complained_unit(principal: Principal, appeal: Appeal) -> bool:
    """The member of staff belongs to the unit the appeal complains about."""
    return (
        appeal.complained_unit_type is not None
        and principal.org_type == appeal.complained_unit_type
        and principal.org_code == appeal.complained_unit_code
    )


IdentityView = Literal["hidden", "masked"]


def identity_view(principal: Principal, appeal: Appeal, person: Reporter) -> IdentityView:
    """What of a reporter a member of staff sees: nothing, or masks (never the full numbers)."""
    if (person.confidential or person.anonymous) and is_complained_unit(principal, appeal):
        return "hidden"
    if person.confidential and principal.role in HIDDEN_CONFIDENTIAL_ROLES:
        return "hidden"
    return "masked"


def shows_name(principal: Principal, appeal: Appeal, person: Reporter) -> bool:
    """A name shows only for a reporter who is neither anonymous nor confidential."""
    return (
        not (person.anonymous or person.confidential) and identity_view(principal, appeal, person) == "masked"
    )


def may_reveal(principal: Principal, appeal: Appeal, person: Reporter) -> bool:
    """Whether a full phone / ID number / name may be revealed (the reveal is audited)."""
    if principal.role not in REVEAL_ROLES or not can_act(principal, appeal):
        return False
    if is_complained_unit(principal, appeal):
        return False
    if person.confidential or person.anonymous:
        return principal.role in CONFIDENTIAL_REVEAL_ROLES
    return True
