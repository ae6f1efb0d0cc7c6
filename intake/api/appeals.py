"""Intake's internal REST API: recording appeals, the public status, the staff view.

The other concerns have their own route modules under `intake.api` (lifecycle, duplicates,
return visits, privacy, disclosure, statistics, archive, residents). Internal contract other
services call:
- `POST /internal/appeals` (and `/batch`): record a draft, once per (channel, channel_ref);
- `GET /internal/public/appeals/{ticket_no}?code=`: the public status (DESIGN §10), kept as a
  document with its `ETag`;
- `GET /internal/appeals/{id}/contacts`: the gateway's feedback contacts (every call audited);
- `GET /internal/residents/appeals?openid=|phone_hash=`: a resident's own appeals;
- `POST /internal/appeals/{id}/evaluation`: a return visit, once per round.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from intake.api.deps import CurrentAppeal, StaffActor
from intake.models import Appeal
from intake.schemas import StaffAppealView
from intake.service import confidentiality, public, records
from intake.service.access import can_see
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.db import autocommit
from services.common.errors import Forbidden, IdempotencyConflict, NotFound, problem_responses
from services.contracts.appeals import AppealAccepted, AppealDraft, PublicAppeal

router = APIRouter(prefix="/internal", tags=["intake"])


@router.post(
    "/appeals",
    response_model=AppealAccepted,
    status_code=201,
    responses=problem_responses(IdempotencyConflict),
    summary="Record an appeal from any channel, once per (channel, channel_ref)",
)
async def create_appeal(draft: AppealDraft, caller: InternalCaller, response: Response) -> AppealAccepted:
    # Its one recording statement is atomic by itself: in autocommit, not a unit of work (the
    # caller's answer waits on two round trips instead of five).
    async with autocommit() as conn:
        accepted, created = await records.create_appeal(conn, draft)
    if not created:
        response.status_code = 200
    return accepted


@router.get(
    "/public/appeals/{ticket_no}",
    response_model=PublicAppeal,
    responses=problem_responses(NotFound),
    summary="The public status of an appeal",
)
async def public_status(
    ticket_no: str, db: Db, caller: InternalCaller, code: Annotated[str, Query(max_length=32)]
) -> Response:
    # The kept document's bytes as they are, with their ETag: the gateway relays both.
    document = await public.public_document(db, ticket_no, code)
    return Response(content=document.body, media_type="application/json", headers={"ETag": document.etag})


async def _ticket(db: Db, appeal_id: uuid.UUID | None) -> str | None:
    if appeal_id is None:
        return None
    return await db.scalar(select(Appeal.ticket_no).where(Appeal.id == appeal_id))


@router.get(
    "/appeals/{appeal_id}",
    response_model=StaffAppealView,
    responses=problem_responses(NotFound, Forbidden),
    summary="The appeal as a member of staff in scope sees it (personal data masked or hidden)",
)
async def staff_view(appeal: CurrentAppeal, db: Db, staff: StaffActor) -> StaffAppealView:
    if not can_see(staff, appeal):
        raise NotFound()  # never confirm that an appeal outside one's scope exists
    people = await confidentiality.reporters_of(db, appeal)
    complained = (
        f"{appeal.complained_unit_type}:{appeal.complained_unit_code}"
        if appeal.complained_unit_type
        else None
    )
    words = confidentiality.words_for(staff, appeal, people)  # 保密 reaches the text too
    return StaffAppealView(
        id=appeal.id,
        ticket_no=appeal.ticket_no,
        channel=appeal.channel,
        status=appeal.status,
        held_from=appeal.held_from,
        kind=appeal.kind,
        category=appeal.category,
        track=appeal.track,
        secondary_track=appeal.secondary_track,
        urgency=appeal.urgency,
        town_code=appeal.town_code,
        village_code=appeal.village_code,
        holder_type=appeal.holder_type,
        holder_code=appeal.holder_code,
        title=words.title,
        description=words.description,
        address=words.address,
        received_at=appeal.received_at,
        round=appeal.round,
        returns_count=appeal.returns_count,
        duplicate_of=await _ticket(db, appeal.duplicate_of),
        repeat_of=await _ticket(db, appeal.repeat_of),
        withheld=appeal.withheld,
        withheld_reason=appeal.withheld_reason,
        complained_unit=complained,
        evaluation_due_at=appeal.evaluation_due_at,
        reporters=[confidentiality.view(staff, appeal, p) for p in people],
        quoted_numbers=await confidentiality.quoted_numbers_for(db, staff, appeal, people),
    )
