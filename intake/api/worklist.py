"""Staff work lists (DESIGN §10): `GET /internal/worklist`, its summary, and one appeal as a row
for the gateway's notifications. Thin: `intake.service.worklist` decides."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from intake.api.deps import StaffActor
from intake.service import worklist
from services.common.auth import InternalCaller
from services.common.cursor import InvalidCursor
from services.common.db import DbSession as Db
from services.common.errors import NotFound, problem_responses
from services.contracts.worklist import WorkItem, WorkList, WorkListQuery, WorkSummary

router = APIRouter(prefix="/internal/worklist", tags=["intake: work lists"])


@router.get(
    "",
    response_model=WorkList,
    responses=problem_responses(InvalidCursor),
    summary="The acting member of staff's work list, by next deadline",
)
async def work_list(query: Annotated[WorkListQuery, Query()], db: Db, staff: StaffActor) -> WorkList:
    return await worklist.work_list(db, staff, query)


@router.get("/summary", response_model=WorkSummary, summary="Counts per status in the viewer's scope")
async def work_summary(db: Db, staff: StaffActor) -> WorkSummary:
    return await worklist.summary(db, staff)


@router.get(
    "/appeals/{appeal_id}",
    response_model=WorkItem,
    responses=problem_responses(NotFound),
    summary="One appeal as a work-list row (no personal data), for another service",
)
async def work_item(appeal_id: uuid.UUID, db: Db, caller: InternalCaller) -> WorkItem:
    return await worklist.brief(db, appeal_id)
