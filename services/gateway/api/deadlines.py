"""Deadline routes for staff (`/api/v1/deadlines/...`): rows of the gateway's table.

Every route needs a staff token; the principal travels in the service token, and the deadlines
service decides with it. The gateway refuses early what it can tell from the token alone, by the
one scope module (`services.common.scope`):
- due and overdue lists, on-time rates: a unit sees its own, a town its own and its villages'
  (and its stations', which only the deadlines service can tell), the city and auditors all;
- clock tables (时限规则): every member of staff reads them, city admins publish new versions;
- extensions (延期): the holding unit asks (an `Idempotency-Key` is passed through), the level
  above decides, each sees its own queue;
- an appeal's deadline history: whoever may see the appeal (intake decides, as for its clocks).

`PUT /api/v1/calendar/years/{year}` and `GET /api/v1/calendar/due` are in `forwarded.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.common.auth import Principal
from services.common.errors import Conflict, NotFound
from services.common.scope import Unit, sees_holding, town_sees
from services.contracts.deadlines import (
    ClockOut,
    ClockPage,
    DecisionIn,
    DueQuery,
    ExtensionIn,
    ExtensionOut,
    ExtensionPage,
    ExtensionQuery,
    HistoryOut,
    OverdueQuery,
    RatesOut,
    RatesQuery,
    RuleSetIn,
    RuleSetOut,
    UnitFilter,
)
from services.gateway.api.table import HANDLERS, Call, Forward, mount
from services.gateway.errors import DeadlinesOutOfScope
from services.gateway.service.client import call, relay_response

router = APIRouter(prefix="/api/v1/deadlines", tags=["deadlines"])
D = "/api/v1/deadlines"
INTERNAL = "/internal/deadlines"
# Roles that act for exactly one unit (their own).
_SINGLE_UNIT_ROLES = ("village_staff", "department_staff", "station_staff")


def check_unit(principal: Principal, unit_type: str | None, unit_code: str | None) -> None:
    """Refuse a list of a unit the principal plainly cannot see (the service checks the rest).

    A unit-level member of staff sees only their own unit. A town sees itself and its villages;
    it never sees the city's or a department's clocks; a station's town only the service knows.
    """
    if unit_type is None or unit_code is None:
        return
    unit = Unit(unit_type, unit_code)
    if principal.role in _SINGLE_UNIT_ROLES:
        if not sees_holding(principal, unit):
            raise DeadlinesOutOfScope(unit_type=unit_type, unit_code=unit_code)
    elif principal.role == "town_staff" and unit_type != "station" and not town_sees(principal, unit):
        raise DeadlinesOutOfScope(unit_type=unit_type, unit_code=unit_code)


async def _unit_guard(request: Call) -> Response | None:
    assert request.principal is not None and isinstance(request.query, UnitFilter)
    check_unit(request.principal, request.query.unit_type, request.query.unit_code)
    return None


async def appeal_seen(request: Call) -> Response | None:
    """Seeing the appeal is intake's call (scope, confidentiality); deadline data holds no
    personal data, so whoever may see the appeal may see its clocks."""
    seen = await call(
        "intake", "GET", f"/internal/appeals/{request.path['appeal_id']}", actor=request.principal
    )
    return None if seen.status_code == 200 else relay_response(seen)


RuleVersion = Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")]

ROWS = [
    Forward("GET", f"{D}/due", "deadlines", f"{INTERNAL}/due", ClockPage,
            "Running clocks, earliest deadline first (a unit's, a town's, all)", query=DueQuery,
            guard=_unit_guard),
    Forward("GET", f"{D}/overdue", "deadlines", f"{INTERNAL}/overdue", ClockPage,
            "Overdue clocks, earliest deadline first", query=OverdueQuery, guard=_unit_guard),
    Forward("GET", f"{D}/rates", "deadlines", f"{INTERNAL}/rates", RatesOut,
            "响应率 and 按时办结率 per unit over a period", query=RatesQuery, guard=_unit_guard),
    Forward("GET", f"{D}/appeals/{{appeal_id}}/history", "deadlines", f"{INTERNAL}/appeals/{{appeal_id}}/history",
            HistoryOut, "The deadline history of an appeal: every clock and change", errors=(NotFound,),
            guard=appeal_seen),
    Forward("GET", f"{D}/clocks/{{clock_id}}", "deadlines", f"{INTERNAL}/clocks/{{clock_id}}", ClockOut,
            "One clock", errors=(NotFound,)),
    # The deadlines service checks that the caller's unit holds the clock (or is the level above).
    Forward("POST", f"{D}/clocks/{{clock_id}}/extensions", "deadlines",
            f"{INTERNAL}/clocks/{{clock_id}}/extensions", ExtensionOut,
            "Ask for more time (the holding unit, before the deadline)", roles=HANDLERS, body=ExtensionIn,
            status=201, idempotency="optional", errors=(NotFound, Conflict)),
    Forward("GET", f"{D}/extensions", "deadlines", f"{INTERNAL}/extensions", ExtensionPage,
            "Extension requests to decide, or made by the unit", query=ExtensionQuery),
    Forward("POST", f"{D}/extensions/{{extension_id}}/decision", "deadlines",
            f"{INTERNAL}/extensions/{{extension_id}}/decision", ExtensionOut,
            "Approve or reject a request (the level above the holding unit)", roles=HANDLERS, body=DecisionIn,
            errors=(NotFound, Conflict)),
    Forward("GET", f"{D}/rules", "deadlines", f"{INTERNAL}/rules", list[RuleSetOut],
            "Every version of the clock table, newest first"),
    Forward("GET", f"{D}/rules/{{version}}", "deadlines", f"{INTERNAL}/rules/{{version}}", RuleSetOut,
            "One version", errors=(NotFound,), path_types={"version": RuleVersion}),
    Forward("POST", f"{D}/rules", "deadlines", f"{INTERNAL}/rules", RuleSetOut,
            "Publish a new version of the clock table (city admins); later clocks only",
            roles=("city_admin",), body=RuleSetIn, status=201, errors=(Conflict,)),
]  # fmt: skip
mount(router, ROWS)

__all__ = ["appeal_seen", "check_unit", "router"]
