"""POST /internal/appeals/batch: several drafts recorded in one transaction, all or none.

Used for the minutes of a consultation meeting (协商会议), where one set of minutes files several
appeals: if any draft is refused, nothing of the batch is written.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from intake.schemas import BatchAccepted, DraftBatch
from intake.service import records
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import IdempotencyConflict, InvalidInput, problem_responses

router = APIRouter(prefix="/internal", tags=["intake"])


@router.post(
    "/appeals/batch",
    response_model=BatchAccepted,
    status_code=201,
    responses=problem_responses(IdempotencyConflict, InvalidInput),
    summary="Record several drafts atomically (a meeting's minutes); a replay answers as the first time",
)
async def create_batch(body: DraftBatch, db: Db, caller: InternalCaller, response: Response) -> BatchAccepted:
    answers = []
    created_any = False
    # One request, one transaction (DbSession): any error below rolls every draft back.
    for draft in body.drafts:
        accepted, created = await records.create_appeal(db, draft)
        answers.append(accepted)
        created_any = created_any or created
    if not created_any:
        response.status_code = 200
    return BatchAccepted(appeals=answers)
