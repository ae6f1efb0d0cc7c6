"""Routing's internal REST API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from routing import service
from routing.models import TriageResult
from routing.schemas import AssignmentView, SendBack, TriageView
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import Conflict, Forbidden, NotFound, Unauthorized, problem_responses

router = APIRouter(prefix="/internal", tags=["routing"])


@router.get("/triage/{appeal_id}", response_model=TriageView, responses=problem_responses(NotFound))
async def get_triage(appeal_id: uuid.UUID, db: Db, caller: InternalCaller) -> TriageResult:
    found = await db.get(TriageResult, appeal_id)
    if found is None:
        raise NotFound()
    return found


@router.post(
    "/assignments/{appeal_id}/sign-off",
    response_model=AssignmentView,
    responses=problem_responses(NotFound, Forbidden, Conflict),
)
async def sign_off(appeal_id: uuid.UUID, db: Db, caller: InternalCaller) -> AssignmentView:
    if caller.actor is None:
        raise Unauthorized()
    return AssignmentView.model_validate(await service.sign_off(db, appeal_id, caller.actor))


@router.post(
    "/assignments/{appeal_id}/return",
    response_model=AssignmentView,
    responses=problem_responses(NotFound, Forbidden, Conflict),
)
async def send_back(appeal_id: uuid.UUID, body: SendBack, db: Db, caller: InternalCaller) -> AssignmentView:
    if caller.actor is None:
        raise Unauthorized()
    assignment = await service.send_back(db, appeal_id, caller.actor, body.reason_code, body.policy_basis)
    return AssignmentView.model_validate(assignment)
