"""爱心资源库 and 莞家直达: donors, the pool, claims, confirmation, expiry, completion reports."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from routing.api.deps import Actor, MaybeActor
from routing.errors import (
    AlreadyClaimed,
    ClaimState,
    DonorNotVerified,
    ListingClosed,
    NotClaimable,
    OverClaim,
)
from routing.models import Donor
from routing.schemas.donors import (
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
from routing.schemas.stations import ConfirmationIn
from routing.service import claims, handover
from routing.service import donors as service
from routing.service.common import require_roles
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)

router = APIRouter(prefix="/internal", tags=["donors"])
DonorKey = Annotated[str | None, Header(alias="X-Donor-Key")]


async def _donor(db: Db, key: str | None) -> Donor:
    return await service.authenticate(db, key)


@router.post(
    "/donors", response_model=DonorCreated, status_code=201, responses=problem_responses(InvalidInput)
)
async def register(body: DonorIn, db: Db, caller: InternalCaller) -> DonorCreated:
    donor, key = await service.register(
        db,
        kind=body.kind,
        name=body.name,
        credit_code=body.credit_code,
        pool=body.pool,
        town_code=body.town_code,
    )
    return DonorCreated(donor=DonorView.model_validate(donor), key=key)


@router.get("/donors", response_model=list[DonorView], responses=problem_responses(Forbidden))
async def donors(
    db: Db, actor: Actor, state: Annotated[str | None, Query(pattern="^(pending|verified|suspended)$")] = None
) -> list[DonorView]:
    return [DonorView.model_validate(d) for d in await service.donors(db, actor, state)]


@router.post(
    "/donors/{donor_id}/state",
    response_model=DonorView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound),
    summary="Staff verify or suspend a donor of their pool",
)
async def set_state(donor_id: uuid.UUID, body: DonorStateIn, db: Db, actor: Actor) -> DonorView:
    return DonorView.model_validate(await service.set_state(db, actor, donor_id, body.state))


@router.get("/donors/me", response_model=DonorView, responses=problem_responses(Unauthorized))
async def me(db: Db, caller: InternalCaller, key: DonorKey = None) -> DonorView:
    return DonorView.model_validate(await _donor(db, key))


@router.put(
    "/listings/{appeal_id}",
    response_model=ListingView,
    responses=problem_responses(
        Unauthorized, Forbidden, NotFound, InvalidInput, ListingClosed, NotClaimable, Conflict
    ),
    summary="Staff publish an appeal to the pool (anonymised summary, sum, service)",
)
async def publish_listing(appeal_id: uuid.UUID, body: ListingIn, db: Db, actor: Actor) -> ListingView:
    listing = await service.publish_listing(
        db,
        actor,
        appeal_id,
        summary=body.summary,
        target_fen=body.target_fen,
        needs_service=body.needs_service,
    )
    return ListingView.model_validate(listing)


@router.get("/listings", response_model=list[ListingView], responses=problem_responses(Unauthorized))
async def browse(
    db: Db,
    caller: InternalCaller,
    key: DonorKey = None,
    kind: Annotated[str | None, Query(pattern="^(micro_project|micro_wish)$")] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ListingView]:
    donor = await _donor(db, key)
    return [
        ListingView.model_validate(x)
        for x in await service.browse(db, donor, kind=kind, category=category, limit=limit)
    ]


@router.post(
    "/claims",
    response_model=ClaimView,
    status_code=201,
    responses=problem_responses(
        Unauthorized,
        NotFound,
        InvalidInput,
        DonorNotVerified,
        NotClaimable,
        ListingClosed,
        OverClaim,
        AlreadyClaimed,
        IdempotencyConflict,
        IdempotencyKeyRequired,
    ),
    summary="认领: pledge money (in full or in part) or a service; Idempotency-Key required",
)
async def claim(
    body: ClaimIn,
    db: Db,
    caller: InternalCaller,
    response: Response,
    key: DonorKey = None,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> ClaimView:
    donor = await _donor(db, key)
    if not idempotency_key:
        raise IdempotencyKeyRequired()
    request = claims.ClaimRequest(
        kind=body.kind, amount_fen=body.amount_fen, service=body.service, note=body.note
    )
    made = await claims.make_claim(db, donor, body.appeal_id, request, idempotency_key)
    if made.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return ClaimView.model_validate(made.value)


@router.get("/claims", response_model=list[ClaimView], responses=problem_responses(Unauthorized))
async def my_claims(db: Db, caller: InternalCaller, key: DonorKey = None) -> list[ClaimView]:
    return [ClaimView.model_validate(c) for c in await claims.my_claims(db, await _donor(db, key))]


@router.post(
    "/claims/{claim_id}/confirmation",
    response_model=ClaimView,
    responses=problem_responses(Forbidden, NotFound, ClaimState),
    summary="Fulfilment confirmed by the beneficiary (ticket checked by the gateway) or staff",
)
async def confirm(claim_id: uuid.UUID, body: ConfirmationIn, db: Db, actor: MaybeActor) -> ClaimView:
    return ClaimView.model_validate(
        await claims.confirm(db, claim_id, principal=actor, ticket_no=body.ticket_no)
    )


@router.get(
    "/claims/{claim_id}/report",
    response_model=ReportView,
    responses=problem_responses(Unauthorized, NotFound, ClaimState),
    summary="The donor's completion report",
)
async def report(claim_id: uuid.UUID, db: Db, caller: InternalCaller, key: DonorKey = None) -> ReportView:
    return ReportView.model_validate(await handover.donor_report(db, await _donor(db, key), claim_id))


@router.post(
    "/claims/expiry",
    response_model=list[ClaimView],
    responses=problem_responses(Forbidden),
    summary="Expire overdue pledges now (the worker does it every minute)",
)
async def expire(db: Db, actor: Actor) -> list[ClaimView]:
    require_roles(actor, "city_admin")
    return [ClaimView.model_validate(c) for c in await claims.expire_due(db)]
