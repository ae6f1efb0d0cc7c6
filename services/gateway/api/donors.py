"""Routes of the 爱心资源库 and 莞家直达: donors join, staff verify, donors browse and claim.

Donors authenticate with the key they got on joining, as the ``X-Donor-Key`` header; a claim also
carries an ``Idempotency-Key``. Listings donors see are anonymised: no name, ticket or address.
Rows of the gateway's table, except the beneficiary's confirmation (ticket number and 查询码).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response

from services.common.errors import Conflict, NotFound, problem_responses
from services.contracts.routing.donors import (
    ClaimIn,
    ClaimView,
    DonorCreated,
    DonorIn,
    DonorStateIn,
    DonorView,
    ListingIn,
    ListingView,
    ReportView,
)
from services.contracts.routing.queries import DonorQuery, ListingQuery
from services.contracts.routing.stations import BeneficiaryProof
from services.contracts.vocabulary import Role
from services.gateway.api.stations import ticket_of_beneficiary
from services.gateway.api.table import Forward, mount
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call, relay_response
from services.gateway.service.ratelimit import limit_public

router = APIRouter(prefix="/api/v1/donors", tags=["donors"])
P = "/api/v1/donors"
POOL_STAFF: tuple[Role, ...] = ("city_admin", "town_staff")

ROWS = [
    Forward("POST", P, "routing", "/internal/donors", DonorCreated,
            "Join the 爱心资源库 (enterprise, social organisation or individual; city or town pool)",
            auth="public", body=DonorIn, status=201, errors=(TooManyRequests,),
            dependencies=(Depends(limit_public),)),
    Forward("GET", P, "routing", "/internal/donors", list[DonorView], "Donors of the staff member's pool",
            roles=("city_admin", "town_staff", "auditor"), query=DonorQuery),
    Forward("POST", f"{P}/{{donor_id}}/state", "routing", "/internal/donors/{donor_id}/state", DonorView,
            "Verify (审核通过) or suspend a donor", roles=POOL_STAFF, body=DonorStateIn, errors=(NotFound,)),
    Forward("GET", f"{P}/me", "routing", "/internal/donors/me", DonorView, "The donor presenting the key",
            auth="donor"),
    Forward("GET", f"{P}/listings", "routing", "/internal/listings", list[ListingView],
            "Claimable appeals of the donor's pool, anonymised", auth="donor", query=ListingQuery),
    Forward("PUT", f"{P}/listings/{{appeal_id}}", "routing", "/internal/listings/{appeal_id}", ListingView,
            "Staff publish an appeal to the pool: anonymised summary, sum needed, service needed",
            roles=POOL_STAFF, body=ListingIn, errors=(NotFound, Conflict)),
    Forward("POST", f"{P}/claims", "routing", "/internal/claims", ClaimView,
            "认领: money in full or in part, or a service (a micro-wish: one donor only)", auth="donor",
            body=ClaimIn, status=201, idempotency="required", errors=(NotFound, Conflict)),
    Forward("GET", f"{P}/claims", "routing", "/internal/claims", list[ClaimView], "The donor's claims",
            auth="donor"),
    Forward("GET", f"{P}/claims/{{claim_id}}/report", "routing", "/internal/claims/{claim_id}/report",
            ReportView, "The donor's completion report", auth="donor", errors=(NotFound, Conflict)),
    Forward("POST", f"{P}/claims/{{claim_id}}/confirmation", "routing",
            "/internal/claims/{claim_id}/confirmation", ClaimView, "Staff confirm that the help arrived",
            roles=("city_admin", "town_staff", "village_staff"), errors=(NotFound, Conflict), empty_json=True),
]  # fmt: skip
mount(router, ROWS)


@router.post(
    "/claims/{claim_id}/beneficiary-confirmation",
    response_model=ClaimView,
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


EXPIRY = [
    Forward("POST", f"{P}/claims/expiry", "routing", "/internal/claims/expiry", list[ClaimView],
            "Expire overdue pledges now (the routing worker does it every minute)", roles=("city_admin",)),
]  # fmt: skip
mount(router, EXPIRY)

__all__ = ["ROWS", "router"]
