"""Staff commands on appeals, forwarded to intake with the verified member of staff as actor.

Intake checks scope, role and state (404 outside one's scope, 403 for the wrong role, 409 naming
the state for an illegal move) and answers RFC 9457 problems, passed through unchanged.
`GET /api/v1/staff/appeals/{id}` and `POST .../transitions` live in `forwarded.py`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from services.common.auth import StaffPrincipal
from services.common.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response

router = APIRouter(prefix="/api/v1/staff", tags=["staff: appeals"])
ERRORS = problem_responses(Unauthorized, Forbidden, NotFound, IllegalTransition, InvalidInput)
ReasonBody = Annotated[dict[str, Any], Body(examples=[{"reason": "等待群众补充现场照片"}])]

COMMANDS: dict[str, str] = {
    "hold": "Put on hold, waiting for the resident (clocks pause)",
    "resume": "Resume from hold, back to where it was",
    "withdraw": "Withdraw at the resident's request (reason required)",
    "reject": "Reject, with the reason the resident is told",
    "start": "Start, or restart after reopening, the work",
    "complete": "Complete the work (办结): the return visit (回访) is due",
    "reopen": "Reopen: the work is redone as a new round",
    "withhold": "Withhold from public disclosure, with a reason",
    "publish": "Return a withheld appeal to public disclosure",
}


def _command(name: str, summary: str) -> None:
    async def route(appeal_id: uuid.UUID, principal: StaffPrincipal, body: ReasonBody) -> Response:
        return relay_response(
            await call("intake", "POST", f"/internal/appeals/{appeal_id}/{name}", json=body, actor=principal)
        )

    route.__name__ = f"staff_{name}"
    router.add_api_route(
        f"/appeals/{{appeal_id}}/{name}", route, methods=["POST"], responses=ERRORS, summary=summary
    )


for _name, _summary in COMMANDS.items():
    _command(_name, _summary)


@router.post(
    "/appeals/{appeal_id}/close",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict, InvalidInput),
    summary="Close with the return visit (回访): result resolved/partly/not, rating 满意/基本满意/不满意",
)
async def close(
    appeal_id: uuid.UUID,
    principal: StaffPrincipal,
    body: Annotated[dict[str, Any], Body(examples=[{"result": "resolved", "rating": "satisfied"}])],
) -> Response:
    return relay_response(
        await call("intake", "POST", f"/internal/appeals/{appeal_id}/close", json=body, actor=principal)
    )


@router.put(
    "/appeals/{appeal_id}/complained-unit", responses=ERRORS, summary="The unit complained about (保密)"
)
async def complained_unit(
    appeal_id: uuid.UUID, principal: StaffPrincipal, body: Annotated[dict[str, Any], Body()]
) -> Response:
    return relay_response(
        await call(
            "intake", "PUT", f"/internal/appeals/{appeal_id}/complained-unit", json=body, actor=principal
        )
    )


@router.post(
    "/appeals/{appeal_id}/reveal",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput),
    summary="Reveal a reporter's full phone / ID number (audited, roles that need it only)",
)
async def reveal(
    appeal_id: uuid.UUID,
    principal: StaffPrincipal,
    body: Annotated[dict[str, Any], Body(examples=[{"field": "phone", "reason": "电话回访"}])],
) -> Response:
    return relay_response(
        await call("intake", "POST", f"/internal/appeals/{appeal_id}/reveal", json=body, actor=principal)
    )


@router.get("/appeals/{appeal_id}/timeline", responses=ERRORS, summary="The whole timeline (who, when, why)")
async def timeline(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call("intake", "GET", f"/internal/appeals/{appeal_id}/timeline", actor=principal)
    )


@router.get(
    "/appeals/{appeal_id}/duplicates", responses=ERRORS, summary="Duplicate candidates with score and reasons"
)
async def duplicates(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call("intake", "GET", f"/internal/appeals/{appeal_id}/duplicates", actor=principal)
    )


@router.post(
    "/appeals/{appeal_id}/duplicates/{master_id}/confirm",
    responses=ERRORS,
    summary="Confirm a duplicate: link it",
)
async def confirm(
    appeal_id: uuid.UUID, master_id: uuid.UUID, principal: StaffPrincipal, body: ReasonBody
) -> Response:
    path = f"/internal/appeals/{appeal_id}/duplicates/{master_id}/confirm"
    return relay_response(await call("intake", "POST", path, json=body, actor=principal))


@router.post(
    "/appeals/{appeal_id}/duplicates/{master_id}/reject", responses=ERRORS, summary="Not the same matter"
)
async def reject_candidate(
    appeal_id: uuid.UUID, master_id: uuid.UUID, principal: StaffPrincipal, body: ReasonBody
) -> Response:
    path = f"/internal/appeals/{appeal_id}/duplicates/{master_id}/reject"
    return relay_response(await call("intake", "POST", path, json=body, actor=principal))


@router.post("/appeals/{appeal_id}/duplicates/undo", responses=ERRORS, summary="Undo a duplicate link")
async def undo(appeal_id: uuid.UUID, principal: StaffPrincipal, body: ReasonBody) -> Response:
    path = f"/internal/appeals/{appeal_id}/duplicates/undo"
    return relay_response(await call("intake", "POST", path, json=body, actor=principal))


@router.get(
    "/appeals/{appeal_id}/archive", responses=ERRORS, summary="The complete record of a finished appeal"
)
async def archive(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call("intake", "GET", f"/internal/appeals/{appeal_id}/archive", actor=principal)
    )


@router.get(
    "/archive/export",
    responses={200: {"content": {"application/x-ndjson": {}}}, **ERRORS},
    summary="Every appeal finished in a period, as JSON lines (city)",
)
async def archive_export(
    principal: StaffPrincipal,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    upstream = await call(
        "intake",
        "GET",
        "/internal/archive/export",
        params={"from": start.isoformat(), "to": end.isoformat()},
        actor=principal,
    )
    response = relay_response(upstream)
    if "content-disposition" in upstream.headers:
        response.headers["Content-Disposition"] = upstream.headers["content-disposition"]
    return response


@router.get("/audit/reveals", responses=ERRORS, summary="The audit of every reveal of personal data")
async def audit(
    principal: StaffPrincipal,
    appeal_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    params: dict[str, Any] = {"limit": limit}
    if appeal_id is not None:
        params["appeal_id"] = str(appeal_id)
    return relay_response(
        await call("intake", "GET", "/internal/audit/reveals", params=params, actor=principal)
    )
