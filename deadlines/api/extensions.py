"""Extensions (延期): the holding unit asks, the level above decides, each sees its own queue."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Response

from deadlines.api.common import DbSession, Page, PageSize, staff_of
from deadlines.errors import (
    ClockExpired,
    ClockNotActive,
    ClockNotFound,
    ExtensionDecided,
    ExtensionLimitReached,
    ExtensionNotFound,
    ExtensionPending,
    InvalidExtensionDays,
    NotApprover,
    NotHolder,
    StaffRequired,
)
from deadlines.schemas import DecisionIn, ExtensionIn, ExtensionOut, ExtensionPage
from deadlines.service import extensions, schedules
from services.common.auth import InternalCaller, internal_caller
from services.common.errors import IdempotencyConflict, InvalidInput, Unauthorized, problem_responses
from services.common.messaging import utcnow

router = APIRouter(
    prefix="/internal/deadlines",
    tags=["deadlines"],
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(Unauthorized),
)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]


@router.post(
    "/clocks/{clock_id}/extensions",
    status_code=201,
    summary="Ask for more time on a clock (延期申请, the holding unit)",
    responses=problem_responses(
        NotHolder,
        StaffRequired,
        ClockNotFound,
        ClockExpired,
        ClockNotActive,
        ExtensionLimitReached,
        ExtensionPending,
        IdempotencyConflict,
        InvalidExtensionDays,
        InvalidInput,
    ),
)
async def request_extension(
    clock_id: uuid.UUID,
    body: ExtensionIn,
    session: DbSession,
    caller: InternalCaller,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ExtensionOut:
    """Before the deadline only; the request waits for the level above."""
    calendar = await schedules.current_calendar(session)
    asked = await extensions.request_extension(
        session, calendar, clock_id, staff_of(caller), body, utcnow(), idempotency_key
    )
    if asked.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return ExtensionOut.model_validate(asked.value)


@router.post(
    "/extensions/{extension_id}/decision",
    summary="Approve or reject a request (延期审批, one level up)",
    responses=problem_responses(
        NotApprover,
        StaffRequired,
        ExtensionNotFound,
        ExtensionDecided,
        ClockExpired,
        ClockNotActive,
        ExtensionLimitReached,
        InvalidInput,
    ),
)
async def decide_extension(
    extension_id: uuid.UUID, body: DecisionIn, session: DbSession, caller: InternalCaller
) -> ExtensionOut:
    """An approval moves the deadline and tells the resident; the original deadline stays."""
    calendar = await schedules.current_calendar(session)
    extension, _ = await extensions.decide_extension(
        session, calendar, extension_id, staff_of(caller), body, utcnow()
    )
    return ExtensionOut.model_validate(extension)


@router.get(
    "/extensions",
    summary="Extension requests the caller decides or made",
    responses=problem_responses(InvalidInput),
)
async def list_extensions(
    session: DbSession,
    caller: InternalCaller,
    status: Literal["requested", "approved", "rejected"] | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> ExtensionPage:
    """Newest first. The city sees all; a town those it decides and its villages' and stations'."""
    rows, more = await extensions.list_extensions(session, caller.actor, status, page, page_size)
    return ExtensionPage(
        items=[ExtensionOut.model_validate(r) for r in rows], page=page, page_size=page_size, has_more=more
    )
