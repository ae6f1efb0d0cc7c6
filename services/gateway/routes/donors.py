"""Routes of the 爱心资源库 and 莞家直达: donors join, staff verify, donors browse and claim.

Donors authenticate with the key they got on joining, as the ``X-Donor-Key`` header; a claim also
carries an ``Idempotency-Key``. Listings donors see are anonymised: no name, ticket or address.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response

from services.common.auth import StaffPrincipal, require_role
from services.common.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyRequired,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.gateway.client import call, relay_response
from services.gateway.ratelimit import TooManyRequests, limit_public
from services.gateway.routes.stations import BeneficiaryProof, ticket_of_beneficiary

router = APIRouter(prefix="/api/v1/donors", tags=["donors"])
JsonBody = Annotated[dict[str, Any], Body()]
DonorKey = Annotated[str | None, Header(alias="X-Donor-Key", max_length=128)]


def _key(key: str | None) -> dict[str, str]:
    if not key:
        raise Unauthorized()
    return {"X-Donor-Key": key}


@router.post(
    "",
    status_code=201,
    summary="Join the 爱心资源库 (enterprise, social organisation or individual; city or town pool)",
    responses=problem_responses(InvalidInput, TooManyRequests),
    dependencies=[Depends(limit_public)],
)
async def register(body: JsonBody) -> Response:
    return relay_response(await call("routing", "POST", "/internal/donors", json=body))


@router.get(
    "", summary="Donors of the staff member's pool", responses=problem_responses(Unauthorized, Forbidden)
)
async def donors(
    principal: StaffPrincipal,
    state: Annotated[str | None, Query(pattern="^(pending|verified|suspended)$")] = None,
) -> Response:
    require_role(principal, "city_admin", "town_staff", "auditor")
    params = {"state": state} if state else None
    return relay_response(await call("routing", "GET", "/internal/donors", params=params, actor=principal))


@router.post(
    "/{donor_id}/state",
    summary="Verify (审核通过) or suspend a donor",
    responses=problem_responses(Unauthorized, Forbidden, NotFound),
)
async def set_state(donor_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin", "town_staff")
    return relay_response(
        await call("routing", "POST", f"/internal/donors/{donor_id}/state", json=body, actor=principal)
    )


@router.get("/me", summary="The donor presenting the key", responses=problem_responses(Unauthorized))
async def me(key: DonorKey = None) -> Response:
    return relay_response(await call("routing", "GET", "/internal/donors/me", headers=_key(key)))


@router.get(
    "/listings",
    summary="Claimable appeals of the donor's pool, anonymised",
    responses=problem_responses(Unauthorized),
)
async def listings(
    key: DonorKey = None,
    kind: Annotated[str | None, Query(pattern="^(micro_project|micro_wish)$")] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    params: dict[str, Any] = {"limit": limit}
    if kind:
        params["kind"] = kind
    if category:
        params["category"] = category
    return relay_response(
        await call("routing", "GET", "/internal/listings", params=params, headers=_key(key))
    )


@router.put(
    "/listings/{appeal_id}",
    summary="Staff publish an appeal to the pool: anonymised summary, sum needed, service needed",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput, Conflict),
)
async def publish_listing(appeal_id: uuid.UUID, principal: StaffPrincipal, body: JsonBody) -> Response:
    require_role(principal, "city_admin", "town_staff")
    return relay_response(
        await call("routing", "PUT", f"/internal/listings/{appeal_id}", json=body, actor=principal)
    )


@router.post(
    "/claims",
    status_code=201,
    summary="认领: money in full or in part, or a service (a micro-wish: one donor only)",
    responses=problem_responses(Unauthorized, NotFound, InvalidInput, Conflict, IdempotencyKeyRequired),
)
async def claim(
    body: JsonBody,
    key: DonorKey = None,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    if not idempotency_key:
        raise IdempotencyKeyRequired()
    headers = {**_key(key), "Idempotency-Key": idempotency_key}
    return relay_response(await call("routing", "POST", "/internal/claims", json=body, headers=headers))


@router.get("/claims", summary="The donor's claims", responses=problem_responses(Unauthorized))
async def my_claims(key: DonorKey = None) -> Response:
    return relay_response(await call("routing", "GET", "/internal/claims", headers=_key(key)))


@router.get(
    "/claims/{claim_id}/report",
    summary="The donor's completion report",
    responses=problem_responses(Unauthorized, NotFound, Conflict),
)
async def report(claim_id: uuid.UUID, key: DonorKey = None) -> Response:
    return relay_response(
        await call("routing", "GET", f"/internal/claims/{claim_id}/report", headers=_key(key))
    )


@router.post(
    "/claims/{claim_id}/confirmation",
    summary="Staff confirm that the help arrived",
    responses=problem_responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def confirm_by_staff(claim_id: uuid.UUID, principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin", "town_staff", "village_staff")
    return relay_response(
        await call("routing", "POST", f"/internal/claims/{claim_id}/confirmation", json={}, actor=principal)
    )


@router.post(
    "/claims/{claim_id}/beneficiary-confirmation",
    summary="The beneficiary confirms the help arrived, with the appeal's ticket number and query code",
    responses=problem_responses(NotFound, Conflict, TooManyRequests),
    dependencies=[Depends(limit_public)],
)
async def confirm_by_beneficiary(claim_id: uuid.UUID, proof: BeneficiaryProof) -> Response:
    ticket_no = await ticket_of_beneficiary(proof)
    return relay_response(
        await call(
            "routing", "POST", f"/internal/claims/{claim_id}/confirmation", json={"ticket_no": ticket_no}
        )
    )


@router.post(
    "/claims/expiry",
    summary="Expire overdue pledges now (the routing worker does it every minute)",
    responses=problem_responses(Unauthorized, Forbidden),
)
async def expire(principal: StaffPrincipal) -> Response:
    require_role(principal, "city_admin")
    return relay_response(await call("routing", "POST", "/internal/claims/expiry", actor=principal))
