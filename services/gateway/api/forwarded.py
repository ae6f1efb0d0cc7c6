"""The working-day calendar and the staff view of one appeal: rows of the gateway's table."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.common.auth import Principal
from services.common.errors import IllegalTransition, NotFound, problem_responses
from services.contracts.deadlines import CalendarDueQuery, ClockOut, DueOut, YearScheduleIn, YearUploadOut
from services.contracts.staff import Moved, StaffAppealView, TransitionRequest
from services.gateway.api.deadlines import appeal_seen
from services.gateway.api.table import HANDLERS, Call, Forward, mount, roles_dependency
from services.gateway.service.client import call, relay_response

calendar = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
staff = APIRouter(prefix="/api/v1/staff", tags=["staff"])

CALENDAR = [
    Forward("GET", "/api/v1/calendar/due", "deadlines", "/internal/calendar/due", DueOut,
            "When a period ends (Civil Code counting, State Council working days)", auth="public",
            query=CalendarDueQuery),
    Forward("PUT", "/api/v1/calendar/years/{year}", "deadlines", "/internal/calendar/years/{year}",
            YearUploadOut, "Upload a year's official holiday schedule (city staff)", roles=("city_admin",),
            body=YearScheduleIn, path_types={"year": Annotated[int, Path()]}),
]  # fmt: skip
STAFF = [
    Forward("GET", "/api/v1/staff/appeals/{appeal_id}", "intake", "/internal/appeals/{appeal_id}",
            StaffAppealView, "One appeal as the member of staff may see it", errors=(NotFound,)),
    Forward("POST", "/api/v1/staff/appeals/{appeal_id}/transitions", "intake",
            "/internal/appeals/{appeal_id}/transitions", Moved, "Move an appeal to another state",
            roles=HANDLERS, body=TransitionRequest, errors=(NotFound, IllegalTransition)),
]  # fmt: skip
mount(calendar, CALENDAR)
mount(staff, STAFF)


@staff.get(
    "/appeals/{appeal_id}/clocks",
    response_model=list[ClockOut],
    summary="An appeal's deadline clocks",
    responses=problem_responses(NotFound),
)
async def staff_clocks(
    appeal_id: uuid.UUID, principal: Annotated[Principal, roles_dependency(None)]
) -> Response:
    refused = await appeal_seen(Call(principal, {"appeal_id": appeal_id}, None, None))
    if refused is not None:
        return refused
    return relay_response(
        await call(
            "deadlines", "GET", "/internal/clocks", params={"appeal_id": str(appeal_id)}, actor=principal
        )
    )


__all__ = ["calendar", "staff"]
