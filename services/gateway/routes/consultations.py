"""Staff routes of community consultations (协商议事) on micro-projects."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from services.common.auth import Role, StaffPrincipal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response

router = APIRouter(prefix="/api/v1/consultations", tags=["consultations"])
JsonBody = Annotated[dict[str, Any], Body()]
CONVENERS: tuple[Role, ...] = ("city_admin", "town_staff", "village_staff")


@router.post(
    "",
    status_code=201,
    summary="Record a meeting (居民议事会, 党群联席会议, 民情恳谈会, 网络协商) and its votes on the five points",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
)
async def record(principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *CONVENERS)
    return relay_response(
        await call("routing", "POST", "/internal/consultations", json=body, actor=principal)
    )


@router.get(
    "", summary="The consultations held on an appeal", responses=problem_responses(Unauthorized, NotFound)
)
async def of_appeal(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call(
            "routing", "GET", "/internal/consultations", params={"appeal_id": str(appeal_id)}, actor=principal
        )
    )


@router.get(
    "/{consultation_id}", summary="One consultation", responses=problem_responses(Unauthorized, NotFound)
)
async def one(consultation_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call("routing", "GET", f"/internal/consultations/{consultation_id}", actor=principal)
    )


@router.post(
    "/{consultation_id}/objections",
    summary="An objection during the public notice (公示) sends the item back to consultation",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def object_to(consultation_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, *CONVENERS)
    return relay_response(
        await call(
            "routing",
            "POST",
            f"/internal/consultations/{consultation_id}/objections",
            json=body,
            actor=principal,
        )
    )


@router.post(
    "/{consultation_id}/approval",
    summary="Approve the plan once its notice ended without objection (the worker also does it)",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def approve(consultation_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    require_role(principal, *CONVENERS)
    return relay_response(
        await call("routing", "POST", f"/internal/consultations/{consultation_id}/approval", actor=principal)
    )
