"""Routes of 莞家驿站: the station registry, dispatch, service records and their confirmation.

A beneficiary confirms a service with the appeal's ticket number and query code (查询码), checked
against intake exactly as the public status page checks them; staff confirm with their token.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import StaffPrincipal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response
from services.gateway.ratelimit import TooManyRequests, limit_public

router = APIRouter(prefix="/api/v1/stations", tags=["stations"])
JsonBody = Annotated[dict[str, Any], Body()]
TICKET_RE = re.compile(r"^MS\d{8,20}$")


class BeneficiaryProof(BaseModel):
    """The appeal's ticket number and query code: what only its reporter holds."""

    model_config = ConfigDict(extra="forbid")

    ticket_no: str = Field(max_length=32)
    query_code: str = Field(max_length=32)


async def ticket_of_beneficiary(proof: BeneficiaryProof) -> str:
    """The ticket number, once intake confirms the query code; anything wrong is a plain 404."""
    if not TICKET_RE.match(proof.ticket_no):
        raise NotFound()
    checked = await call(
        "intake", "GET", f"/internal/public/appeals/{proof.ticket_no}", params={"code": proof.query_code}
    )
    if checked.status_code == 404:
        raise NotFound()
    if checked.status_code != 200:
        raise ServiceUnavailable()
    return proof.ticket_no


# Declared before /{code} so that "service-records" is never read as a station code.
@router.get(
    "/service-records",
    summary="The service records of an appeal",
    responses=problem_responses(Unauthorized, NotFound),
)
async def records(appeal_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    return relay_response(
        await call(
            "routing",
            "GET",
            "/internal/service-records",
            params={"appeal_id": str(appeal_id)},
            actor=principal,
        )
    )


@router.post(
    "/service-records/{record_id}/confirmation",
    summary="Staff of the town, village or city confirm a service took place",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def confirm_by_staff(record_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "town_staff", "village_staff")
    return relay_response(
        await call(
            "routing", "POST", f"/internal/service-records/{record_id}/confirmation", json={}, actor=principal
        )
    )


@router.post(
    "/service-records/{record_id}/beneficiary-confirmation",
    summary="The beneficiary confirms a service with the appeal's ticket number and query code",
    responses=problem_responses(NotFound, Conflict, TooManyRequests),
    dependencies=[Depends(limit_public)],
)
async def confirm_by_beneficiary(record_id: uuid.UUID, proof: BeneficiaryProof) -> Response:
    ticket_no = await ticket_of_beneficiary(proof)
    return relay_response(
        await call(
            "routing",
            "POST",
            f"/internal/service-records/{record_id}/confirmation",
            json={"ticket_no": ticket_no},
        )
    )


@router.get("", summary="Stations by town, village and service offered")
async def listing(
    town_code: Annotated[str | None, Query(pattern=r"^4419\d{8}$")] = None,
    village_code: Annotated[str | None, Query(pattern=r"^4419\d{8}$")] = None,
    service: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    params = {
        k: v for k, v in (("town_code", town_code), ("village_code", village_code), ("service", service)) if v
    }
    return relay_response(await call("routing", "GET", "/internal/stations", params=params))


@router.get("/{code}", summary="One station", responses=problem_responses(NotFound))
async def one(code: str) -> Response:
    return relay_response(await call("routing", "GET", f"/internal/stations/{code}"))


@router.get(
    "/{code}/totals", summary="A station's confirmed visits and hours", responses=problem_responses(NotFound)
)
async def totals(code: str) -> Response:
    return relay_response(await call("routing", "GET", f"/internal/stations/{code}/totals"))


@router.post(
    "/{code}",
    status_code=201,
    summary="Register a station: town, village, services offered, team",
    responses=problem_responses(Unauthorized, Forbidden, InvalidInput, Conflict),
)
async def register(code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin", "town_staff")
    return relay_response(
        await call("routing", "POST", f"/internal/stations/{code}", json=body, actor=principal)
    )


@router.put(
    "/{code}",
    summary="Change a station's details, services or team",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput),
)
async def update(code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin", "town_staff")
    return relay_response(
        await call("routing", "PUT", f"/internal/stations/{code}", json=body, actor=principal)
    )


@router.post(
    "/{code}/assignments",
    summary="The town sends a station-track appeal to this station",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
)
async def dispatch(code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin", "town_staff")
    return relay_response(
        await call("routing", "POST", f"/internal/stations/{code}/assignments", json=body, actor=principal)
    )


@router.post(
    "/{code}/service-records",
    status_code=201,
    summary="The station records a visit: date, visits, minutes, who served",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput),
)
async def record_service(code: str, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin", "station_staff")
    return relay_response(
        await call(
            "routing", "POST", f"/internal/stations/{code}/service-records", json=body, actor=principal
        )
    )
