"""Community consultations: record a meeting, objections during the notice, approval."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from routing.api.deps import Actor, MaybeActor
from routing.config import RoutingSettings
from routing.errors import ConsultationClosed, UnknownUnit
from routing.schemas.consultations import ConsultationIn, ConsultationView, ObjectionIn
from routing.service import consultations as service
from routing.service import dispositions
from routing.service.triage import get_triage
from services.common.auth import InternalCaller
from services.common.db import DbSession as Db
from services.common.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.common.settings import get_settings
from services.contracts.notices import NOTICE_STATE_NAMES, ObjectionReceipt, ResidentObjectionCall

router = APIRouter(prefix="/internal/consultations", tags=["consultations"])


@router.post(
    "",
    response_model=ConsultationView,
    status_code=201,
    responses=problem_responses(
        Unauthorized, Forbidden, NotFound, InvalidInput, UnknownUnit, ConsultationClosed, Conflict
    ),
    summary="Record a meeting on a micro-project: quorum, votes on the five points, outcome",
)
async def record(body: ConsultationIn, db: Db, actor: Actor) -> ConsultationView:
    m = service.MeetingRecord(
        form=body.form,
        body=body.body,
        held_at=body.held_at,
        eligible_count=body.eligible_count,
        present_count=body.present_count,
        households_total=body.households_total,
        households_present=body.households_present,
        attendees=[a.model_dump() for a in body.attendees],
        necessity=body.necessity,
        feasibility=body.feasibility,
        budget_fen=body.budget_fen,
        beneficiaries=body.beneficiaries.model_dump(),
        implementer=body.implementer,
        votes=body.votes.model_dump(),
        track=body.track,
        holder_type=body.holder_type,
        holder_code=body.holder_code,
        notice_days=body.notice_days,
    )
    notice = body.notice_days or get_settings(RoutingSettings).notice_days
    return ConsultationView.model_validate(
        await service.record(db, actor, body.appeal_id, m, notice_days=notice)
    )


@router.get("/{consultation_id}", response_model=ConsultationView, responses=problem_responses(NotFound))
async def get(consultation_id: uuid.UUID, db: Db, actor: MaybeActor) -> ConsultationView:
    c = await service.get(db, consultation_id)
    await get_triage(db, c.appeal_id, actor)
    return ConsultationView.model_validate(c)


@router.get("", response_model=list[ConsultationView], responses=problem_responses(NotFound))
async def of_appeal(appeal_id: uuid.UUID, db: Db, actor: MaybeActor) -> list[ConsultationView]:
    await get_triage(db, appeal_id, actor)
    return [ConsultationView.model_validate(c) for c in await service.of_appeal(db, appeal_id)]


@router.post(
    "/{consultation_id}/objections",
    response_model=ConsultationView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, ConsultationClosed),
    summary="An objection during the public notice sends the item back to consultation",
)
async def object_to(consultation_id: uuid.UUID, body: ObjectionIn, db: Db, actor: Actor) -> ConsultationView:
    return ConsultationView.model_validate(await service.object_to(db, actor, consultation_id, body.summary))


@router.post(
    "/{consultation_id}/approval",
    response_model=ConsultationView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound, ConsultationClosed),
    summary="Approve the plan once the notice ended without objection (the worker also does it)",
)
async def approve(consultation_id: uuid.UUID, db: Db, actor: Actor) -> ConsultationView:
    c = await service.get(db, consultation_id, lock=True)
    if not service.may_act(actor, c):
        raise await dispositions.refusal(db, actor, c.appeal_id)  # 404 outside one's scope
    if not await service.finalise(db, c):
        raise ConsultationClosed(
            "公示期未满或该事项不在公示中。", state=c.state, notice_ends_at=str(c.notice_ends_at)
        )
    return ConsultationView.model_validate(c)


@router.post(
    "/{consultation_id}/resident-objections",
    response_model=ObjectionReceipt,
    status_code=201,
    responses=problem_responses(NotFound, ConsultationClosed, IdempotencyConflict, Conflict),
    summary="A resident's objection during the notice (the gateway vouches for who; idempotent)",
)
async def resident_objection(
    consultation_id: uuid.UUID,
    body: ResidentObjectionCall,
    db: Db,
    caller: InternalCaller,
    response: Response,
) -> ObjectionReceipt:
    objection, c, created = await service.object_by_resident(
        db,
        consultation_id,
        resident_ref=body.resident_ref,
        reason=body.reason,
        idempotency_key=body.idempotency_key,
    )
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    triage = await get_triage(db, c.appeal_id, None)
    return ObjectionReceipt(
        objection_id=objection.id,
        consultation_id=c.id,
        ticket_no=triage.ticket_no,
        state=c.state,
        state_name=NOTICE_STATE_NAMES[c.state],
        recorded_at=objection.recorded_at,
    )
