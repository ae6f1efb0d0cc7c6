"""Deadline routes for staff (`/api/v1/deadlines/...`): thin forwarding to the deadlines service.

Every route needs a staff token; the principal travels in the service token, and the deadlines
service decides with it. The gateway refuses early what it can tell from the token alone:
- due and overdue lists, on-time rates: a unit sees its own, a town its own and its villages'
  (and its stations', which only the deadlines service can tell), the city and auditors all;
- clock tables (时限规则): every member of staff reads them, city admins publish new versions;
- extensions (延期): the holding unit asks (an `Idempotency-Key` is passed through), the level
  above decides, each sees its own queue;
- an appeal's deadline history: whoever may see the appeal (intake decides, as for its clocks).

`PUT /api/v1/calendar/years/{year}` and `GET /api/v1/calendar/due` stay in `forwarded.py`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Response

from services.common.auth import Principal, StaffPrincipal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response

router = APIRouter(prefix="/api/v1/deadlines", tags=["deadlines"])

INTERNAL = "/internal/deadlines"
JsonBody = Annotated[dict[str, Any], Body()]
UnitType = Annotated[
    Literal["city", "town", "village", "department", "station"] | None,
    Query(description="the unit's type; with unit_code"),
]
UnitCode = Annotated[str | None, Query(max_length=64, description="the unit's code; with unit_type")]
Page = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]
READ = problem_responses(Unauthorized, Forbidden, InvalidInput)
COMMAND = problem_responses(Unauthorized, Forbidden, NotFound, Conflict, InvalidInput)
# Roles that act for exactly one unit (their own).
_SINGLE_UNIT_ROLES = ("village_staff", "department_staff", "station_staff")


class OutOfScope(Forbidden):
    """A unit outside the caller's own."""

    code, title = "out_of_scope", "Not your unit's deadlines"
    message = "只能查阅本单位（镇街含所辖村、社区及驿站）的办理时限。"


def check_unit(principal: Principal, unit_type: str | None, unit_code: str | None) -> None:
    """Refuse a list of a unit the principal plainly cannot see (the service checks the rest).

    A unit-level member of staff sees only their own unit. A town sees itself and its villages
    (village codes extend their town's); it never sees the city's or a department's clocks.
    """
    if unit_type is None or unit_code is None:
        return
    if principal.role in _SINGLE_UNIT_ROLES:
        if (unit_type, unit_code) != (principal.org_type, principal.org_code):
            raise OutOfScope(unit_type=unit_type, unit_code=unit_code)
    elif principal.role == "town_staff":
        own = principal.org_code
        foreign = (
            unit_type in ("city", "department")
            or (unit_type == "town" and unit_code != own)
            or (unit_type == "village" and unit_code[:9] != own[:9])
        )
        if foreign:
            raise OutOfScope(unit_type=unit_type, unit_code=unit_code)


def _params(**values: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items() if v is not None}


async def _get(path: str, principal: Principal, params: dict[str, Any] | None = None) -> Response:
    return relay_response(await call("deadlines", "GET", f"{INTERNAL}{path}", params=params, actor=principal))


async def _post(
    path: str, principal: Principal, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return relay_response(
        await call("deadlines", "POST", f"{INTERNAL}{path}", json=body, actor=principal, headers=headers)
    )


# -- lists and rates -------------------------------------------------------------------------------


@router.get(
    "/due", responses=READ, summary="Running clocks, earliest deadline first (a unit's, a town's, all)"
)
async def due(
    principal: StaffPrincipal,
    unit_type: UnitType = None,
    unit_code: UnitCode = None,
    before: Annotated[date | None, Query(description="deadlines on or before this date")] = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> Response:
    check_unit(principal, unit_type, unit_code)
    params = _params(unit_type=unit_type, unit_code=unit_code, before=before, page=page, page_size=page_size)
    return await _get("/due", principal, params)


@router.get("/overdue", responses=READ, summary="Overdue clocks, earliest deadline first")
async def overdue(
    principal: StaffPrincipal,
    unit_type: UnitType = None,
    unit_code: UnitCode = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> Response:
    check_unit(principal, unit_type, unit_code)
    params = _params(unit_type=unit_type, unit_code=unit_code, page=page, page_size=page_size)
    return await _get("/overdue", principal, params)


@router.get("/rates", responses=READ, summary="响应率 and 按时办结率 per unit over a period")
async def rates(
    principal: StaffPrincipal,
    start: Annotated[date, Query(alias="from", description="first local date")],
    end: Annotated[date | None, Query(alias="to", description="last local date (default today)")] = None,
    unit_type: UnitType = None,
    unit_code: UnitCode = None,
) -> Response:
    check_unit(principal, unit_type, unit_code)
    params = {"from": start.isoformat(), **_params(to=end, unit_type=unit_type, unit_code=unit_code)}
    return await _get("/rates", principal, params)


# -- clocks and their history ----------------------------------------------------------------------


@router.get(
    "/appeals/{appeal_id}/history",
    responses=problem_responses(Unauthorized, NotFound, InvalidInput),
    summary="The deadline history of an appeal: every clock and change",
)
async def history(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    # Seeing the appeal is intake's call (scope, confidentiality); the history holds no personal data.
    seen = await call("intake", "GET", f"/internal/appeals/{appeal_id}", actor=principal)
    if seen.status_code != 200:
        return relay_response(seen)
    return await _get(f"/appeals/{appeal_id}/history", principal)


@router.get("/clocks/{clock_id}", responses=problem_responses(Unauthorized, NotFound), summary="One clock")
async def clock(clock_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return await _get(f"/clocks/{clock_id}", principal)


# -- extensions (延期) ------------------------------------------------------------------------------


@router.post(
    "/clocks/{clock_id}/extensions",
    status_code=201,
    responses=COMMAND,
    summary="Ask for more time (the holding unit, before the deadline)",
)
async def request_extension(
    clock_id: uuid.UUID,
    principal: StaffPrincipal,
    body: JsonBody,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> Response:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return await _post(f"/clocks/{clock_id}/extensions", principal, body, headers)


@router.get("/extensions", responses=READ, summary="Extension requests to decide, or made by the unit")
async def extensions(
    principal: StaffPrincipal,
    status: Literal["requested", "approved", "rejected"] | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> Response:
    return await _get("/extensions", principal, _params(status=status, page=page, page_size=page_size))


@router.post(
    "/extensions/{extension_id}/decision",
    responses=COMMAND,
    summary="Approve or reject a request (the level above the holding unit)",
)
async def decide_extension(extension_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    return await _post(f"/extensions/{extension_id}/decision", principal, body)


# -- clock tables (时限规则) -------------------------------------------------------------------------


@router.get("/rules", responses=READ, summary="Every version of the clock table, newest first")
async def rule_sets(principal: StaffPrincipal) -> Response:
    return await _get("/rules", principal)


@router.get("/rules/{version}", responses=problem_responses(Unauthorized, NotFound), summary="One version")
async def rule_set(
    version: Annotated[str, Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")], principal: StaffPrincipal
) -> Response:
    return await _get(f"/rules/{version}", principal)


@router.post(
    "/rules",
    status_code=201,
    responses=COMMAND,
    summary="Publish a new version of the clock table (city admins); later clocks only",
)
async def publish_rules(principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin")
    return await _post("/rules", principal, body)


__all__ = ["OutOfScope", "check_unit", "router"]
