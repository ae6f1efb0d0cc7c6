"""Operations for the city's administrators: every service's dead letters (死信) in one place."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.common import dead_letters
from services.common.auth import Principal
from services.common.db import DbSession
from services.common.errors import (
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.contracts.events import Service
from services.contracts.ops import DeadLetterList, DeadLetterOverview, DeadLetterResolutionIn, DeadLetterView
from services.gateway.api.table import roles_dependency
from services.gateway.models import messaging
from services.gateway.service.client import call, relay_response

router = APIRouter(prefix="/api/v1/admin/dead-letters", tags=["operations"])

OTHERS: tuple[Service, ...] = ("intake", "routing", "deadlines", "ledger")


async def _theirs(service: Service, principal: Principal, params: dict[str, str]) -> DeadLetterList | None:
    try:
        response = await call(service, "GET", "/internal/dead-letters", actor=principal, params=params)
    except ServiceUnavailable:
        return None
    if response.status_code != 200:
        return None
    return DeadLetterList.model_validate_json(response.content)


@router.get(
    "",
    response_model=DeadLetterOverview,
    summary="Every service's parked jobs (死信), newest first: what may leave an appeal stuck",
    responses=problem_responses(Unauthorized, Forbidden),
)
async def overview(
    db: DbSession,
    principal: Annotated[Principal, roles_dependency(dead_letters.READERS)],
    include_resolved: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeadLetterOverview:
    own = await dead_letters.listing(db, messaging, "gateway", include_resolved=include_resolved, limit=limit)
    params = {"include_resolved": str(include_resolved).lower(), "limit": str(limit)}
    answered = await asyncio.gather(*(_theirs(s, principal, params) for s in OTHERS))
    lists = [own, *(a for a in answered if a is not None)]
    items = sorted((i for lst in lists for i in lst.items), key=lambda i: (i.failed_at, i.id), reverse=True)
    return DeadLetterOverview(
        open=sum(lst.open for lst in lists),
        by_service={lst.service: lst.open for lst in lists},
        unavailable=[s for s, a in zip(OTHERS, answered, strict=True) if a is None],
        items=items[:limit],
    )


@router.post(
    "/{service}/{letter_id}/resolution",
    response_model=DeadLetterView,
    summary="Replay a parked job (its consumer is idempotent) or dismiss it, with a note",
    openapi_extra={"x-roles": ["city_admin"]},
    responses=problem_responses(
        Unauthorized,
        Forbidden,
        dead_letters.DeadLetterNotFound,
        dead_letters.DeadLetterResolved,
        dead_letters.NotReplayable,
        ServiceUnavailable,
    ),
)
async def resolution(
    service: Service,
    letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: DeadLetterResolutionIn,
    db: DbSession,
    principal: Annotated[Principal, roles_dependency(("city_admin",), write=True)],
) -> DeadLetterView | Response:
    if service == "gateway":
        return await dead_letters.resolve(db, messaging, "gateway", letter_id, body, principal)
    return relay_response(
        await call(
            service,
            "POST",
            f"/internal/dead-letters/{letter_id}/resolution",
            actor=principal,
            json=body.model_dump(mode="json"),
        )
    )


__all__ = ["router"]
