"""The ledger's internal REST API (`/internal/ledger`): thin routes over `ledger.service`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response, status

from ledger import service
from ledger.errors import (
    IdempotencyKeyRequired,
    InsufficientFunds,
    InvalidAllocation,
    InvalidHolder,
    InvalidIncomeTarget,
    UnknownSource,
)
from ledger.schemas import (
    AllocationCommand,
    EntryOut,
    HolderBalances,
    HolderType,
    IncomeCommand,
    SourceCode,
    Statement,
)
from services.common.auth import InternalCaller, ServiceCaller
from services.common.db import DbSession
from services.common.errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)

router = APIRouter(prefix="/internal/ledger", tags=["ledger"])

# scope="function": the unit of work commits before the response is sent, so a failed commit
# can never follow a 201 the caller has already seen (FastAPI's default scope exits after it).


async def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=True)] = None,
) -> str:
    """The command's `Idempotency-Key` header: required, 1-200 visible ASCII characters."""
    if key is None or not (0 < len(key) <= 200) or not key.isascii() or not key.isprintable() or " " in key:
        raise IdempotencyKeyRequired()
    return key


IdempotencyKey = Annotated[str, Depends(idempotency_key)]


def actor_of(caller: ServiceCaller) -> str:
    """Who the journal records as the author: the calling service, and the staff it acts for."""
    if caller.actor is None:
        return caller.service
    return f"{caller.service}/{caller.actor.staff_id}"


@router.post(
    "/income",
    status_code=status.HTTP_201_CREATED,
    summary="Record income from a fund source (收入)",
    responses={
        200: {"description": "A replay of an earlier request with the same key and body", "model": EntryOut},
        **problem_responses(
            Unauthorized,
            IdempotencyConflict,
            InvalidInput,
            IdempotencyKeyRequired,
            UnknownSource,
            InvalidHolder,
            InvalidIncomeTarget,
        ),
    },
)
async def post_income(
    body: IncomeCommand, caller: InternalCaller, key: IdempotencyKey, db: DbSession, response: Response
) -> EntryOut:
    """Book money arriving from outside into a city, town or village account of its source."""
    recorded = await service.record_income(db, body, idempotency_key=key, actor=actor_of(caller))
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    return recorded.entry


@router.post(
    "/allocations",
    status_code=status.HTTP_201_CREATED,
    summary="Allocate funds one level down (下拨)",
    responses={
        200: {"description": "A replay of an earlier request with the same key and body", "model": EntryOut},
        **problem_responses(
            Unauthorized,
            InsufficientFunds,
            IdempotencyConflict,
            InvalidInput,
            IdempotencyKeyRequired,
            UnknownSource,
            InvalidHolder,
            InvalidAllocation,
        ),
    },
)
async def post_allocation(
    body: AllocationCommand, caller: InternalCaller, key: IdempotencyKey, db: DbSession, response: Response
) -> EntryOut:
    """Move money of one source from the city to a town, or from a town to one of its villages."""
    recorded = await service.allocate(db, body, idempotency_key=key, actor=actor_of(caller))
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    return recorded.entry


@router.get(
    "/balances",
    summary="A holder's balance per fund source",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_balances(
    caller: InternalCaller,
    db: DbSession,
    holder_type: Annotated[HolderType, Query()],
    holder_code: Annotated[str, Query(min_length=1, max_length=64)],
) -> HolderBalances:
    """Every fund source with the holder's balance in it."""
    return await service.balances(db, holder_type, holder_code)


@router.get(
    "/statement",
    summary="An account's postings, newest first",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder, UnknownSource),
)
async def get_statement(
    caller: InternalCaller,
    db: DbSession,
    holder_type: Annotated[HolderType, Query()],
    holder_code: Annotated[str, Query(min_length=1, max_length=64)],
    source_code: Annotated[SourceCode, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, description="`next_before` of the previous page")] = None,
) -> Statement:
    """One account's statement (账户明细), paged backwards by posting id."""
    return await service.account_statement(
        db, holder_type, holder_code, source_code, limit=limit, before=before
    )


@router.get(
    "/entries/{entry_id}",
    summary="One journal entry with its postings",
    responses=problem_responses(Unauthorized, NotFound),
)
async def get_entry(entry_id: UUID, caller: InternalCaller, db: DbSession) -> EntryOut:
    """A posted entry (记账凭证), as it was written: entries never change."""
    return await service.get_entry(db, entry_id)
