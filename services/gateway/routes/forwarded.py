"""Routes the gateway forwards to one service, after checking who may call them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from services.common.auth import StaffPrincipal, require_role
from services.common.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response

calendar = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
staff = APIRouter(prefix="/api/v1/staff", tags=["staff"])


@calendar.get(
    "/due",
    summary="When a period ends (Civil Code counting, State Council working days)",
    responses=problem_responses(InvalidInput),
)
async def calendar_due(
    start: Annotated[str, Query(description="ISO date or datetime")],
    working_days: int | None = None,
    months: int | None = None,
) -> Response:
    params: dict[str, Any] = {"start": start}
    if working_days is not None:
        params["working_days"] = working_days
    if months is not None:
        params["months"] = months
    return relay_response(await call("deadlines", "GET", "/internal/calendar/due", params=params))


@calendar.put(
    "/years/{year}",
    summary="Upload a year's official holiday schedule (city staff)",
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput),
)
async def calendar_year(
    year: int, principal: StaffPrincipal, body: Annotated[dict[str, Any], Body()]
) -> Response:
    require_role(principal, "city_admin")
    return relay_response(
        await call("deadlines", "PUT", f"/internal/calendar/years/{year}", json=body, actor=principal)
    )


@staff.get("/appeals/{appeal_id}", responses=problem_responses(Unauthorized, NotFound))
async def staff_appeal(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(await call("intake", "GET", f"/internal/appeals/{appeal_id}", actor=principal))


@staff.post(
    "/appeals/{appeal_id}/transitions", responses=problem_responses(Unauthorized, Forbidden, NotFound)
)
async def staff_transition(
    appeal_id: uuid.UUID, principal: StaffPrincipal, body: Annotated[dict[str, Any], Body()]
) -> Response:
    return relay_response(
        await call("intake", "POST", f"/internal/appeals/{appeal_id}/transitions", json=body, actor=principal)
    )


@staff.get("/appeals/{appeal_id}/clocks", responses=problem_responses(Unauthorized))
async def staff_clocks(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    # Seeing the appeal is checked by intake; clocks carry no personal data.
    seen = await call("intake", "GET", f"/internal/appeals/{appeal_id}", actor=principal)
    if seen.status_code != 200:
        return relay_response(seen)
    return relay_response(
        await call(
            "deadlines", "GET", "/internal/clocks", params={"appeal_id": str(appeal_id)}, actor=principal
        )
    )


# The ledger routes live in `services.gateway.routes.ledger`.
__all__ = ["calendar", "staff"]
