"""POST /internal/appeals/{id}/additions: a reporter adds media, a location or a note to their own
open appeal (补充材料), once per (channel, channel_ref); a replay answers 200 with the first."""

from __future__ import annotations

from fastapi import APIRouter, Response

from intake.api.deps import LockedAppeal
from intake.errors import AppealFinished
from intake.service import additions
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import NotFound, problem_responses
from services.contracts.additions import AdditionAccepted, AppealAddition

router = APIRouter(prefix="/internal/appeals", tags=["intake: additions"])


@router.post(
    "/{appeal_id}/additions",
    status_code=201,
    response_model=AdditionAccepted,
    responses={
        200: {"description": "The same channel_ref again: the first answer", "model": AdditionAccepted},
        **problem_responses(NotFound, AppealFinished),
    },
    summary="A reporter's addition to their own open appeal (idempotent on channel + channel_ref)",
)
async def add(
    body: AppealAddition, appeal: LockedAppeal, db: Db, caller: InternalCaller, response: Response
) -> AdditionAccepted:
    accepted = await additions.add(db, appeal, body)
    if not accepted.created:
        response.status_code = 200
    return accepted
