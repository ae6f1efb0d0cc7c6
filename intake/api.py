"""Intake's internal REST API (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from intake import service
from intake.access import can_act, can_see
from intake.models import Reporter
from intake.schemas import ReporterView, StaffAppealView, TransitionRequest
from services.common.auth import InternalCaller, Principal
from services.common.db import DbSession as Db
from services.common.errors import (
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.contracts.appeals import AppealAccepted, AppealDraft, PublicAppeal

router = APIRouter(prefix="/internal", tags=["intake"])


def _actor(caller: InternalCaller) -> Principal:
    if caller.actor is None:
        raise Unauthorized()
    return caller.actor


@router.post(
    "/appeals",
    response_model=AppealAccepted,
    status_code=201,
    responses=problem_responses(IdempotencyConflict),
    summary="Record an appeal from any channel, once per (channel, channel_ref)",
)
async def create_appeal(
    draft: AppealDraft, db: Db, caller: InternalCaller, response: Response
) -> AppealAccepted:
    accepted, created = await service.create_appeal(db, draft)
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
) -> PublicAppeal:
    return await service.public_status(db, ticket_no, code)


@router.get(
    "/appeals/{appeal_id}", response_model=StaffAppealView, responses=problem_responses(NotFound, Forbidden)
)
async def staff_view(appeal_id: uuid.UUID, db: Db, caller: InternalCaller) -> StaffAppealView:
    principal = _actor(caller)
    appeal = await service.get_appeal(db, appeal_id)
    if not can_see(principal, appeal):
        raise NotFound()  # never confirm that an appeal outside one's scope exists
    people = (await db.scalars(select(Reporter).where(Reporter.appeal_id == appeal.id))).all()
    return StaffAppealView(
        id=appeal.id,
        ticket_no=appeal.ticket_no,
        channel=appeal.channel,
        status=appeal.status,
        kind=appeal.kind,
        category=appeal.category,
        track=appeal.track,
        urgency=appeal.urgency,
        town_code=appeal.town_code,
        village_code=appeal.village_code,
        holder_type=appeal.holder_type,
        holder_code=appeal.holder_code,
        title=appeal.title,
        description=appeal.description,
        address=appeal.address,
        received_at=appeal.received_at,
        reporters=[
            ReporterView(
                relation=p.relation,
                name=None if (p.anonymous or p.confidential) else p.name,
                phone=p.phone_masked,
                id_number=p.id_number_masked,
                anonymous=p.anonymous,
                confidential=p.confidential,
                role=p.role,
            )
            for p in people
        ],
    )


@router.post(
    "/appeals/{appeal_id}/transitions",
    responses=problem_responses(NotFound, Forbidden, IllegalTransition),
    summary="A staff command moving the appeal along its lifecycle",
)
async def staff_transition(
    appeal_id: uuid.UUID, body: TransitionRequest, db: Db, caller: InternalCaller
) -> dict[str, str]:
    principal = _actor(caller)
    appeal = await service.get_appeal(db, appeal_id, lock=True)
    if not can_see(principal, appeal):
        raise NotFound()
    if not can_act(principal, appeal):
        raise Forbidden()
    await service.transition(db, appeal, body.to, actor=f"staff:{principal.username}", reason=body.reason)
    return {"status": appeal.status, "ticket_no": appeal.ticket_no}
